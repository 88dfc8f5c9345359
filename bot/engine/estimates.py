"""How long jobs take: recent generation times by (profile, kind, model, duration), and the
estimates members see from them.

Seeded from the database at start, added to as jobs finish; the poll planner reads the typical
and the slow end, the card reads the time left.

What is learnt is how long the vendor took, not when the bot noticed: a job seen done at its first
poll (placed at the slow end of history) was done some time before, and recording the moment it was
seen would only ever push estimates up. So the vendor's own timing wins where it gives one
(``TaskSnapshot.vendor_seconds``); else the midpoint between the last poll that found the job
unfinished (or its submit) and the first that found it done. It is stored with the job
(``generation_seconds``), so a restart learns from the same numbers.
"""

from __future__ import annotations

import statistics
from collections import defaultdict, deque

from storage import jobs
from storage.db import Database
from storage.jobs import JobRow
from storage.states import JobState

HistoryKey = tuple[str, str, str, int]  # profile, kind, model, duration
MIN_SAMPLES = 3
KEEP = 50
SEED_ROWS = 2000  # finished jobs read at start


def key_of(job: JobRow) -> HistoryKey:
    return (job.profile, job.kind, job.model, job.duration)


class History:
    """Recent generation times (submit → done), in memory."""

    def __init__(self) -> None:
        self._seen: defaultdict[HistoryKey, deque[float]] = defaultdict(lambda: deque(maxlen=KEEP))

    def add(self, key: HistoryKey, seconds: float) -> None:
        if seconds > 0:
            self._seen[key].append(seconds)

    def typical(self, key: HistoryKey, default: float) -> float:
        seen = self._seen.get(key)
        return statistics.median(seen) if seen and len(seen) >= MIN_SAMPLES else default

    def slow(self, key: HistoryKey, default: float) -> float:
        """The 90th percentile: by then nearly every job like this one has finished."""
        seen = self._seen.get(key)
        if not seen or len(seen) < MIN_SAMPLES:
            return default
        ordered = sorted(seen)
        return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]

    async def seed(self, db: Database) -> None:
        """Load the newest finished jobs, oldest first so the newest are kept."""
        for took in reversed(await jobs.recent_timings(db, limit=SEED_ROWS)):
            self.add((took.profile, took.kind, took.model, took.duration), took.seconds)


def generation_seconds(
    vendor: float | None, submitted: float | None, last_unfinished: float | None, *, finished_seen: float
) -> float | None:
    """How long a finished job took: the vendor's own figure, else the middle of the interval in
    which it must have finished. None when neither is known (a job with no submit time)."""
    if vendor is not None and vendor > 0:
        return vendor
    if submitted is None:
        return None
    start = max(submitted, last_unfinished) if last_unfinished is not None else submitted
    return max(0.0, (start + finished_seen) / 2 - submitted)


def eta(
    job: JobRow,
    history: History,
    *,
    expected: float,
    now: float,
    position: int | None,
    slots: int | None,
) -> float | None:
    """Seconds until the video should be ready (None once it is finished).

    Running: the typical time less what has passed. Queued: the typical time once per round of
    ``slots`` jobs ahead of it.
    """
    if not job.active:
        return None
    typical = history.typical(key_of(job), expected)
    if job.state is JobState.RUNNING and job.submitted_at is not None:
        return max(0.0, job.submitted_at + typical - now)
    rounds = 1 + ((position or 1) - 1) // slots if slots else 1
    return typical * rounds
