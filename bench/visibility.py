"""Poller benchmark, visibility scenario: what spare budget buys a member watching a TVC card.

Three TVC jobs on one nanophoto-like key (100 requests per rolling hour, enforced by the simulated
vendor), generation 120–300 s in nanophoto's three steps (script 20%, storyboard 20%, video 60%),
virtual clock. For every step of every job: how long after the vendor began it the card could show
it (the first engine event at that step or later), and when the finished video was seen. Three
policies, the same engine code:

* **ours**: the key has room to spare, so polls come every ``poll_interval`` (or as often as the
  spare room allows);
* **fewest calls**: the plan a tight key falls back to (``Pace.spare`` never offered): the first
  look near the slow end of history, then every other interval;
* **naive**: every 5 s from submit with no budget kept (the vendor's advice; see ``bench/poller.py``).

Target: every step shown within 30 s of it starting, with no 429.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.poller import NaivePlanner, Row, naive_profile, ratio, table, verdict
from bench.sim_vendor import SimVendor, sim_profile
from bench.virtual_clock import VirtualClock
from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.polling import AdaptivePlanner, Pace, Planner
from bot.providers.base import TvcRequest
from bot.providers.profiles import ProviderProfile, Timing
from storage import ledger
from storage.db import Database

JOBS, PER_HOUR, GEN = 3, 100, (120.0, 300.0)
# docs/vendors.md, "nanophoto: polling guidance": TVC first check after 90 s, then every 20–30 s.
TVC_TIMING = Timing(expected=180, first_poll=90, poll_interval=20, timeout=1200)
TARGET = 30.0
SEED = 20251


class FewestCalls:
    """The adaptive planner as a tight key runs it: spare room is never offered."""

    def __init__(self) -> None:
        self._inner = AdaptivePlanner()

    def first_delay(self, timing: Timing, typical: float, slow: float, *, pace: Pace) -> float:
        return self._inner.first_delay(timing, typical, slow, pace=Pace(budgeted=pace.budgeted))

    def next_delay(
        self, timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, pace: Pace
    ) -> float:
        return self._inner.next_delay(
            timing, elapsed, typical, progress_pct, pace=Pace(budgeted=pace.budgeted)
        )


@dataclass
class Seen:
    """Every event a card would render, with its virtual time."""

    clock: VirtualClock
    events: list[tuple[float, JobEvent]] = field(default_factory=list)

    async def on_job_event(self, event: JobEvent) -> None:
        self.events.append((self.clock.now(), event))

    def first(self, job_id: int, step: int) -> float | None:
        return next((t for t, e in self.events if e.job.id == job_id and (e.job.step or 0) >= step), None)

    def finished(self, job_id: int) -> float | None:
        return next((t for t, e in self.events if e.job.id == job_id and e.terminal), None)


@dataclass
class VisibilityResult:
    step_lags: list[float]  # seconds from a step's start at the vendor to the card showing it
    done_lags: list[float]  # seconds from the vendor's finish to the card showing it
    missed: int  # steps never shown
    status_calls: int
    rejected: int


async def visibility_one(tmp: Path, policy: str) -> VisibilityResult:
    clock = VirtualClock()
    random.seed(SEED)
    budgeted = policy != "naive"
    profile = sim_profile(
        "tvc", per_hour=PER_HOUR if budgeted else None, max_concurrent=None, timing=TVC_TIMING
    )
    planner: Planner | None = None
    if policy == "naive":
        profile, planner = naive_profile(profile, max_concurrent=None), NaivePlanner()
    elif policy == "fewest":
        planner = FewestCalls()
    vendor = SimVendor(
        "tvc", style="tvc", clock=clock, gen_range=GEN, seed=SEED, per_hour=PER_HOUR, timing=profile.timing
    )
    seen = Seen(clock)
    db = await Database.open(tmp / f"visibility-{policy}-{time.monotonic_ns()}.db")
    for conn in db.connections:
        clock.track_sqlite(conn)
    engine = _engine(db, profile, vendor, clock, planner)
    engine.subscribe(seen)
    try:
        ids = await _enqueue(engine, db)
        await clock.run_until(
            lambda: all(seen.finished(i) is not None for i in ids), limit=clock.now() + 3600
        )
    finally:
        await engine.stop()
        await db.close()
    return _result(seen, vendor, ids)


def _engine(
    db: Database, profile: ProviderProfile, vendor: SimVendor, clock: VirtualClock, planner: Planner | None
) -> Engine:
    return Engine(db, {profile.name: profile}, {profile.name: vendor}, clock=clock, planner=planner)


async def _enqueue(engine: Engine, db: Database) -> list[int]:
    async with db.transaction() as tx:
        await ledger.grant(tx, 1, 100, 1_000, actor_id=None, reason="bench")
    origin = JobOrigin(guild_id=1, channel_id=10, user_id=100)
    request = TvcRequest(ad_theme="a sparkling water for hot afternoons")
    return [(await engine.admission.enqueue(origin, request)).id for _ in range(JOBS)]


def _result(seen: Seen, vendor: SimVendor, ids: list[int]) -> VisibilityResult:
    step_lags: list[float] = []
    done_lags: list[float] = []
    missed = 0
    remote = {e.job.id: e.job.remote_id for _, e in seen.events if e.job.remote_id}
    for job_id in ids:
        task = vendor.tasks[remote[job_id] or ""]
        for step, began in task.step_starts():
            shown = seen.first(job_id, step)
            if shown is None:
                missed += 1
            else:
                step_lags.append(shown - began)
        done = seen.finished(job_id)
        if done is not None:
            done_lags.append(done - task.finish_at)
    return VisibilityResult(
        step_lags=step_lags,
        done_lags=done_lags,
        missed=missed,
        status_calls=vendor.count("status"),
        rejected=vendor.count(status=429),
    )


def visibility_table(ours: VisibilityResult, fewest: VisibilityResult, naive: VisibilityResult) -> str:
    worst = lambda r: max(r.step_lags, default=float("nan"))  # noqa: E731
    within = lambda r: sum(1 for x in r.step_lags if x <= TARGET)  # noqa: E731
    steps = JOBS * 3
    rows: list[Row] = [
        (
            f"steps shown within {TARGET:.0f} s of starting",
            f"{within(ours)}/{steps}",
            (f"{within(fewest)}/{steps}", f"{within(naive)}/{steps}"),
            "",
            f"{steps}/{steps}",
            verdict(within(ours) == steps),
        ),
        (
            "longest wait to see a step (s)",
            f"{worst(ours):.1f}",
            (f"{worst(fewest):.1f}", f"{worst(naive):.1f}"),
            ratio(worst(ours), worst(fewest)),
            f"≤ {TARGET:.0f}",
            verdict(worst(ours) <= TARGET),
        ),
        (
            "longest wait to see the video (s)",
            f"{max(ours.done_lags, default=0):.1f}",
            (f"{max(fewest.done_lags, default=0):.1f}", f"{max(naive.done_lags, default=0):.1f}"),
            ratio(max(ours.done_lags, default=0), max(fewest.done_lags, default=0)),
            "",
            "",
        ),
        (
            "steps never shown",
            str(ours.missed),
            (str(fewest.missed), str(naive.missed)),
            "",
            "0",
            verdict(ours.missed == 0),
        ),
        (
            "status calls (3 jobs)",
            str(ours.status_calls),
            (str(fewest.status_calls), str(naive.status_calls)),
            ratio(ours.status_calls, fewest.status_calls),
            f"< {PER_HOUR}",
            verdict(ours.status_calls < PER_HOUR),
        ),
        (
            "429s received",
            str(ours.rejected),
            (str(fewest.rejected), str(naive.rejected)),
            "",
            "0",
            verdict(ours.rejected == 0),
        ),
    ]
    return table(
        f"visibility: {JOBS} TVC jobs on 1 key × {PER_HOUR} req/h (vendor-enforced), generation"
        f" {GEN[0]:.0f}–{GEN[1]:.0f} s in 3 steps, poll interval {TVC_TIMING.poll_interval:.0f} s, virtual clock (ratio: ours ÷ fewest calls)",
        ("fewest calls", "naive every 5 s"),
        rows,
    )


async def measure(tmp: Path) -> str:
    ours = await visibility_one(tmp, "ours")
    fewest = await visibility_one(tmp, "fewest")
    naive = await visibility_one(tmp, "naive")
    return visibility_table(ours, fewest, naive)
