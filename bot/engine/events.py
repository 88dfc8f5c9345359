"""What the engine tells the outside world: one event per change a person could see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage.jobs import JobRow


@dataclass(frozen=True)
class JobEvent:
    job: JobRow
    queue_position: int | None = None  # 1 = next to be submitted; None when not queued
    eta_seconds: float | None = None  # until the video should be ready, from history

    @property
    def terminal(self) -> bool:
        return not self.job.active


class JobObserver(Protocol):
    """Receives events. Must return quickly: slow work (Discord edits) is scheduled, not awaited."""

    async def on_job_event(self, event: JobEvent) -> None: ...
