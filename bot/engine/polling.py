"""When to ask a vendor again: from the job's own history, its progress, and the key's budget.

A status call that finds nothing new is wasted — on nanophoto it costs 1% of the key's hourly
budget. So the first poll goes near the moment the job is expected to be done (history by
profile, kind, model and duration; the profile's ``expected`` hint before there is any), and the
next ones tighter. When the vendor reports a percentage, the finish is extrapolated from it. On a
budgeted key the first poll waits for the slow end of history (p90), so most jobs need one poll.
"""

from __future__ import annotations

from typing import Protocol

from bot.providers.profiles import Timing

SPREAD = 0.05  # a whole percentage below 19 leaves the finish more than 5% of the job uncertain
MARGIN = 1.03  # poll a little after the predicted finish rather than a little before


def first_delay(timing: Timing, typical: float, slow: float, *, budgeted: bool) -> float:
    """Seconds after submit before the first status call."""
    if budgeted:
        return max(timing.first_poll, slow)
    # Unbudgeted: look early, so that a percentage (where the vendor gives one) can tell the rest.
    return max(timing.first_poll, 0.15 * typical)


def next_delay(
    timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, budgeted: bool
) -> float:
    """Seconds until the next status call of a job still running ``elapsed`` seconds after submit."""
    if progress_pct is not None and 0 < progress_pct < 100:
        # A whole-number percentage hides up to one point: the job is between p and p+1 % done.
        if 1 / (progress_pct + 1) > SPREAD:
            # Too vague to aim at the finish: look again at the earliest moment it could be done (never
            # late); a reading of ~85%+ there pins the finish to about 1%.
            earliest = elapsed * (99 - progress_pct) / (progress_pct + 1)
            return max(timing.poll_interval / 4, earliest)
        remaining = elapsed * (100 - progress_pct) / progress_pct
        return max(timing.poll_interval / 4, remaining * MARGIN)
    if elapsed < typical:
        return max(timing.poll_interval, typical - elapsed)
    return timing.poll_interval * (2.0 if budgeted else 1.0)


class Planner(Protocol):
    """When to poll; the engine takes one (benchmarks pass a naive one to compare against)."""

    def first_delay(self, timing: Timing, typical: float, slow: float, *, budgeted: bool) -> float: ...

    def next_delay(
        self, timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, budgeted: bool
    ) -> float: ...


class AdaptivePlanner:
    """The policy above: history, percentages and the key's budget."""

    first_delay = staticmethod(first_delay)
    next_delay = staticmethod(next_delay)
