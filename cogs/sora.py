"""``/sora``: text-to-video, or image-to-video with an attached picture. Parses, checks, launches."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine
from bot.errors import UserError
from bot.providers.base import MAX_PROMPT_CHARS, Kind, Orientation, parse_request
from cogs.launch import image_from_attachment, launch
from cogs.translator import L

DURATIONS: list[app_commands.Choice[int]] = [
    app_commands.Choice(name=L("choice.seconds", seconds=s), value=s) for s in (10, 15)
]
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
        tier=L("opt.tier.name"),
        high_quality=L("opt.high_quality.name"),
        watermark=L("opt.watermark.name"),
        private=L("opt.private.name"),
    )
    @app_commands.describe(
        prompt=L("cmd.sora.opt.prompt"),
        image=L("cmd.sora.opt.image"),
        duration=L("cmd.sora.opt.duration"),
        orientation=L("cmd.sora.opt.orientation"),
        tier=L("cmd.sora.opt.tier"),
        high_quality=L("cmd.sora.opt.high_quality"),
        watermark=L("cmd.sora.opt.watermark"),
        private=L("cmd.sora.opt.private"),
    )
    @app_commands.choices(duration=DURATIONS)
    @app_commands.choices(orientation=ORIENTATIONS)
    async def sora(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        image: discord.Attachment | None = None,
        duration: int = 10,
        orientation: str = Orientation.PORTRAIT.value,
        tier: str | None = None,
        high_quality: bool | None = None,
        watermark: bool | None = None,
        private: bool | None = None,
    ) -> None:
        pending = image_from_attachment(image) if image is not None else None
        kind = Kind.IMAGE if pending is not None else Kind.TEXT
        fields: dict[str, object] = {
            "kind": kind,
            "prompt": prompt,
            "duration": duration,
            "orientation": orientation,
            "model": tier,
            "options": {"high_quality": high_quality, "watermark": watermark, "private": private},
        }
        if pending is not None:
            fields["image_url"] = pending.url
        request = parse_request(fields)
        await launch(self.engine, interaction, request, image=pending)

    @sora.autocomplete("tier")
    async def _tiers(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """The models of the profile this server's request would go to (``Catalog.resolve``)."""
        if interaction.guild_id is None:
            return []
        kind = Kind.IMAGE if interaction.namespace.image is not None else Kind.TEXT
        try:
            where = await self.engine.admission.where(kind, interaction.guild_id)
        except UserError:
            return []  # no profile makes this kind: the command itself says so in words
        models = where.provider.capabilities.models
        return [app_commands.Choice(name=m, value=m) for m in models if current.lower() in m.lower()][:25]
