"""Poller benchmark: the engine's poll planner and key budgets against the vendors' naive advice.

Every scenario runs the real ``bot.engine.engine.Engine`` on a real SQLite file, twice in the same
run: once as configured (**ours**), once with the **naive** policy the vendor docs advise, and
reports the two side by side with their ratio (ours ÷ naive) and the issue's target.

**Naive** = the same engine code with two things taken away: (1) the poll planner — every status
check is 5 s after the previous one, from submit (a ``NaivePlanner`` passed to the engine: no
history, no percentage extrapolation); (2) budget
foresight — the profile has no ``requests_per_hour``, so the ``KeyPool`` keeps no call log and
reserves nothing, and calls go out until the vendor answers 429. What a 429 does is left as the
engine does it (the key cools down ``rate_limit_cooldown`` = 60 s; a poll backs off; a 429 at submit
puts the job back at the front of the line), so the comparison isolates the policy. In the budget
scenario naive is run two ways: *1 at a time* (``max_concurrent = 1``: the vendor's sample script in
a loop, which is where the issue's "≈ 4 jobs an hour" comes from) and *all at once* (no slot limit:
every queued job submitted at once).

Scenarios:

* **budget** (virtual clock): one nanophoto-like key, 100 requests per rolling hour enforced by the
  simulated vendor itself, 60 ``sora2`` jobs queued at once, generation 60–180 s. Jobs completed by
  t = 3600 s (at 2 calls a job, 50 is the limit: the target is 48), vendor calls (create + status,
  429s included) per completed job, 429s received. Ours reserves every running job's polls, so the
  line waits rather than the jobs, and learns the vendor's own generation times.
* **visibility** (virtual clock, ``bench/visibility.py``): 3 TVC jobs on one such key — spare budget:
  how soon each of the three steps is shown after the vendor began it (target: within 30 s), beside
  the fewest-calls plan a tight key falls back to and the naive policy.
* **scale, counts** (virtual clock): an OpenAI-compatible profile with no hourly budget, 2,000
  concurrent jobs of 60–480 s reporting ``progress`` = floor(100·elapsed/T). Status calls per job,
  detection lag (engine's terminal event − the vendor's true finish) p50/p95 in seconds and as a
  share of each job's generation time. Naive runs a smaller sample here: its per-job figures do not
  depend on how many jobs run beside it (no budget), and 2,000 × ~54 polls would dominate the run.
* **scale, resources** (real time compressed ×K, real HTTP): the real ``OpenAIVideos`` adapter over
  127.0.0.1 against ``tests.fakes.openai_videos`` served from *another process* (so its CPU and
  memory are not counted), on a ``ScaledClock`` shared by both processes. Engine-process CPU seconds
  (``time.process_time``) per 1,000 status polls, and peak memory per active job: traced Python
  heap (``tracemalloc`` peak above the baseline, in a second run of its own since tracing slows
  everything) and RSS growth, each ÷ the peak number of jobs active at once. The target is judged
  on the traced heap: RSS growth is only a lower bound, since the process first reuses heap that
  the earlier scenarios freed.

The virtual clock (``bench/virtual_clock.py``) advances only when nothing can happen any more at the
current instant, so counts and lags are exact and independent of machine speed. The simulated vendor
is ``bench/sim_vendor.py``. Run: ``python -m bench.poller [--quick]`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.sim_vendor import SimVendor, sim_profile
from bench.virtual_clock import ScaledClock, VirtualClock
from bot.engine.admission import JobOrigin
from bot.engine.clock import Clock
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.engine.polling import Pace
from bot.providers.base import ApiKey, TextToVideo, VideoProvider
from bot.providers.http import VendorHttp
from bot.providers.openai_videos import OPENAI_VIDEOS_TIMING
from bot.providers.profiles import ProviderProfile, Timing
from bot.providers.registry import build_provider
from storage import ledger
from storage.db import Database

NAIVE_INTERVAL = 5.0
HOUR = 3600.0
BUDGET_JOBS, BUDGET_PER_HOUR, BUDGET_GEN = 60, 100, (60.0, 180.0)
SCALE_GEN = (60.0, 480.0)
# providers.example.toml's nanophoto profile (docs/vendors.md, "nanophoto: common rules", A9);
# the /v1/videos adapter's timing (docs/vendors.md, "OpenAI-compatible /v1/videos")
NANO_TIMING = Timing(first_poll=60, poll_interval=15, timeout=1200)
OPENAI_TIMING = OPENAI_VIDEOS_TIMING
GUILDS, MEMBERS_PER_GUILD = 10, 20
SEED = 20251


@dataclass(frozen=True)
class Size:
    scale_jobs: int
    scale_naive_jobs: int
    res_jobs: int
    res_naive_jobs: int
    factor: float


# ×20 keeps generation (3–24 s real) longer than enqueueing 2,000 jobs takes, so most of them overlap.
FULL = Size(scale_jobs=2000, scale_naive_jobs=200, res_jobs=2000, res_naive_jobs=100, factor=20.0)
QUICK = Size(scale_jobs=300, scale_naive_jobs=50, res_jobs=300, res_naive_jobs=50, factor=50.0)


# ---- the naive policy ----------------------------------------------------------------------------


class NaivePlanner:
    """What the vendor docs advise: a status check every ``interval`` s from submit, whatever happens."""

    def __init__(self, interval: float = NAIVE_INTERVAL) -> None:
        self.interval = interval

    def first_delay(self, timing: Timing, typical: float, slow: float, *, pace: Pace) -> float:
        return self.interval

    def next_delay(
        self, timing: Timing, elapsed: float, typical: float, progress_pct: int | None, *, pace: Pace
    ) -> float:
        return self.interval


def naive_profile(profile: ProviderProfile, *, max_concurrent: int | None) -> ProviderProfile:
    timing = profile.timing.model_copy(update={"first_poll": NAIVE_INTERVAL, "poll_interval": NAIVE_INTERVAL})
    return profile.model_copy(
        update={"requests_per_hour": None, "max_concurrent": max_concurrent, "timing": timing}
    )


# ---- one engine run --------------------------------------------------------------------------------


@dataclass
class Watch:
    """An observer: when each job reached a terminal state, and how many were active at once."""

    clock: Clock
    ended: dict[int, tuple[float, str, str | None]] = field(default_factory=dict)  # id -> (t, state, remote)
    started: set[int] = field(default_factory=set)
    peak_active: int = 0

    async def on_job_event(self, event: JobEvent) -> None:
        job = event.job
        self.started.add(job.id)
        if event.terminal and job.id not in self.ended:
            self.ended[job.id] = (self.clock.now(), job.state, job.remote_id)
        self.peak_active = max(self.peak_active, len(self.started) - len(self.ended))

    def succeeded(self, until: float | None = None) -> list[tuple[float, str | None]]:
        return [
            (t, remote)
            for t, state, remote in self.ended.values()
            if state == "succeeded" and (until is None or t <= until)
        ]

    def count(self, state: str) -> int:
        return sum(1 for _, s, _ in self.ended.values() if s == state)


def origins(n: int) -> list[JobOrigin]:
    """``n`` jobs spread round-robin over ``GUILDS`` servers of ``MEMBERS_PER_GUILD`` members."""
    out = []
    for i in range(n):
        guild = 1 + i % GUILDS
        member = 1000 + (i // GUILDS) % MEMBERS_PER_GUILD
        out.append(JobOrigin(guild_id=guild, channel_id=guild * 10, user_id=guild * 100_000 + member))
    return out


async def _grant(db: Database, jobs: Sequence[JobOrigin]) -> None:
    async with db.transaction() as tx:
        for who in {(o.guild_id, o.user_id) for o in jobs}:
            await ledger.grant(tx, who[0], who[1], 1_000_000, actor_id=None, reason="bench")


@contextlib.asynccontextmanager
async def _engine(
    tmp: Path, profile: ProviderProfile, provider: VideoProvider, clock: Clock, *, naive: bool
) -> Any:
    db = await Database.open(tmp / f"{profile.name}-{time.monotonic_ns()}.db")
    if isinstance(clock, VirtualClock):
        for conn in db.connections:  # the write connection and the read ones (see virtual_clock)
            clock.track_sqlite(conn)
    planner = NaivePlanner() if naive else None
    engine = Engine(db, {profile.name: profile}, {profile.name: provider}, clock=clock, planner=planner)
    try:
        yield engine
    finally:
        await engine.stop()
        await db.close()


async def _enqueue_all(engine: Engine, jobs: Sequence[JobOrigin]) -> None:
    await _grant(engine.db, jobs)
    request = TextToVideo(prompt="a paper boat on a rainy street", duration=10)
    for origin in jobs:
        await engine.admission.enqueue(origin, request)


async def virtual_run(
    tmp: Path,
    profile: ProviderProfile,
    vendor_args: dict[str, Any],
    n_jobs: int,
    horizon: float,
    *,
    naive: bool,
) -> tuple[Watch, SimVendor, float, int]:
    """Queue ``n_jobs`` at virtual t0 and drive until all end or t0 + ``horizon``.

    Returns the observer, the vendor, t0, and how many jobs were still active past their deadline.
    """
    clock = VirtualClock()
    random.seed(SEED)  # the engine's backoff jitter
    vendor = SimVendor(profile.name, clock=clock, seed=SEED, timing=profile.timing, **vendor_args)
    watch = Watch(clock)
    t0 = clock.now()
    async with _engine(tmp, profile, vendor, clock, naive=naive) as engine:
        engine.subscribe(watch)
        jobs = origins(n_jobs)
        await _enqueue_all(engine, jobs)
        await clock.run_until(lambda: len(watch.ended) >= n_jobs, limit=t0 + horizon)
        row = await engine.db.fetchone(
            "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('queued', 'submitting', 'running')"
            " AND deadline_at < ?",
            (clock.now(),),
        )
        overdue = int(row["n"]) if row else 0
    return watch, vendor, t0, overdue


# ---- scenario: budget ------------------------------------------------------------------------------


@dataclass
class BudgetResult:
    completed: int
    calls: int
    rejected: int
    timed_out: int
    overdue: int  # still running at t = 1 h although past their deadline


async def budget_one(tmp: Path, *, naive: str | None) -> BudgetResult:
    ours = sim_profile("nano", per_hour=BUDGET_PER_HOUR, max_concurrent=None, timing=NANO_TIMING)
    profile = ours if naive is None else naive_profile(ours, max_concurrent=1 if naive == "serial" else None)
    vendor_args = {"style": "nanophoto", "gen_range": BUDGET_GEN, "per_hour": BUDGET_PER_HOUR}
    watch, vendor, t0, overdue = await virtual_run(
        tmp, profile, vendor_args, BUDGET_JOBS, HOUR, naive=naive is not None
    )
    end = t0 + HOUR
    done = watch.succeeded(end)
    return BudgetResult(
        completed=len(done),
        calls=vendor.count(before=end),
        rejected=vendor.count(status=429, before=end),
        timed_out=sum(1 for t, s, _ in watch.ended.values() if s == "timed_out" and t <= end),
        overdue=overdue,
    )


# ---- scenario: scale (virtual counts) --------------------------------------------------------------


@dataclass
class ScaleCounts:
    jobs: int
    status_per_job: float
    creates_per_job: float
    lag: list[float]
    lag_share: list[float]
    first_pct: list[int]  # the percentage each job showed at its first status call, same order
    unfinished: int


async def scale_counts_one(tmp: Path, n_jobs: int, *, naive: bool) -> ScaleCounts:
    ours = sim_profile("lcon", per_hour=None, max_concurrent=None, timing=OPENAI_TIMING)
    profile = naive_profile(ours, max_concurrent=None) if naive else ours
    vendor_args = {"style": "openai", "gen_range": SCALE_GEN}
    watch, vendor, _, _ = await virtual_run(tmp, profile, vendor_args, n_jobs, 4 * HOUR, naive=naive)
    first_call: dict[str, float] = {}
    for call in vendor.calls:
        if call.route == "status" and call.remote_id is not None:
            first_call.setdefault(call.remote_id, call.at)
    lag, share, first_pct = [], [], []
    for t, remote in watch.succeeded():
        task = vendor.tasks[remote or ""]
        lag.append(t - task.finish_at)
        share.append((t - task.finish_at) / task.generation)
        seen = first_call.get(task.remote_id, task.finish_at) - task.created_at
        first_pct.append(min(100, math.floor(100 * seen / task.generation)))
    return ScaleCounts(
        jobs=n_jobs,
        status_per_job=vendor.count("status") / n_jobs,
        creates_per_job=vendor.count("create") / n_jobs,
        lag=lag,
        lag_share=share,
        first_pct=first_pct,
        unfinished=n_jobs - len(lag),
    )


# ---- scenario: scale (real resources) ---------------------------------------------------------------


@dataclass
class Resources:
    jobs: int
    polls: int
    cpu: float
    wall: float
    peak_active: int
    traced_peak: int | None  # bytes above baseline (tracemalloc run)
    rss_growth: int  # bytes, peak RSS sampled during the run minus RSS before it
    vendor_requests: dict[str, int]
    unfinished: int


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def resources_one(tmp: Path, n_jobs: int, factor: float, *, naive: bool, trace: bool) -> Resources:
    epoch = time.time()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.sim_vendor",
        "serve-openai",
        f"--factor={factor}",
        f"--epoch={epoch}",
        f"--seed={SEED}",
        f"--jobs={n_jobs}",
        f"--min={SCALE_GEN[0]}",
        f"--max={SCALE_GEN[1]}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        hello = json.loads(await asyncio.wait_for(child.stdout.readline(), 30))
        name, secret = next(iter(hello["keys"].items()))
        ours = ProviderProfile(
            name="lcon",
            kind="openai_videos",
            base_url=hello["base_url"],
            keys=(ApiKey(name=name, secret=SecretStr(secret)),),
            models=("sora-2",),
            timing=OPENAI_TIMING,
        )
        profile = naive_profile(ours, max_concurrent=None) if naive else ours
        clock = ScaledClock(factor, epoch=epoch)
        real_limit = (SCALE_GEN[1] + OPENAI_TIMING.timeout) / factor + 60
        async with (
            VendorHttp() as http,
            _engine(tmp, profile, build_provider(profile, http), clock, naive=naive) as engine,
        ):
            watch = Watch(clock)
            engine.subscribe(watch)
            jobs = origins(n_jobs)
            await _grant(engine.db, jobs)
            gc.collect()
            if trace:
                tracemalloc.start()
            traced0 = tracemalloc.get_traced_memory()[0] if trace else 0
            rss0 = peak_rss = _rss()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            request = TextToVideo(prompt="a paper boat on a rainy street", duration=10)
            for origin in jobs:
                await engine.admission.enqueue(origin, request)
            while len(watch.ended) < n_jobs and time.perf_counter() - wall0 < real_limit:
                await asyncio.sleep(0.02)
                peak_rss = max(peak_rss, _rss())
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            traced = tracemalloc.get_traced_memory()[1] - traced0 if trace else None
            if trace:
                tracemalloc.stop()
            row = await engine.db.fetchone("SELECT SUM(polls) AS n FROM jobs")
            polls = int(row["n"] or 0) if row else 0
    finally:
        with contextlib.suppress(Exception):
            child.stdin.write(b"stop\n")
            await child.stdin.drain()
        stats_line = await asyncio.wait_for(child.stdout.readline(), 30)
        await asyncio.wait_for(child.wait(), 30)
    stats = json.loads(stats_line) if stats_line else {"requests": {}}
    return Resources(
        jobs=n_jobs,
        polls=polls,
        cpu=cpu,
        wall=wall,
        peak_active=watch.peak_active,
        traced_peak=traced,
        rss_growth=peak_rss - rss0,
        vendor_requests=stats["requests"],
        unfinished=n_jobs - len(watch.ended),
    )


# ---- reporting -------------------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ratio(ours: float, naive: float) -> str:
    if naive == 0:
        return "—" if ours == 0 else "∞"
    return f"{ours / naive:.2f}×"


Row = tuple[str, str, Sequence[str], str, str, str]  # metric, ours, naives, ratio, target, verdict


def table(title: str, naive_heads: Sequence[str], rows: Sequence[Row]) -> str:
    heads = ("metric", "ours", *naive_heads, "ours÷naive", "target", "")
    cells = [(m, o, *n, r, t, v) for m, o, n, r, t, v in rows]
    widths = [max(len(str(c[i])) for c in [heads, *cells]) for i in range(len(heads))]
    line = lambda c: "  ".join(  # noqa: E731
        str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(c, widths, strict=True))
    )
    out = [title, line(heads), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    out += [line(c) for c in cells]
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "NOT MET")


def budget_table(ours: BudgetResult, serial: BudgetResult, burst: BudgetResult) -> str:
    per = lambda r: r.calls / r.completed if r.completed else math.inf  # noqa: E731
    fmt = lambda x: "∞" if x == math.inf else f"{x:.1f}"  # noqa: E731
    rows: list[Row] = [
        (
            "jobs completed by t=1 h",
            str(ours.completed),
            (str(serial.completed), str(burst.completed)),
            ratio(ours.completed, serial.completed),
            "≥ 48 (limit 50)",
            verdict(ours.completed >= 48),
        ),
        (
            "vendor calls per completed job",
            fmt(per(ours)),
            (fmt(per(serial)), fmt(per(burst))),
            ratio(per(ours), per(serial)) if per(serial) != math.inf else "—",
            "(2 = limit)",
            "",
        ),
        (
            "vendor calls sent in the hour",
            str(ours.calls),
            (str(serial.calls), str(burst.calls)),
            ratio(ours.calls, serial.calls),
            "",
            "",
        ),
        (
            "429s received",
            str(ours.rejected),
            (str(serial.rejected), str(burst.rejected)),
            ratio(ours.rejected, serial.rejected),
            "0",
            verdict(ours.rejected == 0),
        ),
        (
            "jobs timed out in the hour",
            str(ours.timed_out),
            (str(serial.timed_out), str(burst.timed_out)),
            "",
            "",
            "",
        ),
        (
            "jobs past their deadline, not timed out",
            str(ours.overdue),
            (str(serial.overdue), str(burst.overdue)),
            "",
            "",
            "",
        ),
    ]
    return table(
        f"budget: 1 key × {BUDGET_PER_HOUR} req/h (vendor-enforced), {BUDGET_JOBS} sora2 jobs queued at t=0,"
        f" generation {BUDGET_GEN[0]:.0f}–{BUDGET_GEN[1]:.0f} s, virtual clock, first hour",
        ("naive 1-at-a-time", "naive all-at-once"),
        rows,
    )


def scale_counts_table(ours: ScaleCounts, naive: ScaleCounts) -> str:
    p = lambda xs, q, scale=1.0: f"{pct(xs, q) * scale:.1f}"  # noqa: E731
    p95_share = pct(ours.lag_share, 95)
    rows: list[Row] = [
        (
            "status calls per job",
            f"{ours.status_per_job:.2f}",
            (f"{naive.status_per_job:.2f}",),
            ratio(ours.status_per_job, naive.status_per_job),
            "≤ 3",
            verdict(ours.status_per_job <= 3),
        ),
        (
            "create calls per job",
            f"{ours.creates_per_job:.2f}",
            (f"{naive.creates_per_job:.2f}",),
            ratio(ours.creates_per_job, naive.creates_per_job),
            "",
            "",
        ),
        (
            "detection lag p50 (s)",
            p(ours.lag, 50),
            (p(naive.lag, 50),),
            ratio(pct(ours.lag, 50), pct(naive.lag, 50)),
            "",
            "",
        ),
        (
            "detection lag p95 (s)",
            p(ours.lag, 95),
            (p(naive.lag, 95),),
            ratio(pct(ours.lag, 95), pct(naive.lag, 95)),
            "",
            "",
        ),
        ("detection lag max (s)", p(ours.lag, 100), (p(naive.lag, 100),), "", "", ""),
        (
            "lag ÷ generation time p50 (%)",
            p(ours.lag_share, 50, 100),
            (p(naive.lag_share, 50, 100),),
            ratio(pct(ours.lag_share, 50), pct(naive.lag_share, 50)),
            "",
            "",
        ),
        (
            "lag ÷ generation time p95 (%)",
            p(ours.lag_share, 95, 100),
            (p(naive.lag_share, 95, 100),),
            ratio(p95_share, pct(naive.lag_share, 95)),
            "≤ 10",
            verdict(p95_share <= 0.10),
        ),
        (
            "jobs over 10% lag (share of jobs)",
            f"{100 * sum(1 for s in ours.lag_share if s > 0.10) / max(1, len(ours.lag_share)):.1f}%",
            (f"{100 * sum(1 for s in naive.lag_share if s > 0.10) / max(1, len(naive.lag_share)):.1f}%",),
            "",
            "",
            "",
        ),
        (
            "jobs not finished",
            str(ours.unfinished),
            (str(naive.unfinished),),
            "",
            "0",
            verdict(ours.unfinished == 0),
        ),
    ]
    text = table(
        f"scale, counts: OpenAI-compatible, no hourly budget, {ours.jobs} jobs at once (naive: {naive.jobs}),"
        f" generation {SCALE_GEN[0]:.0f}–{SCALE_GEN[1]:.0f} s, progress = floor(100·elapsed/T), virtual clock",
        ("naive every 5 s",),
        rows,
    )
    if p95_share > 0.10:
        late = [f for f, x in zip(ours.first_pct, ours.lag_share, strict=True) if x > 0.10]
        text += (
            f"\nnote: lag p95 misses its target; the {len(late)} late jobs read a median of"
            f" {pct(late, 50):.0f}% at their first status call (see bot/engine/polling.py next_delay)."
        )
    return text


def resources_table(
    cpu_ours: Resources, mem_ours: Resources, cpu_naive: Resources, mem_naive: Resources, factor: float
) -> str:
    per_k = lambda r: 1000 * r.cpu / r.polls if r.polls else math.nan  # noqa: E731
    per_job_cpu = lambda r: 1000 * r.cpu / r.jobs  # noqa: E731
    traced = lambda r: (r.traced_peak or 0) / max(1, r.peak_active) / 1024  # noqa: E731
    rss = lambda r: r.rss_growth / max(1, r.peak_active) / 1024  # noqa: E731
    rows: list[Row] = [
        (
            "status polls per job",
            f"{cpu_ours.polls / cpu_ours.jobs:.2f}",
            (f"{cpu_naive.polls / cpu_naive.jobs:.2f}",),
            ratio(cpu_ours.polls / cpu_ours.jobs, cpu_naive.polls / cpu_naive.jobs),
            "",
            "",
        ),
        (
            "CPU s per 1,000 polls (engine process)",
            f"{per_k(cpu_ours):.2f}",
            (f"{per_k(cpu_naive):.2f}",),
            ratio(per_k(cpu_ours), per_k(cpu_naive)),
            "",
            "",
        ),
        (
            "CPU ms per job (all of it)",
            f"{per_job_cpu(cpu_ours):.1f}",
            (f"{per_job_cpu(cpu_naive):.1f}",),
            ratio(per_job_cpu(cpu_ours), per_job_cpu(cpu_naive)),
            "",
            "",
        ),
        (
            "peak jobs active at once (CPU run / traced run)",
            f"{cpu_ours.peak_active} / {mem_ours.peak_active}",
            (f"{cpu_naive.peak_active} / {mem_naive.peak_active}",),
            "",
            "",
            "",
        ),
        (
            "peak traced heap per active job (KB)",
            f"{traced(mem_ours):.1f}",
            (f"{traced(mem_naive):.1f}",),
            ratio(traced(mem_ours), traced(mem_naive)),
            "≤ 20",
            verdict(traced(mem_ours) <= 20),
        ),
        (
            "peak RSS growth per active job (KB, lower bound)",
            f"{rss(cpu_ours):.1f}",
            (f"{rss(cpu_naive):.1f}",),
            ratio(rss(cpu_ours), rss(cpu_naive)),
            "",
            "",
        ),
        ("wall time of the run (s)", f"{cpu_ours.wall:.1f}", (f"{cpu_naive.wall:.1f}",), "", "", ""),
        (
            "jobs not finished",
            str(cpu_ours.unfinished + mem_ours.unfinished),
            (str(cpu_naive.unfinished + mem_naive.unfinished),),
            "",
            "0",
            verdict(cpu_ours.unfinished + mem_ours.unfinished == 0),
        ),
    ]
    return table(
        f"scale, resources: real OpenAIVideos adapter → fake /v1/videos on 127.0.0.1 (own process), time ×{factor:g}"
        f" (generation {SCALE_GEN[0] / factor:.1f}–{SCALE_GEN[1] / factor:.1f} s real), {cpu_ours.jobs} jobs"
        f" (naive: {cpu_naive.jobs}); CPU and RSS from one run, traced heap from a second with tracemalloc",
        ("naive every 5 s",),
        rows,
    )


# ---- main ------------------------------------------------------------------------------------------


async def measure(size: Size, say: Callable[[str], None]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-poller-") as name:
        tmp = Path(name)
        started = time.perf_counter()
        ours = await budget_one(tmp, naive=None)
        serial = await budget_one(tmp, naive="serial")
        burst = await budget_one(tmp, naive="burst")
        say(budget_table(ours, serial, burst))
        say(f"({time.perf_counter() - started:.1f} s)\n")

        from bench import visibility  # it builds on this module's policies and tables

        started = time.perf_counter()
        say(await visibility.measure(tmp))
        say(f"({time.perf_counter() - started:.1f} s)\n")

        started = time.perf_counter()
        s_ours = await scale_counts_one(tmp, size.scale_jobs, naive=False)
        s_naive = await scale_counts_one(tmp, size.scale_naive_jobs, naive=True)
        say(scale_counts_table(s_ours, s_naive))
        say(f"({time.perf_counter() - started:.1f} s)\n")

        started = time.perf_counter()
        cpu_ours = await resources_one(tmp, size.res_jobs, size.factor, naive=False, trace=False)
        mem_ours = await resources_one(tmp, size.res_jobs, size.factor, naive=False, trace=True)
        cpu_naive = await resources_one(tmp, size.res_naive_jobs, size.factor, naive=True, trace=False)
        mem_naive = await resources_one(tmp, size.res_naive_jobs, size.factor, naive=True, trace=True)
        say(resources_table(cpu_ours, mem_ours, cpu_naive, mem_naive, size.factor))
        say(f"({time.perf_counter() - started:.1f} s)\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.poller", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs in the scale scenarios")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    logging.getLogger("bot").setLevel(logging.ERROR)  # 429 warnings are counted, not printed
    started = time.perf_counter()
    asyncio.run(measure(size, lambda text: print(text, flush=True)))
    print(f"(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
