"""What the engine tells the outside world: one event per change a person could see."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.engine.clock import Clock
from bot.engine.overdue import OverdueAlarm
from bot.engine.views import JobView, view_of
from storage.jobs import JobRow
from storage.states import JobState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    """A job as it is at ``at`` (the engine's clock), with its place in line and its estimate.

    ``at`` turns the relative estimate into a moment (``ready_at``) a card can show as a Discord
    timestamp, which then counts down by itself between edits."""

    job: JobView
    queue_position: int | None = None  # 1 = next to be submitted; None when not queued
    eta_seconds: float | None = None  # until the video should be ready, from history
    at: float | None = None  # when the event was built (None: a view made outside the engine)
    queue_length: int | None = None  # jobs in the job's line, itself included; None when not queued

    @property
    def terminal(self) -> bool:
        return not self.job.active

    @property
    def ready_at(self) -> float | None:
        """When the video should be ready (None without an estimate or a moment)."""
        if self.eta_seconds is None or self.at is None or not self.job.active:
            return None
        return self.at + self.eta_seconds

    @property
    def overdue(self) -> bool:
        """Running past the time jobs like it usually take (the estimate has run out)."""
        return self.job.state is JobState.RUNNING and self.eta_seconds is not None and self.eta_seconds <= 0

    @property
    def ahead(self) -> int:
        """How many jobs are in line before this one."""
        return max(0, (self.queue_position or 1) - 1)


class JobObserver(Protocol):
    """Receives events. Must return quickly: slow work (Discord edits) is scheduled, not awaited."""

    async def on_job_event(self, event: JobEvent) -> None: ...


class Events:
    """Builds each event (the view, its place in line, its estimate) and hands it to every observer.

    ``position`` and ``eta`` are asked of the dispatcher and the estimates when an event is built,
    so an event always shows the line as it is at that moment. ``peek`` is ``position`` without
    telling the line's announcements the job heard it (for a view a member asked for: the job's own
    card may not have seen that place yet). With a ``clock`` and ``reload`` a running job gets one
    more event when its estimate runs out (``overdue``).
    """

    def __init__(
        self,
        position: Callable[[int], int | None],
        eta: Callable[[JobRow, int | None], float | None],
        *,
        peek: Callable[[int], int | None] | None = None,
        line: Callable[[int], int | None] | None = None,
        clock: Clock | None = None,
        reload: Callable[[int], Awaitable[JobRow | None]] | None = None,
    ) -> None:
        self._position = position
        self._peek = peek or position
        self._eta = eta
        self._line = line
        self._clock = clock
        self._alarm = OverdueAlarm(clock, reload, self.emit) if clock and reload else None
        self._observers: list[JobObserver] = []

    def subscribe(self, observer: JobObserver) -> None:
        self._observers.append(observer)

    def unsubscribe(self, observer: JobObserver) -> None:
        self._observers.remove(observer)

    def describe(self, job: JobRow, *, tell: bool = True) -> JobEvent:
        position = (self._position if tell else self._peek)(job.id) if job.active else None
        return JobEvent(
            view_of(job),
            queue_position=position,
            eta_seconds=self._eta(job, position),
            at=self._clock.now() if self._clock is not None else None,
            queue_length=self._line(job.id) if self._line is not None and position is not None else None,
        )

    async def emit(self, job: JobRow) -> None:
        event = self.describe(job)
        if self._alarm is not None:
            self._alarm.watch(job, event.ready_at)
        for observer in self._observers:
            try:
                await observer.on_job_event(event)
            except Exception:
                log.exception("job %s: observer %r failed", job.id, observer)

    async def stop(self) -> None:
        if self._alarm is not None:
            await self._alarm.stop()
