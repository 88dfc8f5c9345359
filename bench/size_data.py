"""The database ``bench.size`` measures: 1M ledger entries, 100k jobs, 5,000 members, one heavy member.

Shape (the issue's): 50 servers of 100 members. Every member but one has 11 jobs and about three years
of weekly allowance grants (158 entries); the heavy member — server 0, member 0 — has 45,000 jobs and
enough grants to make 100,000 entries, so server 0 is the largest (~118k entries, the export's case).
Ids follow time, as they do in production. A few hundred jobs are still active (the heavy member has
three, all today, under server 0's caps) and twenty finished jobs were never delivered. Balances are
the sums of the entries, so ``doctor``'s check finds nothing wrong and has to read everything to know.

Built once with plain ``sqlite3`` (``executemany`` in one transaction, journal off) on the schema the
real migrations make, then switched to WAL; the file is cached under the temp folder, keyed by the
shape and the migrations' text, so a second run starts at once.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from storage.db import Database

SHAPE = "v2"
GUILDS = 50
MEMBERS_PER_GUILD = 100
JOBS_PER_MEMBER = 11
GRANTS_PER_MEMBER = 158  # three years of weekly allowances
TOTAL_JOBS = 100_000
TODAY = 50  # the heavy member's jobs today (the daily-spend cap reads them); the last three still run
HEAVY_JOBS = TOTAL_JOBS - (GUILDS * MEMBERS_PER_GUILD - 1) * JOBS_PER_MEMBER - TODAY
TOTAL_ENTRIES = 1_000_000
ACTIVE_JOBS = 300
UNDELIVERED = 20
SPAN = 3 * 365 * 86400.0
STATES = (("succeeded", 0.80), ("failed", 0.10), ("timed_out", 0.03), ("cancelled", 0.07))
REQUEST = '{"kind": "text", "prompt": "a paper boat on a rainy street", "duration": 10}'


@dataclass(frozen=True)
class Shape:
    """What the benchmark needs to know about the data it measures."""

    path: Path
    heavy_guild: int
    heavy_member: int
    now: float  # the data's "now": the heavy member's last jobs are today


def guild_id(g: int) -> int:
    return 1_000 + g


def member_id(g: int, k: int) -> int:
    return 100_000 + g * MEMBERS_PER_GUILD + k


def _key() -> str:
    digest = hashlib.sha256(SHAPE.encode())
    for entry in sorted(resources.files("storage").joinpath("migrations").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            digest.update(entry.name.encode() + entry.read_bytes())
    return digest.hexdigest()[:16]


def _jobs(rng: random.Random, now: float) -> list[tuple[float, int, int, int]]:
    """(created_at, guild, member, cost) for every job, oldest first."""
    out: list[tuple[float, int, int, int]] = []
    start = now - SPAN
    for g in range(GUILDS):
        for k in range(MEMBERS_PER_GUILD):
            n = HEAVY_JOBS if (g, k) == (0, 0) else JOBS_PER_MEMBER
            for _ in range(n):
                out.append(
                    (start + rng.random() * (SPAN - 86400), guild_id(g), member_id(g, k), rng.randint(4, 10))
                )
    for i in range(TODAY):
        out.append((now - 3600 + i * 60, guild_id(0), member_id(0, 0), 4))
    out.sort()
    return out


def build(path: Path, now: float) -> None:
    """Write the whole data set into ``path`` (a freshly migrated database file)."""
    rng = random.Random(16)
    jobs = _jobs(rng, now)
    heavy = member_id(0, 0)
    assert len(jobs) == TOTAL_JOBS
    others = [i for i, job in enumerate(jobs, start=1) if job[2] != heavy]
    active_ids = set(rng.sample(others, ACTIVE_JOBS - 3))
    active_ids |= {len(jobs) - 2, len(jobs) - 1, len(jobs)}  # the heavy member's three newest jobs
    undelivered = set(rng.sample(sorted(set(range(1, len(jobs))) - active_ids), UNDELIVERED))
    job_rows = []
    entries: list[tuple[float, int, int, str, int, int | None, str | None]] = []
    spent: dict[tuple[int, int], int] = {}
    for job_id, (created, g, u, cost) in enumerate(jobs, start=1):
        state = "running" if job_id in active_ids else rng.choices(*zip(*STATES, strict=True))[0]
        done = None if state == "running" else created + 120
        delivered = None if state == "running" or job_id in undelivered else created + 125
        job_rows.append(
            (
                job_id,
                g,
                7,
                u,
                "nano",
                "text",
                "sora2",
                10,
                REQUEST,
                cost,
                state,
                1,
                delivered,
                created,
                created + 5,
                done,
                created,
            )
        )
        entries.append((created, g, u, "hold", -cost, job_id, None))
        if state == "succeeded":
            entries.append((created + 120, g, u, "capture", 0, job_id, None))
            spent[g, u] = spent.get((g, u), 0) + cost
        elif state != "running":
            entries.append((created + 120, g, u, "release", cost, job_id, state))
        else:
            spent[g, u] = spent.get((g, u), 0) + cost
    members = [(guild_id(g), member_id(g, k)) for g in range(GUILDS) for k in range(MEMBERS_PER_GUILD)]
    per_member = {m: GRANTS_PER_MEMBER for m in members}
    per_member[guild_id(0), heavy] = 0
    per_member[guild_id(0), heavy] = TOTAL_ENTRIES - len(entries) - sum(per_member.values())
    for (g, u), n in per_member.items():
        amount = max(50, -(-(spent.get((g, u), 0) + 50) // max(n, 1)))
        for i in range(n):
            entries.append(
                (now - SPAN + (i + rng.random()) * (SPAN / n), g, u, "grant", amount, None, "allowance")
            )
    entries.sort(key=lambda e: e[0])
    balances: dict[tuple[int, int], int] = {}
    for _, g, u, _kind, amount, _, _ in entries:
        balances[g, u] = balances.get((g, u), 0) + amount
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO jobs (id, guild_id, channel_id, user_id, profile, kind, model, duration, request_json,"
            " cost, state, message_id, delivered_at, created_at, submitted_at, finished_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            job_rows,
        )
        conn.executemany(
            "INSERT INTO ledger_entries (created_at, guild_id, user_id, kind, amount, job_id, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            entries,
        )
        conn.executemany(
            "INSERT INTO balances (guild_id, user_id, balance) VALUES (?, ?, ?)",
            [(g, u, b) for (g, u), b in balances.items()],
        )
        conn.execute(
            "INSERT INTO guild_settings (guild_id, allowance_amount, allowance_period, max_active_per_member,"
            " max_active_per_server, max_daily_spend_per_member, updated_at) VALUES (?, 50, 'week', 5, 1000, 100000, ?)",
            (guild_id(0), now),
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


async def _fresh_schema(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


async def ensure(folder: Path | None = None) -> Shape:
    """The cached data set, built first if this shape and these migrations have none yet."""
    folder = folder or Path(tempfile.gettempdir()) / "soracord-bench-size"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"size-{_key()}.db"
    stamp = path.with_suffix(".now")
    if not path.exists() or not stamp.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".part")
        for leftover in (
            partial,
            partial.with_name(partial.name + "-wal"),
            partial.with_name(partial.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        await _fresh_schema(partial)
        now = time.time()
        build(partial, now)
        partial.rename(path)
        stamp.write_text(repr(now))
        print(f"(built {path} in {time.perf_counter() - started:.1f} s)", flush=True)
    return Shape(path, guild_id(0), member_id(0, 0), float(stamp.read_text()))
