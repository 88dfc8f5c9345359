"""``/storyboard``: a video told shot by shot. The command opens a modal; the shots come back as text.

Everything that can be checked before the member types (channel permissions, a profile that makes
storyboards, the price and their credits) is checked before the modal opens; the shots are parsed
by ``bot.engine.shots`` on submit, and a bad line is refused by its number before anything is charged.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine
from bot.engine.shots import EXAMPLE, MAX_SHOTS, parse_shots
from bot.i18n import t
from bot.providers.base import MAX_PROMPT_CHARS, Kind, Orientation, Shot, StoryboardRequest, parse_request
from cogs.errors import respond_error
from cogs.launch import launch, require_allowed
from cogs.sora import ORIENTATIONS
from cogs.translator import L

STORYBOARD_DURATIONS: list[app_commands.Choice[int]] = [
    app_commands.Choice(name=L("choice.seconds", seconds=s), value=s) for s in (10, 15, 25)
]


class StoryboardModal(discord.ui.Modal):
    """Up to 15 shots, one a line (``seconds | what happens``), plus an optional overall prompt."""

    def __init__(
        self, engine: Engine, profile: str, duration: int, orientation: str, locale: object = None
    ) -> None:
        super().__init__(
            title=t("storyboard.modal.title", locale, seconds=duration),
            timeout=15 * 60,
            custom_id="storyboard",
        )
        self.engine = engine
        self.profile = profile
        self.duration = duration
        self.orientation = orientation
        self.prompt: discord.ui.TextInput[StoryboardModal] = discord.ui.TextInput(
            custom_id="storyboard:prompt",
            label=t("storyboard.modal.prompt_label", locale),
            placeholder=t("storyboard.modal.prompt_placeholder", locale),
            required=False,
            max_length=MAX_PROMPT_CHARS,
        )
        self.shots: discord.ui.TextInput[StoryboardModal] = discord.ui.TextInput(
            custom_id="storyboard:shots",
            label=t("storyboard.modal.shots_label", locale, max=MAX_SHOTS),
            style=discord.TextStyle.paragraph,
            placeholder=t("storyboard.modal.shots_placeholder", locale),
            required=True,
            max_length=4000,
        )
        self.add_item(self.prompt)
        self.add_item(self.shots)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        shots = parse_shots(self.shots.value, self.duration)
        request = parse_request(
            {
                "kind": Kind.STORYBOARD,
                "shots": [s.model_dump() for s in shots],
                "prompt": self.prompt.value.strip(),
                "duration": self.duration,
                "orientation": self.orientation,
            }
        )
        await launch(self.engine, interaction, request, profile=self.profile)

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await respond_error(interaction, error)


class StoryboardCog(commands.Cog):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name=L("cmd.storyboard.name"), description=L("cmd.storyboard.description"))
    @app_commands.guild_only()
    @app_commands.rename(duration=L("opt.duration.name"), orientation=L("opt.orientation.name"))
    @app_commands.describe(
        duration=L("cmd.storyboard.opt.duration"),
        orientation=L("cmd.sora.opt.orientation"),
    )
    @app_commands.choices(duration=STORYBOARD_DURATIONS)
    @app_commands.choices(orientation=ORIENTATIONS)
    async def storyboard(
        self,
        interaction: discord.Interaction,
        duration: int = 15,
        orientation: str = Orientation.PORTRAIT.value,
    ) -> None:
        assert interaction.guild_id is not None
        await require_allowed(self.engine, interaction)
        # Price and credits now, with a one-shot stand-in, so nobody writes shots they cannot afford.
        probe = StoryboardRequest(
            shots=(Shot(scene=EXAMPLE, duration=float(duration)),),
            duration=duration,
            orientation=Orientation(orientation),
        )
        quote = await self.engine.admission.quote(probe, interaction.guild_id)
        await self.engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)
        await interaction.response.send_modal(
            StoryboardModal(self.engine, quote.profile, duration, orientation, interaction.locale)
        )
