"""Shows every job in Discord: one message per job, edited as the job moves, then the result.

The engine emits events; this listener keeps the newest one per job and edits the job's message
at most once every ``edit_interval`` seconds (terminal events go out at once). While the
interaction token lives the edit goes through it; afterwards through the bot token on the channel
message; if that message is gone, a new one is posted and remembered.
"""

from __future__ import annotations

import asyncio
import logging
import time

import discord

from bot import metrics
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from cogs import render
from storage.jobs import JobRow

log = logging.getLogger(__name__)
TOKEN_MARGIN = 30.0  # stop using an interaction token this long before it expires
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
INVALID_WEBHOOK_TOKEN = 50027


class Delivery:
    def __init__(self, client: discord.Client, engine: Engine, *, edit_interval: float) -> None:
        self._client = client
        self._engine = engine
        self._interval = edit_interval
        self._latest: dict[int, JobEvent] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._last_edit: dict[int, float] = {}

    async def on_job_event(self, event: JobEvent) -> None:
        job_id = event.job.id
        self._latest[job_id] = event
        if job_id not in self._workers:
            task = asyncio.create_task(self._flush(job_id), name=f"deliver-{job_id}")
            self._workers[job_id] = task
            task.add_done_callback(lambda _t: self._workers.pop(job_id, None))

    async def wait_idle(self) -> None:
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def _flush(self, job_id: int) -> None:
        """Show the newest event for ``job_id``, waiting out the edit interval; coalesces the rest."""
        while job_id in self._latest:
            event = self._latest[job_id]
            wait = self._last_edit.get(job_id, 0.0) + self._interval - time.monotonic()
            if wait > 0 and not event.terminal:
                await asyncio.sleep(wait)
                continue
            del self._latest[job_id]
            try:
                await self._show(event)
                metrics.discord_edit("ok")
            except Exception:
                metrics.discord_edit("failed")
                log.exception("job %s: could not update its message", job_id)
            self._last_edit[job_id] = time.monotonic()
            if event.terminal:
                self._last_edit.pop(job_id, None)

    async def _show(self, event: JobEvent) -> None:
        job = event.job
        embed = render.job_embed(event)
        await self._edit_or_repost(job, embed)
        if event.terminal and job.delivered_at is None:
            await self._post_result(job)
            await self._engine.mark_delivered(job.id)

    def _token_alive(self, job: JobRow) -> bool:
        return bool(
            job.interaction_token
            and job.application_id
            and job.interaction_expires_at
            and time.time() < job.interaction_expires_at - TOKEN_MARGIN
        )

    def _webhook(self, job: JobRow) -> discord.Webhook:
        assert job.application_id is not None and job.interaction_token is not None
        return discord.Webhook.partial(job.application_id, job.interaction_token, client=self._client)

    async def _edit_or_repost(self, job: JobRow, embed: discord.Embed) -> None:
        none = discord.AllowedMentions.none()
        if job.message_id is not None:
            if self._token_alive(job):
                try:
                    await self._webhook(job).edit_message(job.message_id, embed=embed, allowed_mentions=none)
                    return
                except discord.HTTPException as exc:
                    if exc.code not in (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK, UNKNOWN_MESSAGE):
                        raise
                    log.info("job %s: interaction edit refused (%s); using the bot token", job.id, exc.code)
            channel = self._client.get_partial_messageable(job.channel_id)
            try:
                await channel.get_partial_message(job.message_id).edit(embed=embed, allowed_mentions=none)
                return
            except discord.NotFound:
                log.info("job %s: its message is gone; posting a new one", job.id)
        channel = self._client.get_partial_messageable(job.channel_id)
        message = await channel.send(embed=embed, allowed_mentions=none)
        await self._engine.attach_message(job.id, message.id)

    async def _post_result(self, job: JobRow) -> None:
        mention = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(job.user_id)])
        content = render.result_content(job)
        if self._token_alive(job):
            try:
                await self._webhook(job).send(content, allowed_mentions=mention)
                return
            except discord.HTTPException as exc:
                if exc.code not in (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK):
                    raise
        await self._client.get_partial_messageable(job.channel_id).send(content, allowed_mentions=mention)
