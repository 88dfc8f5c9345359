"""``/sora``: ``/video``'s path limited to Sora-family models, with the Sora switches.

Text-to-video, or image-to-video with an attached picture. The durations and models offered come
from the chosen model's capabilities (autocomplete), never from a fixed list.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine
from bot.providers.base import MAX_PROMPT_CHARS, Kind, Orientation, parse_request
from cogs import model_options as opts
from cogs.launch import image_from_attachment, launch
from cogs.translator import L

FAMILY = "sora"
ORIENTATIONS: list[app_commands.Choice[str]] = [
    app_commands.Choice(name=L(f"choice.orientation.{o.value}"), value=o.value) for o in Orientation
]


class SoraCog(commands.Cog):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name=L("cmd.sora.name"), description=L("cmd.sora.description"))
    @app_commands.guild_only()
    @app_commands.rename(
        prompt=L("opt.prompt.name"),
        image=L("opt.image.name"),
        duration=L("opt.duration.name"),
        orientation=L("opt.orientation.name"),
        model=L("opt.model.name"),
        high_quality=L("opt.high_quality.name"),
        watermark=L("opt.watermark.name"),
        private=L("opt.private.name"),
    )
    @app_commands.describe(
        prompt=L("cmd.sora.opt.prompt"),
        image=L("cmd.sora.opt.image"),
        duration=L("cmd.sora.opt.duration"),
        orientation=L("cmd.sora.opt.orientation"),
        model=L("cmd.sora.opt.model"),
        high_quality=L("cmd.sora.opt.high_quality"),
        watermark=L("cmd.sora.opt.watermark"),
        private=L("cmd.sora.opt.private"),
    )
    @app_commands.choices(orientation=ORIENTATIONS)
    async def sora(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        image: discord.Attachment | None = None,
        duration: int | None = None,
        orientation: str = Orientation.PORTRAIT.value,
        model: str | None = None,
        high_quality: bool | None = None,
        watermark: bool | None = None,
        private: bool | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        pending = image_from_attachment(image) if image is not None else None
        kind = Kind.IMAGE if pending is not None else Kind.TEXT
        where = await self.engine.admission.pick(kind, interaction.guild_id, model, family=FAMILY)
        fields = opts.request_fields(
            where,
            kind,
            prompt=prompt,
            duration=duration,
            aspect=orientation,
            resolution=None,
            options={"high_quality": high_quality, "watermark": watermark, "private": private},
        )
        if pending is not None:
            fields["image_url"] = pending.url
        request = parse_request(fields)
        await launch(
            self.engine, interaction, request, profile=where.profile, images=[pending] if pending else []
        )

    @sora.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The Sora-family models this server's request could go to."""
        return await opts.model_choices(self.engine, interaction, current, family=FAMILY)

    @sora.autocomplete("duration")
    async def _durations(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await opts.duration_choices(self.engine, interaction, current, family=FAMILY)
