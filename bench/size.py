"""Storage at size: every read a member triggers, at 1M ledger entries, beside the old storage path.

Why: a bot that has run for a few years on a busy server has a million ledger entries and a hundred
thousand jobs, and one member may own a tenth of them. Every read a member triggers (balance, history,
``/jobs list``, the caps before a deferral) must stay under 5 ms there, and the all-time export of
the largest server must not hold the event loop for more than 50 ms at a time.

Data (``bench/size_data.py``): 1M entries, 100k jobs, 5,000 members in 50 servers, one heavy member
with 100k entries (45k jobs, three running). Built once and cached under the temp folder.

Each operation runs on two copies of the same file, alternating, in one process:

* **after** — the code as it is: migration 010's indexes, reads on read-only connections in one trip
  each, the streaming export (``bot.engine.export``), called through the real engine/storage code;
* **before** — the same file with 010 undone, read through ``bench.size_baseline.OldDatabase`` (one
  aiosqlite connection, reads under the write lock, three trips a read) with the old versions of the
  functions whose SQL changed (``held``, the export, ``doctor``'s check, history pages).

Reported: the median and 90th percentile of each side's repetitions, and the ratio after÷before of
the medians. The export also reports the longest event-loop stall (a 1 ms ticker's worst lateness)
and how long balance reads issued every 10 ms during the export took. A last row shows a balance read
issued while a write transaction is open (20 ms): the old path waits for it, the new one does not.

Run: ``python -m bench.size [--quick]`` from the repository root (or ``python -m bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import size_baseline as old
from bench.size_data import Shape, ensure
from bench.stall import Call, during, timed
from bot.engine import member_jobs
from bot.engine.admission import Quote
from bot.engine.credits import Credits, HistoryPage
from bot.engine.engine import Engine
from bot.metrics import JobStateCollector
from bot.providers.http import VendorHttp
from bot.providers.registry import build_provider
from storage import jobs, ledger
from storage.db import Database
from tests.fakes.nanophoto import FakeNanophoto

TARGET_READ = 0.005  # seconds, every member-triggered read
TARGET_STALL = 0.050  # seconds, the export's longest loop stall
UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's default attachment limit


class FixedClock:
    """The data's "now", so the caps' "today" is the day the data was built for."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class Op:
    name: str
    member: bool  # a member's command triggers it: held to the 5 ms target
    after: Call
    before: Call
    reps: int = 30
    times: dict[str, list[float]] = field(default_factory=lambda: {"after": [], "before": []})


def operations(
    shape: Shape, new: Database, before: old.OldDatabase, engine: Engine, pages: dict[str, HistoryPage]
) -> list[Op]:
    g, u = shape.heavy_guild, shape.heavy_member
    credits = Credits(new, engine)
    old_balance, old_caps, old_list = old.operations(before, g, u, shape.now)

    def page(n: int, name: str) -> Call:
        return lambda: credits.history(g, u, n, actor_id=u, is_manager=False, beside=pages.get(name))

    last = pages["last-1"].page + 1
    return [
        Op(
            "balance (heavy member)",
            True,
            lambda: credits.balance(g, u, actor_id=u, is_manager=False),
            old_balance,
        ),
        Op("history, first page", True, page(0, ""), lambda: old.history(before, g, u, 0)),
        Op("history, next page", True, page(1, "0"), lambda: old.history(before, g, u, 1)),
        Op(
            "history, page 1,000 (from 999)", True, page(1000, "999"), lambda: old.history(before, g, u, 1000)
        ),
        Op(
            f"history, last page ({last + 1:,})",
            True,
            page(last, "last-1"),
            lambda: old.history(before, g, u, last),
        ),
        Op(
            "/jobs list (own)",
            True,
            lambda: member_jobs.listing(engine, g, u, everyone=False, is_manager=False),
            lambda: old_list(False),
        ),
        Op(
            "/jobs list all (manager)",
            True,
            lambda: member_jobs.listing(engine, g, u, everyone=True, is_manager=True),
            lambda: old_list(True),
        ),
        Op(
            "caps + credits before deferring",
            True,
            lambda: engine.admission.precheck(g, u, Quote("nano", "m", 1)),
            old_caps,
        ),
        Op(
            "metrics scrape (jobs by state)",
            False,
            JobStateCollector(new).refresh,
            JobStateCollector(before).refresh,
        ),  # type: ignore[arg-type]
        Op(
            "start-up: undelivered scan",
            False,
            lambda: jobs.undelivered(new),
            lambda: jobs.undelivered(before),
        ),  # type: ignore[arg-type]
        Op("start-up: active jobs", False, lambda: jobs.active(new), lambda: jobs.active(before)),  # type: ignore[arg-type]
        Op("doctor: ledger check", False, lambda: doctor_new(new), lambda: doctor_old(before), reps=3),
    ]


