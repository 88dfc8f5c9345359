"""One more event when a running job passes its estimate with nothing new from the vendor.

A card shows the estimate as a Discord timestamp (``<t:…:R>``), which counts by itself between edits:
"in 2 minutes", "in 1 minute"… and then "1 minute ago", which reads as if the video were ready. The
vendor may say nothing new for minutes at that point (a stage word that does not change), so no event
would come to correct it. This alarm gives each running job one wake-up at its ready time: the job is
read afresh and emitted again, and a card rendered from that event says it is taking longer than
usual. One task per running job (running jobs are bounded by the providers' slots, queued ones get
none); a new estimate moves it, the job ending or the engine stopping cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.engine.clock import Clock
from storage.jobs import JobRow
from storage.states import JobState

log = logging.getLogger(__name__)
SLACK = 1.0  # seconds after the ready time: the estimate read then is surely past


class OverdueAlarm:
    """``watch(job, ready_at)`` after each event; ``emit`` is called with the fresh row at ready time."""

    def __init__(
        self,
        clock: Clock,
        reload: Callable[[int], Awaitable[JobRow | None]],
        emit: Callable[[JobRow], Awaitable[None]],
    ) -> None:
        self._clock = clock
        self._reload = reload
        self._emit = emit
        self._alarms: dict[int, tuple[float, asyncio.Task[None]]] = {}

    def watch(self, job: JobRow, ready_at: float | None) -> None:
        """Wake at ``ready_at`` for a running job; forget the job once it runs no more."""
        if job.state is not JobState.RUNNING or ready_at is None:
            self.forget(job.id)
            return
        held = self._alarms.get(job.id)
        if held is not None and abs(held[0] - ready_at) < SLACK:
            return  # the same estimate: its alarm is already set
        if ready_at <= self._clock.now():
            self.forget(job.id)  # past already: this very event says so
            return
        self.forget(job.id)
        task = asyncio.get_running_loop().create_task(self._ring(job.id, ready_at), name=f"overdue-{job.id}")
        self._alarms[job.id] = (ready_at, task)

    def forget(self, job_id: int) -> None:
        held = self._alarms.pop(job_id, None)
        if held is not None and held[1] is not asyncio.current_task():
            held[1].cancel()

    async def stop(self) -> None:
        tasks = [task for _, task in self._alarms.values()]
        self._alarms.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _ring(self, job_id: int, ready_at: float) -> None:
        await self._clock.sleep(ready_at + SLACK - self._clock.now())
        held = self._alarms.get(job_id)
        if held is not None and held[1] is asyncio.current_task():
            del self._alarms[job_id]
        with contextlib.suppress(Exception):  # a database fault: the next poll's event says it anyway
            row = await self._reload(job_id)
            if row is not None and row.state is JobState.RUNNING:
                await self._emit(row)
                return
        log.debug("job %s: no overdue event (ended or unreadable)", job_id)
