"""``/tvc``: a TV commercial in three steps (script → storyboard image → video) on the TVC profile."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine
from bot.providers.base import MAX_PROMPT_CHARS, Kind, Orientation, parse_request
from cogs import model_options as opts
from cogs.launch import image_from_attachment, launch
from cogs.sora import ORIENTATIONS
from cogs.translator import L


class TvcCog(commands.Cog):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name=L("cmd.tvc.name"), description=L("cmd.tvc.description"))
    @app_commands.guild_only()
    @app_commands.rename(
        theme=L("opt.theme.name"),
        reference_image=L("opt.reference_image.name"),
        voiceover=L("opt.voiceover.name"),
        duration=L("opt.duration.name"),
        orientation=L("opt.orientation.name"),
    )
    @app_commands.describe(
        theme=L("cmd.tvc.opt.theme"),
        reference_image=L("cmd.tvc.opt.reference_image"),
        voiceover=L("cmd.tvc.opt.voiceover"),
        duration=L("cmd.sora.opt.duration"),
        orientation=L("cmd.sora.opt.orientation"),
    )
    @app_commands.choices(orientation=ORIENTATIONS)
    async def tvc(
        self,
        interaction: discord.Interaction,
        theme: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        reference_image: discord.Attachment | None = None,
        voiceover: app_commands.Range[str, 1, MAX_PROMPT_CHARS] | None = None,
        duration: int | None = None,
        orientation: str = Orientation.PORTRAIT.value,
    ) -> None:
        assert interaction.guild_id is not None
        pending = image_from_attachment(reference_image) if reference_image is not None else None
        where = await self.engine.admission.pick(Kind.TVC, interaction.guild_id)
        request = parse_request(
            {
                "kind": Kind.TVC,
                "ad_theme": theme,
                "reference_image_url": pending.url if pending is not None else None,
                "voiceover": (voiceover.strip() or None) if voiceover else None,
                "model": where.model,
                "duration": duration if duration is not None else opts.default_duration(where, Kind.TVC),
                "orientation": orientation,
            }
        )
        await launch(
            self.engine, interaction, request, profile=where.profile, images=[pending] if pending else []
        )

    @tvc.autocomplete("duration")
    async def _durations(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await opts.duration_choices(self.engine, interaction, current, kind=Kind.TVC)
