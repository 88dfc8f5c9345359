"""Ledger benchmark: hold→capture throughput and latency, ours against a naive autocommit ledger.

Why: every generation the bot runs costs two ledger writes (the hold, inside the transaction that
inserts the job, and the capture or release when it ends). ``storage.ledger`` buys its guarantees
— BEGIN IMMEDIATE transactions serialized by an asyncio lock on one connection — with throughput,
so this measures what that costs and what it buys:

* **ours**: the real ``storage.jobs.insert`` + ``storage.ledger.hold`` in one ``Database.transaction()``,
  then ``storage.ledger.capture`` in another;
* **naive**: the same schema on a second fresh file, written like an autocommit bank — ``SELECT
  balance``, then ``UPDATE balances SET balance = <value computed in Python>``, then ``INSERT`` the
  entry, each statement its own implicit transaction, no lock, the job row inserted on its own.

Each concurrency level runs N operations (an operation is one hold or one capture, i.e. one of the
two writes a job costs) split across that many asyncio tasks. In the *own balance* scenario every
task is a different member; in the *shared balance* scenario all tasks charge the same member (one
member with many jobs in flight — a double-click, a team account). Latency is per operation,
including the wait for the write lock. After each run the balances are audited: ``lost`` counts
credits a member was charged in the entries but not in the balance (a read-then-write that another
task's write overwrote), ``bad`` counts members whose balance differs from the sum of their entries.
Every level is repeated for a few rounds, ours and naive back to back on fresh files, and the median
rate is reported, so that a burst of other work on the machine does not decide the comparison.
The naive ledger may be faster; it is also wrong as soon as two writes to one balance overlap, and a
crash between its job insert and its hold leaves a job nobody paid for.

The target (≥ 2,000 ops/s at every level) is generous next to the real load — a busy guild makes a
few jobs a minute — so that the ledger never becomes the reason an interaction misses Discord's
3-second acknowledgement.

Run: ``python -m bench.ledger [--ops N] [--rounds R]`` from the repository root (or ``python -m bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from storage import jobs, ledger
from storage.db import BUSY_TIMEOUT_MS, Database

LEVELS = (1, 8, 64)
DEFAULT_OPS = 2000
DEFAULT_ROUNDS = 3
COST = 1
HEADROOM = 1000  # credits left over, so no hold is ever refused
TARGET_OPS = 2000
GUILD = 1

JOB: dict[str, Any] = {
    "channel_id": 2,
    "profile": "bench",
    "kind": "text",
    "model": "sora-2",
    "duration": 4,
    "request_json": '{"prompt": "bench"}',
    "cost": COST,
}


@dataclass
class Run:
    ops: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    bad: int = 0

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Series:
    """The same measurement repeated over rounds: the median rate, latencies and audits pooled."""

    runs: list[Run] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.runs)

    @property
    def ops(self) -> int:
        return sum(r.ops for r in self.runs)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.runs)

    @property
    def bad(self) -> int:
        return sum(r.bad for r in self.runs)

    def pct(self, p: float) -> float:
        return Run(latencies=[x for r in self.runs for x in r.latencies]).pct(p)


# --- the two ledgers --------------------------------------------------------------------------


async def ours_cycle(db: Database, user_id: int, latencies: list[float]) -> None:
    started = time.perf_counter()
    async with db.transaction() as tx:
        job_id = await jobs.insert(tx, guild_id=GUILD, user_id=user_id, **JOB)
        await ledger.hold(tx, GUILD, user_id, job_id, COST)
    held = time.perf_counter()
    async with db.transaction() as tx:
        await ledger.capture(tx, job_id)
    latencies += [held - started, time.perf_counter() - held]


async def naive_cycle(conn: aiosqlite.Connection, user_id: int, latencies: list[float]) -> None:
    started = time.perf_counter()
    job_id = await jobs.insert(conn, guild_id=GUILD, user_id=user_id, **JOB)
    async with conn.execute(
        "SELECT balance FROM balances WHERE guild_id = ? AND user_id = ?", (GUILD, user_id)
    ) as cur:
        row = await cur.fetchone()
    current = int(row[0]) if row else 0
    if current < COST:
        raise ledger.NotEnoughCredits(current, COST)
    await conn.execute(
        "UPDATE balances SET balance = ? WHERE guild_id = ? AND user_id = ?", (current - COST, GUILD, user_id)
    )
    await conn.execute(
        "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, created_at)"
        " VALUES (?, ?, 'hold', ?, ?, ?)",
        (GUILD, user_id, -COST, job_id, time.time()),
    )
    held = time.perf_counter()
    async with conn.execute(
        "SELECT guild_id, user_id FROM ledger_entries WHERE job_id = ? AND kind = 'hold'", (job_id,)
    ) as cur:
        hold_row = await cur.fetchone()
    async with conn.execute(
        "SELECT 1 FROM ledger_entries WHERE job_id = ? AND kind IN ('capture', 'release')", (job_id,)
    ) as cur:
        settled = await cur.fetchone()
    if hold_row is not None and settled is None:
        await conn.execute(
            "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, created_at)"
            " VALUES (?, ?, 'capture', 0, ?, ?)",
            (hold_row[0], hold_row[1], job_id, time.time()),
        )
    latencies += [held - started, time.perf_counter() - held]


# --- one measured run -------------------------------------------------------------------------


async def _drive(
    cycle: Callable[[int, list[float]], Awaitable[None]], users: list[int], cycles: int, run: Run
) -> None:
    async def member(user_id: int) -> None:
        for _ in range(cycles):
            await cycle(user_id, run.latencies)

    started = time.perf_counter()
    await asyncio.gather(*(member(u) for u in users))
    run.seconds = time.perf_counter() - started
    run.ops = len(run.latencies)


async def _grant_all(db: Database, charges: dict[int, int]) -> None:
    async with db.transaction() as tx:
        for user_id, n in charges.items():
            await ledger.grant(tx, GUILD, user_id, n * COST + HEADROOM, actor_id=None, reason="bench")


async def _audit(path: Path, charges: dict[int, int], run: Run) -> None:
    """Count lost updates (balance higher than the entries say) and balances that disagree."""
    db = await Database.open(path, migrate=False)
    try:
        run.bad = len(await ledger.invariant_violations(db))
        for user_id in charges:
            # Granted n*COST + HEADROOM, charged n holds of COST: HEADROOM is what must be left.
            actual = await ledger.balance(db, GUILD, user_id)
            assert actual >= HEADROOM, "a ledger charged more than it held"
            run.lost += (actual - HEADROOM) // COST
    finally:
        await db.close()


def _plan(concurrency: int, total_ops: int, shared: bool) -> tuple[list[int], int, dict[int, int]]:
    cycles = max(1, math.ceil(total_ops / 2 / concurrency))
    users = [100] * concurrency if shared else [100 + i for i in range(concurrency)]
    charges: dict[int, int] = {}
    for user_id in users:
        charges[user_id] = charges.get(user_id, 0) + cycles
    return users, cycles, charges


async def run_ours(path: Path, concurrency: int, total_ops: int, shared: bool) -> Run:
    users, cycles, charges = _plan(concurrency, total_ops, shared)
    run = Run()
    db = await Database.open(path)
    try:
        await _grant_all(db, charges)
        await _drive(lambda u, lat: ours_cycle(db, u, lat), users, cycles, run)
    finally:
        await db.close()
    await _audit(path, charges, run)
    return run


async def run_naive(path: Path, concurrency: int, total_ops: int, shared: bool) -> Run:
    users, cycles, charges = _plan(concurrency, total_ops, shared)
    run = Run()
    db = await Database.open(path)  # the same schema, then set aside
    try:
        await _grant_all(db, charges)
    finally:
        await db.close()
    conn = await aiosqlite.connect(path, isolation_level=None)  # autocommit: every statement commits
    try:
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "synchronous=NORMAL",
        ):
            await conn.execute(f"PRAGMA {pragma}")
        await _drive(lambda u, lat: naive_cycle(conn, u, lat), users, cycles, run)
    finally:
        await conn.close()
    await _audit(path, charges, run)
    return run


# --- the report -------------------------------------------------------------------------------


Row = tuple[str, int, Series, Series]


async def measure(total_ops: int, rounds: int) -> list[Row]:
    """Every level, ours then naive on fresh files, round after round (interference hits both alike)."""
    plans = [("own", c) for c in LEVELS] + [("shared", c) for c in LEVELS if c > 1]
    rows: list[Row] = [(f"{scenario} balance", c, Series(), Series()) for scenario, c in plans]
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        for round_no in range(rounds):
            for n, ((scenario, concurrency), (_, _, ours, naive)) in enumerate(zip(plans, rows, strict=True)):
                shared = scenario == "shared"
                name = f"{round_no}-{n}.db"
                ours.runs.append(await run_ours(Path(tmp) / f"ours-{name}", concurrency, total_ops, shared))
                naive.runs.append(
                    await run_naive(Path(tmp) / f"naive-{name}", concurrency, total_ops, shared)
                )
    return rows


def report(rows: list[Row], total_ops: int, rounds: int) -> str:
    header = (
        f"{'scenario':<15} {'conc':>4} {'ops':>5} | {'ours ops/s':>10} {'naive ops/s':>11} {'ratio':>6} |"
        f" {'ours p50/p99 ms':>16} {'naive p50/p99 ms':>17} |"
        f" {'ours lost/bad':>13} {'naive lost/bad':>14}"
    )
    lines = [
        f"ledger bench: hold→capture, {rounds} rounds x {total_ops} ops per level"
        f" (op = one hold or one capture); ops/s = median of rounds, latencies over all rounds",
        header,
        "-" * len(header),
    ]
    for scenario, concurrency, ours, naive in rows:
        ratio = ours.rate / naive.rate if naive.rate else math.inf
        lines.append(
            f"{scenario:<15} {concurrency:>4} {ours.ops:>5} | {ours.rate:>10,.0f} {naive.rate:>11,.0f}"
            f" {ratio:>5.2f}x |"
            f" {f'{ours.pct(50):.2f}/{ours.pct(99):.2f}':>16} {f'{naive.pct(50):.2f}/{naive.pct(99):.2f}':>17} |"
            f" {f'{ours.lost}/{ours.bad}':>13} {f'{naive.lost}/{naive.bad}':>14}"
        )
    slowest = min(ours.rate for _, _, ours, _ in rows)
    lines.append(
        "lost = credits held in the entries but never taken from the balance (overwritten read-then-write);"
        " bad = members whose balance != sum of their entries"
    )
    lines.append(
        f"target ≥ {TARGET_OPS:,} ops/s: {'met' if slowest >= TARGET_OPS else 'not met'}"
        f" (slowest level: {slowest:,.0f} ops/s)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=DEFAULT_OPS, help="operations per level and round")
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds (the median rate is reported)"
    )
    args = parser.parse_args(argv)
    print(f"sqlite {sqlite3.sqlite_version}, aiosqlite {aiosqlite.__version__}", flush=True)
    started = time.perf_counter()
    rows = asyncio.run(measure(args.ops, args.rounds))
    print(report(rows, args.ops, args.rounds))
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
