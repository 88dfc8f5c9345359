"""``/video``: the model-neutral command. Text, a first (and last) frame, or reference pictures.

Every option that depends on the model — durations, aspect ratios, resolutions, audio, fixed lens —
is offered by autocomplete from the chosen model's capabilities and checked by the engine's quote
before anything is charged, so a new model needs no change here.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.engine.engine import Engine
from bot.providers.base import MAX_PROMPT_CHARS, Kind, parse_request
from cogs import model_options as opts
from cogs.launch import PendingImage, image_from_attachment, launch
from cogs.translator import L


class VideoCog(commands.Cog):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @app_commands.command(name=L("cmd.video.name"), description=L("cmd.video.description"))
    @app_commands.guild_only()
    @app_commands.rename(
        prompt=L("opt.prompt.name"),
        model=L("opt.model.name"),
        image=L("opt.image.name"),
        end_image=L("opt.end_image.name"),
        reference_1=L("opt.reference_1.name"),
        reference_2=L("opt.reference_2.name"),
        reference_3=L("opt.reference_3.name"),
        duration=L("opt.duration.name"),
        aspect=L("opt.aspect.name"),
        resolution=L("opt.resolution.name"),
        audio=L("opt.audio.name"),
        fixed_lens=L("opt.fixed_lens.name"),
    )
    @app_commands.describe(
        prompt=L("cmd.video.opt.prompt"),
        model=L("cmd.video.opt.model"),
        image=L("cmd.video.opt.image"),
        end_image=L("cmd.video.opt.end_image"),
        reference_1=L("cmd.video.opt.reference"),
        reference_2=L("cmd.video.opt.reference"),
        reference_3=L("cmd.video.opt.reference"),
        duration=L("cmd.video.opt.duration"),
        aspect=L("cmd.video.opt.aspect"),
        resolution=L("cmd.video.opt.resolution"),
        audio=L("cmd.video.opt.audio"),
        fixed_lens=L("cmd.video.opt.fixed_lens"),
    )
    async def video(
        self,
        interaction: discord.Interaction,
        prompt: app_commands.Range[str, 1, MAX_PROMPT_CHARS],
        model: str | None = None,
        image: discord.Attachment | None = None,
        end_image: discord.Attachment | None = None,
        reference_1: discord.Attachment | None = None,
        reference_2: discord.Attachment | None = None,
        reference_3: discord.Attachment | None = None,
        duration: int | None = None,
        aspect: str | None = None,
        resolution: str | None = None,
        audio: bool | None = None,
        fixed_lens: bool | None = None,
    ) -> None:
        assert interaction.guild_id is not None
        references = [r for r in (reference_1, reference_2, reference_3) if r is not None]
        kind = opts.kind_for(image, end_image, references)
        where = await self.engine.admission.pick(kind, interaction.guild_id, model)
        pending: list[PendingImage] = [
            image_from_attachment(a) for a in (image, end_image, *references) if a is not None
        ]
        fields = opts.request_fields(
            where,
            kind,
            prompt=prompt,
            duration=duration,
            aspect=aspect,
            resolution=resolution,
            options={"audio": audio, "fixed_lens": fixed_lens},
        )
        if kind is Kind.IMAGE:
            fields["image_url"] = pending[0].url
            fields["end_image_url"] = pending[1].url if len(pending) > 1 else None
        elif kind is Kind.REFERENCE:
            fields["image_urls"] = [p.url for p in pending]
        request = parse_request(fields)
        await launch(self.engine, interaction, request, profile=where.profile, images=pending)

    @video.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await opts.model_choices(self.engine, interaction, current)

    @video.autocomplete("duration")
    async def _durations(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await opts.duration_choices(self.engine, interaction, current)

    @video.autocomplete("aspect")
    async def _aspects(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await opts.aspect_choices(self.engine, interaction, current)

    @video.autocomplete("resolution")
    async def _resolutions(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await opts.resolution_choices(self.engine, interaction, current)
