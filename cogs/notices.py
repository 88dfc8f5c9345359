"""Notices to a server's managers when a provider stops serving a model its members used.

An observer of the engine's job events: a job that ended because the vendor no longer serves its
model (``error_code`` ``MODEL_UNAVAILABLE``) makes one message, once per server, model and day, in
the server's admin channel (``/settings admin-channel``) or else its system channel. The member who
ran the job has already been told on their card; this tells the people who can change the settings.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.fallback import MODEL_GONE
from bot.i18n import t
from storage import guilds
from storage.states import JobState

log = logging.getLogger(__name__)
NONE = discord.AllowedMentions.none()


class ModelNotices:
    def __init__(self, client: discord.Client, engine: Engine) -> None:
        self._client = client
        self._engine = engine
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        if job.state is not JobState.FAILED or job.error_code != MODEL_GONE.code:
            return
        task = asyncio.create_task(
            self._notify(job.guild_id, job.profile, job.model, job.model_label, job.id)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _notify(self, guild_id: int, profile: str, model: str, label: str, job_id: int) -> None:
        if not await self._engine.availability.claim_notice(guild_id, profile, model):
            return
        settings = await guilds.get(self._engine.db, guild_id)
        channel = self._channel(guild_id, settings.admin_channel_id)
        if channel is None:
            log.warning(
                "guild %s: no admin or system channel to tell that %s/%s is gone", guild_id, profile, model
            )
            return
        text = t("notice.model_gone", None, model=label, profile=profile, id=job_id)
        try:
            await channel.send(text, allowed_mentions=NONE)
        except discord.HTTPException as exc:
            log.warning("guild %s: could not post the model notice (%s)", guild_id, exc)

    def _channel(self, guild_id: int, channel_id: int | None) -> discord.abc.Messageable | None:
        if channel_id is not None:
            found = self._client.get_channel(channel_id)
            if isinstance(found, discord.abc.Messageable):
                return found
            return self._client.get_partial_messageable(channel_id, guild_id=guild_id)
        guild = self._client.get_guild(guild_id)
        return guild.system_channel if guild is not None else None
