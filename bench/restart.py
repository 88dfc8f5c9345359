"""Restart benchmark: a bot restarting on 10,000 and 50,000 active jobs, beside the code before the fix.

Why: a restart resumes every unfinished job (``Engine.start``). Issue 12 found that with 10,000 of
them, half queued, the start took 440 s with the event loop stalled the whole time — every slash
command in that window would have missed Discord's 3-second acknowledgement — and 50,000 did not
finish in 180 s: each hand-out of a key re-announced the place of the jobs behind, and each place
was computed by copying the whole line. The target: start-up with 10,000 active jobs takes seconds,
the loop never stalls more than 100 ms, commands are answered while jobs resume.

Each size runs twice, in separate processes (``bench/restart_worker.py``, which says exactly what is
built and measured): **ours** is this tree; **baseline** is the commit before the fix (``--baseline``,
default ``BASELINE``), exported read-only with ``git archive`` into a temporary directory and run
there by the very same worker file. The database is built by each side's own code, once, and copied
fresh for the run. A side that has not resumed everything after ``--cap`` seconds is stopped by a
watchdog thread (the loop may be stalled) and its figures are what it reached by then: a time shown
as "> cap" is a lower bound, and so is its stall (the one still going on counts).

Reported per size: seconds to the first status call, to every job resumed (each running job polled
once, each free slot's create sent, the rest back in line), for ``start()`` to return; the longest
loop stall (a 10 ms sleeper's worst overshoot); the worst latency of a command's pre-defer reads
due every 100 ms meanwhile, counted from when it was due; the events handed to the Discord side (a
"submitting" per create sent, a result per undelivered job, and places in line — the last also on
their own row); peak RSS. Ratios are ours ÷ baseline: below 1 is better for every row. A baseline
stopped at the cap has done less work than ours by then (fewer creates, fewer polls in flight), so
its events and RSS are only what it reached.

Run: ``python -m bench.restart [--sizes 10000,50000] [--cap 120] [--quick]`` from the repository root
(or ``python -m bench``). Needs ``git`` and the repository's history for the baseline; without them
only ours is run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "5c309903b5fa8ac2da2544f24261f3072a1f6759"  # the last commit before restart at scale
SIZES = (10_000, 50_000)
QUICK_SIZES = (2_000, 10_000)
CAP = 120.0  # enough for the baseline to finish 10,000 jobs (~85 s here), not 50,000
OURS_CAP = 300.0  # ours is not meant to need it; a bound so a regression cannot hang the bench
TARGET_STALL = 0.100
WORKER = "bench.restart_worker"
Result = dict[str, Any]


def export_baseline(rev: str, into: Path) -> Path | None:
    """``rev``'s code in ``into`` (``git archive``: nothing in the repository changes), with today's
    worker copied in so that both sides are measured by the same code. None without git or history."""
    archive = into / "baseline.tar"
    try:
        with archive.open("wb") as out:
            subprocess.run(
                ["git", "-C", str(ROOT), "archive", rev, "bot", "storage", "bench"],
                stdout=out,
                stderr=subprocess.PIPE,
                check=True,
            )
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"baseline {rev[:10]} not available ({exc}); measuring ours only", flush=True)
        return None
    tree = into / "baseline"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    shutil.copy(ROOT / "bench" / "restart_worker.py", tree / "bench" / "restart_worker.py")
    return tree


def worker(tree: Path, *args: str, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, "-m", WORKER, *args],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{WORKER} {args[0]} in {tree} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def measure(tree: Path, jobs: int, cap: float, scratch: Path, side: str) -> Result:
    built = scratch / f"{side}-{jobs}.db"
    worker(tree, "build", "--db", str(built), "--jobs", str(jobs), timeout=600)
    run = scratch / f"{side}-{jobs}-run.db"
    shutil.copy(built, run)  # the run changes the file (creates go out): each run starts fresh
    out = worker(tree, "run", "--db", str(run), "--cap", str(cap), timeout=cap + 60)
    result: Result = json.loads(out.strip().splitlines()[-1])
    resumed = [result.get(k) for k in ("all_polled", "all_submitted", "in_line")]
    result["resumed"] = None if None in resumed else max(x for x in resumed if x is not None)
    return result


def _s(v: float) -> str:
    return f"{v:,.2f} s"


def _ms(v: float) -> str:
    return f"{v * 1000:,.0f} ms"


ROWS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("first status call", "first_poll", _s),
    ("every job resumed", "resumed", _s),
    ("start() returned", "start_returned", _s),
    ("longest loop stall", "max_stall", _ms),
    ("worst command reads", "command_max", _ms),
    ("events to Discord side", "events", lambda v: f"{v:,.0f}"),
    ("  of which: places", "placed", lambda v: f"{v:,.0f}"),
    ("peak RSS", "rss_peak_mb", lambda v: f"{v:,.0f} MB"),
)


def cell(result: Result | None, key: str, show: Callable[[float], str]) -> tuple[str, float | None, bool]:
    """The printed value, the number, and whether it is only a lower bound (run stopped at the cap)."""
    if result is None:
        return "-", None, False
    value = result.get(key)
    if value is None:  # never reached before the cap
        return f"> {result['elapsed']:.0f} s", result["elapsed"], True
    bound = not result["finished"]
    return f"{'≥ ' if bound else ''}{show(value)}", value, bound


def report(jobs: int, ours: Result, base: Result | None, cap: float) -> str:
    lines = [
        f"-- {jobs:,} active jobs ({jobs // 2:,} running, {jobs // 4:,} submitted at once,"
        f" {jobs - jobs // 2 - jobs // 4:,} waiting); baseline stopped at {cap:.0f} s if not done",
        f"{'':<24} {'baseline':>14} {'ours':>12} {'ours/baseline':>14}",
    ]
    for label, key, show in ROWS:
        base_text, base_value, base_bound = cell(base, key, show)
        ours_text, ours_value, _ = cell(ours, key, show)
        ratio = "-"
        if base_value and ours_value is not None:
            r = ours_value / base_value
            ratio = f"{'< ' if base_bound else ''}{r:.2g}x"
        lines.append(f"{label:<24} {base_text:>14} {ours_text:>12} {ratio:>14}")
    stall = ours["max_stall"]
    lines.append(
        f"target: longest stall ≤ {TARGET_STALL * 1000:.0f} ms while {jobs:,} jobs resume —"
        f" {'met' if ours['finished'] and stall <= TARGET_STALL else 'NOT met'} ({stall * 1000:.0f} ms)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="active jobs per run, comma-separated (default 10000,50000)")
    parser.add_argument("--cap", type=float, default=CAP, help="seconds a baseline run may take")
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    parser.add_argument("--quick", action="store_true", help="2,000 and 10,000 jobs, 30 s cap")
    args = parser.parse_args(argv)
    sizes: tuple[int, ...] = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    cap = min(args.cap, 30.0) if args.quick else args.cap
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as tmp:
        scratch = Path(tmp)
        baseline = export_baseline(args.baseline, scratch)
        print(f"baseline: {args.baseline[:10]}; ours: {ROOT}", flush=True)
        for jobs in sizes:
            ours = measure(ROOT, jobs, OURS_CAP, scratch, "ours")
            base = measure(baseline, jobs, cap, scratch, "base") if baseline is not None else None
            print(report(jobs, ours, base, cap), flush=True)
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