async def doctor_new(db: Database) -> None:
    await ledger.invariant_violations(db)
    await jobs.count_active(db)


async def doctor_old(db: old.OldDatabase) -> None:
    await old.invariant_violations(db)
    await jobs.count_active(db)  # type: ignore[arg-type]


def ms(x: float) -> str:
    return f"{1000 * x:.2f}"


def p90(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(0.9 * len(xs)) - 1)]


async def measure(quick: bool, say: Callable[[str], None]) -> None:
    shape = await ensure()
    with tempfile.TemporaryDirectory(prefix="bench-size-") as name:
        tmp = Path(name)
        after_path, before_path = tmp / "after.db", tmp / "before.db"
        shutil.copy(shape.path, after_path)
        shutil.copy(shape.path, before_path)
        old.revert_indexes(before_path)
        new = await Database.open(after_path, migrate=False)
        before = await old.OldDatabase.open(before_path)
        try:
            async with FakeNanophoto() as vendor, VendorHttp() as http:
                profile = vendor.profile(name="nano")
                engine = Engine(
                    new,
                    {"nano": profile},
                    {"nano": build_provider(profile, http)},
                    clock=FixedClock(shape.now),
                )
                await run(shape, new, before, engine, quick, say)
        finally:
            await new.close()
            await before.close()


async def run(
    shape: Shape,
    new: Database,
    before: old.OldDatabase,
    engine: Engine,
    quick: bool,
    say: Callable[[str], None],
) -> None:
    g, u = shape.heavy_guild, shape.heavy_member
    credits = Credits(new, engine)
    first = await credits.history(g, u, 0, actor_id=u, is_manager=False)
    pages = {"0": first, "999": await credits.history(g, u, 999, actor_id=u, is_manager=False)}
    pages["last-1"] = await credits.history(g, u, first.pages - 2, actor_id=u, is_manager=False)
    ops = operations(shape, new, before, engine, pages)
    for op in ops:
        await op.after()  # warm the page cache on both sides
        await op.before()
        for i in range(3 if quick else op.reps):
            for side in ("after", "before") if i % 2 == 0 else ("before", "after"):
                op.times[side].append(await timed(getattr(op, side)))
    say(
        f"size: {shape.path.name}, heavy member {u} in server {g}, the data's day {datetime.fromtimestamp(shape.now, UTC).date()}"
    )
    rows = []
    for op in ops:
        a, b = op.times["after"], op.times["before"]
        ok = "met" if statistics.median(a) < TARGET_READ else "NOT MET"
        rows.append(
            (
                op.name,
                ms(statistics.median(b)),
                ms(p90(b)),
                ms(statistics.median(a)),
                ms(p90(a)),
                f"{statistics.median(a) / statistics.median(b):.3f}",
                "< 5 ms " + ok if op.member else "",
            )
        )
    rows.extend(await exports(shape, new, before, credits, quick))
    rows.append(await contended(shape, new, before, credits))
    say(table(rows))


