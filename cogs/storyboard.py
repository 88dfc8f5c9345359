"""``/storyboard``: a video told shot by shot, on any multi-shot model. The command opens a modal.

Everything that can be checked before the member types (channel permissions, a model that makes
storyboards, the price and their credits) is checked before the modal opens; the form states the
chosen model's rules (its shot count, and either each shot's fixed length or the total to reach).
The shots are parsed by ``bot.engine.shots`` on submit, and a bad line is refused by its number
before anything is charged. A refused form keeps what was typed: the refusal carries a "Fix and
resend" button that reopens the form filled in as it was (``FixAndResend``), and the form's example
is one that would pass for the chosen model and length (``shots.example``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.catalog import Resolved
from bot.engine.engine import Engine
from bot.engine.shots import EXAMPLE, PLACEHOLDER_LIMIT, example, parse_shots
from bot.i18n import t
from bot.providers.base import MAX_PROMPT_CHARS, AnyRequest, Kind, Orientation, Shot, parse_request
from bot.providers.capabilities import ShotRules
from cogs import confirm
from cogs import model_options as opts
from cogs.errors import respond_error
from cogs.launch import launch, require_allowed
from cogs.sora import ORIENTATIONS
from cogs.translator import L

MODAL_TEXT_LIMIT = 45  # Discord's limit for a modal's title and a text input's label
TEXT_INPUT_LIMIT = 4000  # Discord's limit for a text input's value (and so for its default)
# How long a refused form's text is kept for "Fix and resend": in memory, in the view, so a restart
# forgets it. Under the 15 minutes the submit's token lives, so the button can still be taken off
# the refusal when the text is let go, rather than left to fail when pressed.
FIX_TIMEOUT = 14 * 60.0


@dataclass(frozen=True)
class Typed:
    """What the member wrote in the form, to put back in it."""

    prompt: str = ""
    shots: str = ""


class StoryboardModal(discord.ui.Modal):
    """The shots, one a line, plus an optional overall prompt; labelled with the model's rules."""

    def __init__(
        self,
        engine: Engine,
        where: Resolved,
        rules: ShotRules,
        fields: dict[str, Any],
        locale: object = None,
        typed: Typed = Typed(),
        *,
        agreed: int = 0,
        once_key: str | None = None,
    ) -> None:
        label = where.provider.capabilities.spec(where.model).label
        fixed = rules.seconds_per_shot
        title = (
            t("storyboard.modal.title_fixed", locale, model=label, seconds=fixed)
            if fixed
            else t("storyboard.modal.title", locale, model=label, seconds=fields["duration"])
        )
        super().__init__(title=title[:MODAL_TEXT_LIMIT], timeout=15 * 60, custom_id="storyboard")
        self.engine = engine
        self.where = where
        self.profile = where.profile
        self.rules = rules
        self.fields = fields
        self.agreed, self.once_key = agreed, once_key  # the price confirmed before it opened (cogs.confirm)
        shots_label = (
            t("storyboard.modal.shots_label_fixed", locale, seconds=fixed, max=rules.max_shots)
            if fixed
            else t("storyboard.modal.shots_label", locale, max=rules.max_shots)
        )
        self.prompt: discord.ui.TextInput[StoryboardModal] = discord.ui.TextInput(
            custom_id="storyboard:prompt",
            label=t("storyboard.modal.prompt_label", locale)[:MODAL_TEXT_LIMIT],
            placeholder=t("storyboard.modal.prompt_placeholder", locale),
            default=typed.prompt[:MAX_PROMPT_CHARS] or None,
            required=False,
            max_length=MAX_PROMPT_CHARS,
        )
        self.shots: discord.ui.TextInput[StoryboardModal] = discord.ui.TextInput(
            custom_id="storyboard:shots",
            label=shots_label[:MODAL_TEXT_LIMIT],
            style=discord.TextStyle.paragraph,
            placeholder=example(fields["duration"], fixed, rules.max_shots, locale)[:PLACEHOLDER_LIMIT],
            default=typed.shots[:TEXT_INPUT_LIMIT] or None,
            required=True,
            max_length=TEXT_INPUT_LIMIT,
        )
        self.add_item(self.prompt)
        self.add_item(self.shots)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        fix = FixAndResend(self, Typed(self.prompt.value, self.shots.value), interaction)
        try:
            await launch(
                self.engine,
                interaction,
                self.request(),
                profile=self.profile,
                refusal_view=fix,
                agreed=self.agreed,
                once_key=self.once_key,
            )
        except Exception as exc:  # refused before the deferral: the same answer, the same button
            await respond_error(interaction, exc, view=fix)

    def request(self) -> AnyRequest:
        """The storyboard the form describes; ``ShotError`` naming the line when it cannot be one."""
        fixed = self.rules.seconds_per_shot
        shots = parse_shots(
            self.shots.value, self.fields["duration"], seconds_per_shot=fixed, max_shots=self.rules.max_shots
        )
        duration = fixed * len(shots) if fixed else self.fields["duration"]
        return parse_request(
            {
                **self.fields,
                "shots": [s.model_dump() for s in shots],
                "prompt": self.prompt.value.strip(),
                "duration": duration,
            }
        )

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await respond_error(interaction, error)


