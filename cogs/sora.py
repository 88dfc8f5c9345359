"""``/sora``: text-to-video. Parses options, asks the engine, defers, enqueues — nothing more."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine, JobOrigin
from bot.providers.base import MAX_PROMPT_CHARS, Kind, Orientation, parse_request

DURATIONS: list[app_commands.Choice[int]] = [
    app_commands.Choice(name=f"{s} seconds", value=s) for s in (10, 15)
]
ORIENTATIONS: list[app_commands.Choice[str]] = [
    app_commands.Choice(name=o.value.capitalize(), value=o.value) for o in Orientation
]


class SoraCog(commands.Cog):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name="sora", description="Generate a Sora 2 video from a text prompt.")
    @app_commands.guild_only()
    @app_commands.describe(
        prompt="What the video shows: subject, action, setting, camera, mood.",
        duration="Length of the video.",
        orientation="Portrait (9:16) or landscape (16:9).",
        tier="Model tier: higher tiers look better and cost more.",
    )
    @app_commands.choices(duration=DURATIONS)
    @app_commands.choices(orientation=ORIENTATIONS)
    async def sora(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        duration: int = 10,
        orientation: str = Orientation.PORTRAIT.value,
        tier: str | None = None,
    ) -> None:
        assert interaction.guild_id is not None and interaction.channel_id is not None
        request = parse_request(
            {
                "kind": Kind.TEXT,
                "prompt": prompt,
                "duration": duration,
                "orientation": orientation,
                "model": tier,
            }
        )
        quote = await self.engine.quote(request, interaction.guild_id)
        await self.engine.precheck(interaction.guild_id, interaction.user.id, quote)
        callback = await interaction.response.defer(thinking=True)
        origin = JobOrigin(
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            user_id=interaction.user.id,
            application_id=interaction.application_id,
            interaction_token=interaction.token,
            interaction_created_at=interaction.created_at.timestamp(),
            message_id=callback.message_id if callback is not None else None,
            locale=str(interaction.locale),
        )
        await self.engine.enqueue(origin, request)

    @sora.autocomplete("tier")
    async def _tiers(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        models = self.engine.provider().capabilities.models
        return [app_commands.Choice(name=m, value=m) for m in models if current.lower() in m.lower()][:25]
