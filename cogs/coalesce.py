"""One Discord message edit per job per interval, however many events the job has meanwhile.

A job can change several times a second (a step, a stage, a percentage); Discord rate-limits message
edits, and a member reads the newest state only. So each job gets a worker while it has events: it
shows the newest event once the interval since the last edit has passed, and the events it replaced
are never shown. A terminal event never waits (the result must not lag), and it ends the job's
bookkeeping (``ended``). The card that follows a job and the card ``/jobs show`` keeps live both
coalesce this way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.engine.events import JobEvent

log = logging.getLogger(__name__)


class Coalescer:
    def __init__(
        self,
        interval: float,
        show: Callable[[JobEvent], Awaitable[None]],
        *,
        ended: Callable[[int], None] = lambda _job_id: None,
        name: str,
    ) -> None:
        self._interval = interval
        self._show = show
        self._ended = ended
        self._name = name  # the workers' task names, and what the log says could not be updated
        self._latest: dict[int, JobEvent] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._last_edit: dict[int, float] = {}

    def offer(self, event: JobEvent) -> None:
        """Show ``event`` when its job's interval allows, unless a newer one comes first."""
        job_id = event.job.id
        self._latest[job_id] = event
        if job_id not in self._workers:
            task = asyncio.create_task(self._flush(job_id), name=f"{self._name}-{job_id}")
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
        while job_id in self._latest:
            event = self._latest[job_id]
            wait = self._last_edit.get(job_id, 0.0) + self._interval - time.monotonic()
            if wait > 0 and not event.terminal:
                await asyncio.sleep(wait)
                continue
            del self._latest[job_id]
            try:
                await self._show(event)
            except Exception:
                log.exception("job %s: could not update its message (%s)", job_id, self._name)
            self._last_edit[job_id] = time.monotonic()
            if event.terminal:
                self._last_edit.pop(job_id, None)
                self._ended(job_id)