class FixAndResend(discord.ui.View):
    """The button on a refused form's answer: the same form again, filled in as the member left it.

    Only the member who typed it may press it (the answer is ephemeral, but the check costs nothing).
    The text lives in this view for ``FIX_TIMEOUT``; each press opens a fresh form, so closing one by
    mistake loses nothing either."""

    def __init__(self, form: StoryboardModal, typed: Typed, refused: discord.Interaction) -> None:
        super().__init__(timeout=FIX_TIMEOUT)
        self.form, self.typed, self.refused = form, typed, refused
        self.reopen.label = t("storyboard.fix.button", refused.locale)

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.user.id == self.refused.user.id:
            return True
        await interaction.response.send_message(
            t("storyboard.fix.not_yours", interaction.locale), ephemeral=True
        )
        return False

    @discord.ui.button(label="Fix and resend", emoji="✏️", style=discord.ButtonStyle.primary)
    async def reopen(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        form = self.form
        modal = StoryboardModal(
            form.engine,
            form.where,
            form.rules,
            form.fields,
            interaction.locale,
            typed=self.typed,
            agreed=form.agreed,
            once_key=form.once_key,
        )
        await interaction.response.send_modal(modal)

    async def on_timeout(self) -> None:
        with contextlib.suppress(discord.HTTPException):  # best effort: the refusal may be a followup
            await self.refused.edit_original_response(view=None)


class StoryboardCog(commands.Cog):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name=L("cmd.storyboard.name"), description=L("cmd.storyboard.description"))
    @app_commands.guild_only()
    @app_commands.rename(
        model=L("opt.model.name"),
        duration=L("opt.duration.name"),
        orientation=L("opt.orientation.name"),
        resolution=L("opt.resolution.name"),
    )
    @app_commands.describe(
        model=L("cmd.storyboard.opt.model"),
        duration=L("cmd.storyboard.opt.duration"),
        orientation=L("cmd.sora.opt.orientation"),
        resolution=L("cmd.storyboard.opt.resolution"),
    )
    @app_commands.choices(orientation=ORIENTATIONS)
    async def storyboard(
        self,
        interaction: discord.Interaction,
        model: str | None = None,
        duration: int | None = None,
        orientation: str = Orientation.PORTRAIT.value,
        resolution: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        await require_allowed(self.engine, interaction)
        where = await self.engine.admission.pick(Kind.STORYBOARD, interaction.guild_id, model)
        rules = where.provider.capabilities.spec(where.model).shots
        assert rules is not None  # the model makes storyboards (``pick`` chose it for that kind)
        fields = opts.request_fields(
            where,
            Kind.STORYBOARD,
            prompt="",
            duration=None if rules.seconds_per_shot else duration,
            aspect=orientation,
            resolution=resolution,
            options={},
        )
        # Price and credits now, with a one-shot stand-in, so nobody writes shots they cannot afford.
        shot_seconds = float(rules.seconds_per_shot or fields["duration"])
        probe = parse_request({**fields, "shots": [Shot(scene=EXAMPLE, duration=shot_seconds).model_dump()]})
        quote = await self.engine.admission.quote(probe, interaction.guild_id, where.profile)
        await self.engine.admission.precheck(interaction.guild_id, interaction.user.id, quote)

        async def open_form(answer: discord.Interaction, agreed: int, once_key: str | None) -> None:
            modal = StoryboardModal(
                self.engine, where, rules, fields, answer.locale, agreed=agreed, once_key=once_key
            )
            await answer.response.send_modal(modal)

        # Over the server's threshold, the price is confirmed before anything is typed.
        await confirm.form_first(self.engine, interaction, quote, open_form)

    @storyboard.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await opts.model_choices(self.engine, interaction, current, kind=Kind.STORYBOARD)

    @storyboard.autocomplete("duration")
    async def _durations(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await opts.duration_choices(self.engine, interaction, current, kind=Kind.STORYBOARD)

    @storyboard.autocomplete("resolution")
    async def _resolutions(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await opts.resolution_choices(self.engine, interaction, current, kind=Kind.STORYBOARD)