async def exports(
    shape: Shape, new: Database, before: old.OldDatabase, credits: Credits, quick: bool
) -> list[tuple[str, ...]]:
    g, u = shape.heavy_guild, shape.heavy_member
    today = datetime.fromtimestamp(shape.now, UTC).date()
    span = await credits.export_span(g, None, None, is_manager=True, today=today)
    out: list[tuple[str, ...]] = []
    for limit, label in ((UPLOAD_LIMIT, "10 MiB limit"), (2 << 20, "2 MiB limit: gzip")):
        results: dict[str, list[tuple[float, float, float]]] = {"after": [], "before": []}
        facts: list[str] = []

        async def after(limit: int = limit, facts: list[str] = facts) -> None:
            done = await credits.export(span, upload_limit=limit)
            facts[:] = [f"{done.rows:,} rows, {done.size / 1e6:.1f} MB{' gz' if done.compressed else ''}"]
            done.discard()

        for _ in range(1 if quick else 3):
            results["after"].append(
                await during(after, lambda: credits.balance(g, u, actor_id=u, is_manager=False))
            )
            results["before"].append(
                await during(
                    lambda: old.export(before, g, span.start, span.end), lambda: old.held(before, g, u)
                )
            )
        med = {side: [statistics.median(r[i] for r in results[side]) for i in range(3)] for side in results}
        a, b = med["after"], med["before"]
        out.append(
            (
                f"export, largest server ({label}; {facts[0]})",
                ms(b[0]),
                "",
                ms(a[0]),
                "",
                f"{a[0] / b[0]:.3f}",
                "",
            )
        )
        out.append(
            (
                "  its longest event-loop stall",
                ms(b[1]),
                "",
                ms(a[1]),
                "",
                f"{a[1] / b[1]:.3f}",
                "< 50 ms " + ("met" if a[1] < TARGET_STALL else "NOT MET"),
            )
        )
        out.append(
            ("  a balance read during it, worst", ms(b[2]), "", ms(a[2]), "", f"{a[2] / b[2]:.3f}", "")
        )
    return out


async def contended(
    shape: Shape, new: Database, before: old.OldDatabase, credits: Credits
) -> tuple[str, ...]:
    """A balance read issued while another command's write transaction is open for 20 ms."""
    g, u = shape.heavy_guild, shape.heavy_member
    sql = "UPDATE balances SET balance = balance WHERE guild_id = ? AND user_id = ?"
    waits: dict[str, list[float]] = {"after": [], "before": []}
    for _ in range(10):
        for side, db in (("after", new), ("before", before)):
            opened = asyncio.Event()

            async def writer(db: Database | old.OldDatabase = db, opened: asyncio.Event = opened) -> None:
                async with db.transaction() as tx:
                    await tx.execute(sql, (g, u))
                    opened.set()
                    await asyncio.sleep(0.02)

            task = asyncio.get_running_loop().create_task(writer())
            await opened.wait()
            read = (
                (lambda: credits.balance(g, u, actor_id=u, is_manager=False))
                if side == "after"
                else (lambda: old.held(before, g, u))
            )
            waits[side].append(await timed(read))
            await task
    a, b = statistics.median(waits["after"]), statistics.median(waits["before"])
    return ("balance read during a 20 ms write", ms(b), "", ms(a), "", f"{a / b:.3f}", "")


def table(rows: list[tuple[str, ...]]) -> str:
    heads = ("operation (ms)", "before p50", "before p90", "after p50", "after p90", "after÷before", "target")
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(heads), "-" * (sum(widths) + 2 * (len(widths) - 1)), *map(line, rows)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.size", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three repetitions instead of thirty")
    args = parser.parse_args(argv)
    logging.getLogger("bot").setLevel(logging.ERROR)
    started = time.perf_counter()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(measure(args.quick, lambda text: print(text, flush=True)))
    print(f"(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
