"""A job's deadline counts the time the bot was up, so an outage never times a job out unpolled.

The job timeout is how long the bot keeps asking before it gives up; while the bot is down nobody
asks. ``resume`` (first thing at start) moves each running job's deadline back by the downtime — the
time since the last heartbeat — so after a 30-minute outage a job with 5 minutes left still has 5
minutes, and is polled at once. The heartbeat is written every ``BEAT`` seconds and once more at a
clean stop, so a crash credits at most one beat interval too much, never too little. A database
fault while beating is reported like any other (``DbHealth``) and the next beat tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.engine.clock import Clock
from bot.engine.db_retry import DbHealth
from storage import engine_state
from storage.db import Database
from storage.faults import is_storage_fault

log = logging.getLogger(__name__)

BEAT = 10.0  # seconds between two heartbeats


class Uptime:
    def __init__(self, db: Database, clock: Clock, health: DbHealth, *, every: float = BEAT) -> None:
        self._db = db
        self._clock = clock
        self._health = health
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def resume(self) -> float:
        """Credit the downtime since the last heartbeat to every running job; start beating.

        Returns the downtime credited (0 on a first start)."""
        down, moved = await self._health.retry(
            "crediting the downtime", lambda: engine_state.credit_downtime(self._db, self._clock.now())
        )
        if moved:
            log.info("the bot was down %.0fs: %d running job(s) get that time back", down, moved)
        if self._task is None:
            self._task = asyncio.create_task(self._beat(), name="engine-heartbeat")
        return down

    async def _beat(self) -> None:
        while True:
            await self._clock.sleep(self._every)
            try:
                await self.beat_once()
            except Exception:
                log.exception("heartbeat failed")

    async def beat_once(self) -> None:
        try:
            await engine_state.beat(self._db, self._clock.now())
        except Exception as exc:
            if not is_storage_fault(exc):
                raise
            self._health.failed(exc, "writing the heartbeat")
        else:
            self._health.worked()

    async def stop(self) -> None:
        """Stop beating; the last beat is now (best effort), so the next start credits just the downtime."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(Exception):
            await engine_state.beat(self._db, self._clock.now())
