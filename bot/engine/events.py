"""What the engine tells the outside world: one event per change a person could see."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.engine.views import JobView, view_of
from storage.jobs import JobRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    job: JobView
    queue_position: int | None = None  # 1 = next to be submitted; None when not queued
    eta_seconds: float | None = None  # until the video should be ready, from history

    @property
    def terminal(self) -> bool:
        return not self.job.active


class JobObserver(Protocol):
    """Receives events. Must return quickly: slow work (Discord edits) is scheduled, not awaited."""

    async def on_job_event(self, event: JobEvent) -> None: ...


class Events:
    """Builds each event (the view, its place in line, its estimate) and hands it to every observer.

    ``position`` and ``eta`` are asked of the dispatcher and the estimates when an event is built,
    so an event always shows the line as it is at that moment.
    """

    def __init__(
        self,
        position: Callable[[int], int | None],
        eta: Callable[[JobRow, int | None], float | None],
    ) -> None:
        self._position = position
        self._eta = eta
        self._observers: list[JobObserver] = []

    def subscribe(self, observer: JobObserver) -> None:
        self._observers.append(observer)

    def unsubscribe(self, observer: JobObserver) -> None:
        self._observers.remove(observer)

    def describe(self, job: JobRow) -> JobEvent:
        position = self._position(job.id) if job.active else None
        return JobEvent(view_of(job), queue_position=position, eta_seconds=self._eta(job, position))

    async def emit(self, job: JobRow) -> None:
        event = self.describe(job)
        for observer in self._observers:
            try:
                await observer.on_job_event(event)
            except Exception:
                log.exception("job %s: observer %r failed", job.id, observer)
