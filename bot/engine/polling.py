"""When to ask a vendor again: from the job's own history, its progress, and the key's budget.

A status call that finds nothing new is wasted — on nanophoto it costs 1% of the key's hourly
budget. So the first poll goes near the moment the job is expected to be done (history by
profile, kind, model and duration; the profile's ``expected`` hint before there is any), and the
next ones tighter. When the vendor reports a percentage, the finish is extrapolated from it. On a
budgeted key the first poll waits for the slow end of history (p90), so most jobs need one poll.

That is the plan when the key's budget is tight. When it has room to spare (``Pace.spare``: nobody
waits for the key and its free room outlasts the jobs running on it), the spare calls buy
visibility: polls come every ``poll_interval`` or as often as the spare room allows, so a member
sees each step and percent as it happens. A key with no hourly budget keeps the fewest calls: there
the vendor's load is what a poll costs, and a percentage already tells the finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.providers.profiles import Timing

SPREAD = 0.05  # a whole percentage below 19 leaves the finish more than 5% of the job uncertain
MARGIN = 1.03  # poll a little after the predicted finish rather than a little before


@dataclass(frozen=True)
class Pace:
    """What a job's key can afford. ``budgeted``: its calls are counted per hour. ``spare``: with
    room to spare, the shortest spacing of polls the spare room pays for (None: tight, or no budget)."""

    budgeted: bool
    spare: float | None = None

    def visible(self, timing: Timing) -> float | None:
        """The spacing of visibility polls, when the key can pay for them."""
        return None if self.spare is None else max(timing.poll_interval, self.spare)


def first_delay(timing: Timing, typical: float, slow: float, *, pace: Pace) -> float:
    """Seconds after submit before the first status call."""
    if pace.budgeted:
        fewest = max(timing.first_poll, slow)
        visible = pace.visible(timing)
        return fewest if visible is None else min(fewest, visible)
    # Unbudgeted: look early, so that a percentage (where the vendor gives one) can tell the rest.
    return max(timing.first_poll, 0.15 * typical)


def next_delay(
    timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, pace: Pace
) -> float:
    """Seconds until the next status call of a job still running ``elapsed`` seconds after submit."""
    fewest = _fewest_next(timing, elapsed, typical, progress_pct, budgeted=pace.budgeted)
    visible = pace.visible(timing)
    return fewest if visible is None else min(fewest, visible)


def _fewest_next(
    timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, budgeted: bool
) -> float:
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

    def first_delay(self, timing: Timing, typical: float, slow: float, *, pace: Pace) -> float: ...

    def next_delay(
        self, timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, pace: Pace
    ) -> float: ...


class AdaptivePlanner:
    """The policy above: history, percentages and what the key can afford."""

    first_delay = staticmethod(first_delay)
    next_delay = staticmethod(next_delay)
