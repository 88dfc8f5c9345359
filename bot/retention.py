"""The retention of the videos kept beside the database: swept once an hour, kept while needed.

Every delivered video leaves files in ``videos/`` (``bot.videos``): the vendor's copy, a fitted copy,
a poster. They are what lets a result or a gallery post that is retried after a restart upload the
same bytes, but nothing needs them for long, and a busy server makes gigabytes a week. So a file last
written more than ``VIDEO_RETENTION_DAYS`` ago is deleted — unless its job still has a message to
post (a result not yet out, a gallery post pending), whatever its age. ``doctor`` reports the size.

The same sweep drops the saved bytes a shared database keeps for other processes
(``storage.video_bytes``) as soon as their job's result is out and no gallery post waits — not at
``mark_sent``, so a gallery post that follows the result, from any process, still finds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot import videos
from bot.videos import Usage
from storage import jobs, posts, video_bytes
from storage.db import Database

log = logging.getLogger(__name__)

SWEEP_EVERY = 3600.0  # seconds between sweeps (the first runs at start)
DAY = 86400.0


class Retention:
    def __init__(
        self,
        db: Database,
        *,
        days: float,
        every: float = SWEEP_EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.days = days
        self._every = every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> Usage:
        """Delete what is older than the retention and not waiting to be posted; returns what went."""
        keep = {*await jobs.undelivered(self._db), *await posts.unsent_jobs(self._db)}
        folder = await videos.folder(self._db)
        before = self._clock() - self.days * DAY
        gone = await asyncio.to_thread(videos.sweep, folder, before=before, keep=keep)
        dropped = await video_bytes.sweep(self._db, before=before)
        if dropped:
            log.info("dropped the saved bytes of %d delivered video(s) from the database", dropped)
        if gone.files:
            log.info("deleted %d old video file(s), %.1f MB, from %s", gone.files, gone.bytes / 1e6, folder)
        return gone

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="video-retention")

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:  # a full disk, a database hiccup: try again at the next sweep
                log.exception("the video sweep failed")
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
