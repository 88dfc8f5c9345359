"""Cards that follow a job they do not own: ``/jobs show`` of a running job keeps moving.

The job's own card is ``cogs.delivery``'s. A card someone asked for later is one more view of the
same job: it is registered here with the interaction that posted it, and each event of its job
re-renders it in the asker's language — at most once every ``edit_interval`` seconds (the newest
event wins), the last one (the job ended) at once and with the result's buttons, then it is dropped.
The edit goes through the interaction's token while it lives (15 minutes), then as the bot's own
channel message; a card Discord says is gone is dropped.

Kept in memory and bounded (the newest few cards per job, a few hundred in all): after a restart
such a card stops following, which costs liveness only — its timestamps keep counting.

Where several processes share the database, the job may be driven by another process, whose events
never reach this one: such jobs are read back every ``edit_interval`` (one query for all of them)
and a row that changed is shown like an event (``_watch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import discord

from bot.engine import member_jobs
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.views import JobView
from cogs import buttons, render
from cogs.coalesce import Coalescer
from storage import jobs
from storage.faults import is_storage_fault

log = logging.getLogger(__name__)
PER_JOB = 3  # the newest cards of one job that follow it
IN_ALL = 300  # cards followed at once, all jobs together
TOKEN_LIFE = 15 * 60.0
TOKEN_MARGIN = 30.0
NO_MENTIONS = discord.AllowedMentions.none()


def card_view(engine: Engine, job: JobView, locale: object = None) -> discord.ui.View | None:
    """The buttons a card of ``job`` carries: Cancel/Details while it runs, the result's after."""
    if job.active:
        return buttons.progress_view(job, locale)
    return buttons.result_view(job, remix=member_jobs.can_remix(engine, job), locale=locale)


@dataclass(frozen=True)
class Follower:
    """One card: the message, and the interaction token that may edit it until ``expires_at``."""

    message_id: int
    channel_id: int
    application_id: int
    token: str
    expires_at: float
    locale: str | None


class Followers:
    """The engine's observer for cards that follow a job (``follow`` registers one)."""

    def __init__(
        self,
        client: discord.Client,
        engine: Engine,
        *,
        edit_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._engine = engine
        self.clock = clock  # the wall clock the token's life is counted on
        self._cards: dict[int, list[Follower]] = {}
        self._edits = Coalescer(edit_interval, self._show_all, ended=self._ended, name="follow")
        self._interval = edit_interval
        self._seen: dict[int, float] = {}  # job driven elsewhere -> the ``updated_at`` last shown
        self._watcher: asyncio.Task[None] | None = None

    def following(self, job_id: int) -> int:
        return len(self._cards.get(job_id, ()))

    def follow(self, job_id: int, card: Follower) -> None:
        """Keep ``card`` up to date with ``job_id`` until the job ends."""
        if sum(len(c) for c in self._cards.values()) >= IN_ALL and job_id not in self._cards:
            log.info("job %s: %d cards followed already; this one is not", job_id, IN_ALL)
            return
        cards = self._cards.setdefault(job_id, [])
        cards.append(card)
        del cards[:-PER_JOB]
        if self._engine.db.shared and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.create_task(self._watch(), name="follow-watch")

    async def on_job_event(self, event: JobEvent) -> None:
        if event.job.id in self._cards:
            self._edits.offer(event)

    async def wait_idle(self) -> None:
        await self._edits.wait_idle()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._edits.close()

    async def _watch(self) -> None:
        """Show the changes of followed jobs another process drives, read every interval; ends when
        nothing followed is left (``follow`` starts it again)."""
        while self._cards:
            await asyncio.sleep(self._interval)
            elsewhere = [job_id for job_id in self._cards if not self._engine.runner.driving(job_id)]
            try:
                rows = await jobs.get_many(self._engine.db, elsewhere) if elsewhere else {}
            except Exception as exc:
                if not is_storage_fault(exc):
                    raise
                log.warning("could not read the followed jobs (%s); trying again", type(exc).__name__)
                continue
            for job_id, row in rows.items():
                if self._seen.get(job_id) != row.updated_at and not self._engine.runner.driving(job_id):
                    self._seen[job_id] = row.updated_at
                    self._edits.offer(self._engine.events.describe(row, tell=False))

    async def _show_all(self, event: JobEvent) -> None:
        job_id = event.job.id
        for card in list(self._cards.get(job_id, ())):
            try:
                await self._show(card, event)
            except discord.NotFound:
                self._drop(job_id, card)
            except Exception:
                log.exception("job %s: could not update a card that follows it", job_id)

    def _ended(self, job_id: int) -> None:
        self._cards.pop(job_id, None)
        self._seen.pop(job_id, None)

    def _drop(self, job_id: int, card: Follower) -> None:
        cards = self._cards.get(job_id, [])
        if card in cards:
            cards.remove(card)
        if not cards:
            self._cards.pop(job_id, None)
            self._seen.pop(job_id, None)

    async def _show(self, card: Follower, event: JobEvent) -> None:
        job = event.job
        embed = render.job_embed(event, now=self._engine.clock.now(), locale=card.locale, video_link=True)
        view = card_view(self._engine, job, card.locale)
        if self.clock() < card.expires_at - TOKEN_MARGIN:
            hook = discord.Webhook.partial(card.application_id, card.token, client=self._client)
            try:
                await hook.edit_message(card.message_id, embed=embed, view=view, allowed_mentions=NO_MENTIONS)
                return
            except discord.HTTPException as exc:
                if exc.status not in (401, 404) and exc.code not in (10015, 50027):
                    raise  # a refused token or an unknown webhook: the bot's own token below
        message = self._client.get_partial_messageable(card.channel_id).get_partial_message(card.message_id)
        await message.edit(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
