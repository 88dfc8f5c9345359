"""``python -m bot migrate --to URL``: SQLite to PostgreSQL keeps every balance, or changes nothing.

The big test is issue 15's own: 100,000 ledger entries across 2,000 members in four servers, jobs in
every state, settings, outboxes and the rest of the tables — copied, then every table compared row
by row, every balance equal, the ledger check passing, and the ids going on where they stopped.
The data is written straight in SQL in one transaction (seconds, not minutes), consistent with the
ledger's invariants; a few rows go in through the repositories themselves, so the test notices if
they start writing something the copy does not expect.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.instance import InstanceLock, lock_path
from bot.ops import pg_values
from bot.ops.migrate_error import MigrateError
from bot.ops.migrate_to import copy_to
from bot.ops.urls_shown import scrub, shown_url
from storage import (
    allowances,
    call_log,
    engine_state,
    grant_notices,
    guilds,
    jobs,
    ledger,
    model_status,
    outbox,
    posts,
)
from storage.db import Database, latest_version
from storage.grant_notices import GrantNotice
from storage.guilds import GuildSettings

ROOT = Path(__file__).resolve().parents[2]
GUILDS = [100_000_000_000_000_001 + 10**16 * k for k in range(4)]  # Discord-sized: BIGINT on PostgreSQL
MEMBERS_PER_GUILD = 500
SETTLED_JOBS = 23  # + 1 active, 2 grants and 1 adjustment: 50 entries a member
ENDED = ["succeeded", "succeeded", "failed", "timed_out", "cancelled"]
ACTIVE = ["queued", "submitting", "running"]
MANAGER = 900_000_000_000_000_009
TABLES = [  # every one of these gets rows; tables added since are compared too, empty or not
    "allowance_grants",
    "balances",
    "deliveries",
    "engine_alive",
    "grant_notices",
    "guild_settings",
    "jobs",
    "key_calls",
    "ledger_entries",
    "model_notices",
    "model_outages",
    "posts",
]


def _job(
    job_id: int, guild: int, user: int, cost: int, state: str, at: float, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": job_id,
        "guild_id": guild,
        "channel_id": guild + 7,
        "user_id": user,
        "profile": "nano",
        "kind": "text" if job_id % 3 else "tvc",
        "model": "sora-2",
        "duration": 10,
        "request_json": '{"prompt": "一只猫 in the rain"}',
        "cost": cost,
        "state": state,
        "created_at": at,
        "updated_at": at + 1.5,
        "polls": job_id % 9,
        "progress_pct": None if state == "queued" else 40,
        "remote_id": None if state in ("queued", "submitting") else f"task-{job_id}",
        "finished_at": at + 60.25 if state in ENDED else None,
        "error_code": "vendor" if state == "failed" else None,
        "message_id": 5_000_000_000_000_000 + job_id,
        "delivered_at": at + 61 if state == "succeeded" else None,
        "generation_seconds": 42.5 if state == "succeeded" else None,
    }
    row.update(extra)
    return row


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows of one table, each with the same columns as the first (``None`` where one has none)."""
    if not rows:
        return
    cols = sorted({c for r in rows for c in r})
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [tuple(r.get(c) for c in cols) for r in rows],
    )


class _Clock:
    """Time moving on half a second per entry, as a busy ledger's would."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0


class _Account:
    """One member's entries as they are written, and the balance they add up to."""

    def __init__(self, guild: int, user: int, out: list[tuple[Any, ...]], clock: _Clock) -> None:
        self.guild, self.user, self.out, self.clock = guild, user, out, clock
        self.balance = 0

    def entry(
        self,
        kind: str,
        amount: int,
        job: int | None = None,
        actor: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.clock.now += 0.5
        self.balance += amount
        self.out.append((self.guild, self.user, kind, amount, job, actor, reason, self.clock.now))


def build_big(path: Path) -> dict[str, int]:
    """The 100,000-entry ledger straight in SQL, one transaction; returns the ids it ended at."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("BEGIN")
    job_rows: list[dict[str, Any]] = []
    entries: list[tuple[Any, ...]] = []
    balances: list[tuple[int, int, int]] = []
    deliveries: list[dict[str, Any]] = []
    post_rows: list[dict[str, Any]] = []
    job_id = 0
    clock = _Clock()
    for g, guild in enumerate(GUILDS):
        for m in range(MEMBERS_PER_GUILD):
            user = 200_000_000_000_000_000 + g * 10_000 + m
            account = _Account(guild, user, entries, clock)
            entry = account.entry
            entry("grant", 1000, reason="welcome")
            entry("grant", 500, actor=MANAGER, reason="月度 top-up")
            entry("adjust", -1, actor=MANAGER, reason="correction")
            for i in range(SETTLED_JOBS + 1):
                job_id += 1
                cost = 1 + (job_id % 7)
                state = ENDED[(m + i) % len(ENDED)] if i < SETTLED_JOBS else ACTIVE[m % len(ACTIVE)]
                riff = job_id - 1 if i and job_id % 10 == 0 else None  # Again on the member's last job
                job_rows.append(_job(job_id, guild, user, cost, state, clock.now, riff_of=riff))
                entry("hold", -cost, job_id)
                if state == "succeeded":
                    entry("capture", 0, job_id)
                    if job_id % 4 == 0:
                        deliveries.append(
                            {
                                "job_id": job_id,
                                "nonce": f"n{job_id}",
                                "state": ["pending", "claimed", "sent"][job_id % 3],
                                "attempts": job_id % 3,
                                "message_id": 7_000_000_000_000_000 + job_id if job_id % 3 == 2 else None,
                                "created_at": clock.now,
                            }
                        )
                    if job_id % 8 == 0:
                        post_rows.append(
                            {
                                "job_id": job_id,
                                "kind": "gallery",
                                "channel_id": guild + 9,
                                "nonce": f"g{job_id}",
                                "state": ["pending", "claimed", "sent", "dropped"][job_id % 4],
                                "created_at": clock.now,
                            }
                        )
                elif state in ENDED:
                    entry("release", cost, job_id, reason="the vendor failed")
            balances.append((guild, user, account.balance))
    _insert(conn, "jobs", job_rows)
    conn.execute("UPDATE jobs SET riff_of = ? WHERE id = 5", (job_id,))  # points forward: set after the copy
    conn.execute("UPDATE jobs SET error_message = ? WHERE id = 7", ("a NUL \x00 in the vendor's words",))
    t = clock.now
    entry_id = len(entries)
    conn.executemany(
        "INSERT INTO ledger_entries (id, guild_id, user_id, kind, amount, job_id, actor_id, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(n, *e) for n, e in enumerate(entries, 1)],
    )
    conn.executemany("INSERT INTO balances (guild_id, user_id, balance) VALUES (?, ?, ?)", balances)
    _insert(conn, "deliveries", deliveries)
    _insert(conn, "posts", post_rows)
    for g, guild in enumerate(GUILDS[1:]):
        conn.execute(
            "INSERT INTO guild_settings (guild_id, price_multiplier, allowance_amount, allowance_period,"
            " allowed_channels, result_in_card, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (guild, 1.25 + g, 100, "week", f"[{guild + 7}]", g % 2, t),
        )
    _insert(
        conn,
        "allowance_grants",
        [
            {
                "guild_id": GUILDS[1],
                "user_id": 200_000_000_000_010_000 + m,
                "period": "2026-W01",
                "granted_at": t,
            }
            for m in range(50)
        ],
    )
    _insert(
        conn,
        "model_notices",
        [{"guild_id": GUILDS[0], "profile": "nano", "model": "sora-2", "day": "2026-09-24"}],
    )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "engine_processes" in tables:  # 015_leases: the processes sharing a PostgreSQL database
        _insert(
            conn, "engine_processes", [{"owner": "gw-1", "role": "gateway", "started_at": t, "until": t + 30}]
        )
        conn.execute(
            "UPDATE jobs SET lease_owner = 'gw-1', lease_epoch = 3 WHERE state IN ('running', 'queued')"
        )
    if "key_budgets" in tables:  # 016_key_budgets
        _insert(conn, "key_budgets", [{"key_id": "key-1a2b", "per_hour": 100}])
    conn.execute("COMMIT")
    conn.close()
    return {"jobs": job_id, "ledger_entries": entry_id}


async def through_repositories(db: Database) -> None:
    """A few rows written the way the bot writes them: a grant with its notice, a job held, trimmed
    and captured, one released, an allowance claim, the outboxes, settings, outages, calls, the beat."""
    guild, user = 555_000_000_000_000_555, 666_000_000_000_000_666
    now = time.time()
    async with db.transaction() as tx:
        await ledger.grant(tx, guild, user, 80, actor_id=MANAGER, reason="for the launch")
        await grant_notices.add_in(tx, GrantNotice(guild, user, MANAGER, 80, "for the launch", now))
        await allowances.claim_in(tx, guild, user, "2026-05", now)
        done = await jobs.insert(
            tx,
            guild_id=guild,
            channel_id=1,
            user_id=user,
            profile="nano",
            kind="text",
            model="veo-3.1",
            duration=8,
            request_json="{}",
            cost=30,
            state="succeeded",
        )
        await ledger.hold(tx, guild, user, done, 30)
        await ledger.trim_hold(tx, done, 20, "moved to a cheaper model")
        await ledger.capture(tx, done)
        failed = await jobs.insert(
            tx,
            guild_id=guild,
            channel_id=1,
            user_id=user,
            profile="nano",
            kind="image",
            model="veo-3.1",
            duration=8,
            request_json="{}",
            cost=5,
            state="failed",
            riff_of=done,
        )
        await ledger.hold(tx, guild, user, failed, 5)
        await ledger.release(tx, failed, "the vendor failed")
        await ledger.adjust(tx, guild, user, -3, actor_id=MANAGER, reason="a refund taken back")
    await outbox.claim(db, done, nonce=lambda: "repo-nonce", now=now)
    await posts.plan(db, done, "gallery", 42, nonce="repo-gallery", now=now)
    await guilds.save(
        db,
        GuildSettings(
            GUILDS[0],
            price_multiplier=2.0,
            prices={"nano:sora-2:10": 7},
            fallbacks={"text": ("alt",)},
            result_in_card=True,
            confirm_above=0,
        ),
    )
    await model_status.mark(db, "nano", "sora-2", now, "model_gone")
    await call_log.reserve(db, "key-1a2b", now, 100, 3600.0)
    await engine_state.beat(db, now)


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    """The big SQLite database, built once for the module (the tests only read it)."""
    path = tmp_path_factory.mktemp("big") / "soracord.db"

    async def make() -> dict[str, int]:
        db = await Database.open(path)
        await db.close()
        last = build_big(path)
        db = await Database.open(path)
        try:
            await through_repositories(db)
        finally:
            await db.close()
        return last

    yield path, asyncio.run(make())


def _all_rows(conn: sqlite3.Connection, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
    cols = [d[0] for d in cur.description]
    return cols, [tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in r) for r in cur]


async def test_100k_ledger_entries_keep_every_balance(
    big_source: tuple[Path, dict[str, int]], pg_url: str
) -> None:
    path, last = big_source
    src = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        tables = sorted(
            r[0]
            for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] != "schema_version"
        )
        assert set(TABLES) <= set(tables)
        counts = {t: src.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        assert counts["ledger_entries"] >= 100_000 and all(counts[t] for t in TABLES), counts
        states = {r[0] for r in src.execute("SELECT DISTINCT state FROM jobs")}
        assert states == set(ENDED) | set(ACTIVE)
        before = {t: _all_rows(src, t) for t in tables}
    finally:
        src.close()

    started = time.monotonic()
    summary = await copy_to(path, pg_url)
    took = time.monotonic() - started
    print(
        f"\n100k-entry copy: {summary.rows:,} rows in {took:.2f} s (copy and check {summary.seconds:.2f} s)"
    )

    assert summary.tables == counts
    assert summary.balances == counts["balances"] and summary.entries == counts["ledger_entries"]
    assert summary.source_problems == []
    assert "ledger check passed" in summary.render()

    conn = await asyncpg.connect(pg_url)
    try:
        for table in tables:
            cols, rows = before[table]
            got = [tuple(r) for r in await conn.fetch(f"SELECT {', '.join(cols)} FROM {table}")]
            assert sorted(got, key=repr) == sorted(rows, key=repr), f"{table} differs"
        forward = await conn.fetchval("SELECT riff_of FROM jobs WHERE id = 5")
        assert forward == last["jobs"]
    finally:
        await conn.close()

    db = await Database.open(pg_url)
    try:
        assert await ledger.invariant_violations(db) == []
        for guild, user in [(GUILDS[0], 200_000_000_000_000_000), (GUILDS[3], 200_000_000_000_030_499)]:
            history = await ledger.entries(db, guild, user)
            assert len(history) == 50
            assert await ledger.balance(db, guild, user) == sum(e.amount for e in history) > 0
        # the ids go on where SQLite stopped
        async with db.transaction() as tx:
            new_job = await jobs.insert(
                tx,
                guild_id=GUILDS[0],
                channel_id=1,
                user_id=1,
                profile="nano",
                kind="text",
                model="m",
                duration=4,
                request_json="{}",
                cost=2,
            )
            await ledger.grant(tx, GUILDS[0], 1, 5, actor_id=None, reason="after the move")
            await ledger.hold(tx, GUILDS[0], 1, new_job, 2)
            await grant_notices.add_in(tx, GrantNotice(GUILDS[0], 1, None, 5, "after the move", time.time()))
        assert new_job == last["jobs"] + 3  # the two the repositories wrote come after the big ones
        newest = await db.fetchone("SELECT MAX(id) AS id, COUNT(*) AS n FROM ledger_entries")
        assert newest is not None and newest["n"] == counts["ledger_entries"] + 2
        assert newest["id"] == counts["ledger_entries"] + 2  # contiguous: SQLite's ids had no gaps
        notice = await db.fetchone("SELECT MAX(id) AS id FROM grant_notices")
        assert notice is not None and notice["id"] == 2
        assert await ledger.invariant_violations(db) == []
    finally:
        await db.close()
    assert took < 45, f"the 100k copy took {took:.1f} s"


async def _pg_counts(url: str) -> dict[str, int]:
    """Rows in every table of the target but its own ``schema_version``."""
    conn = await asyncpg.connect(url)
    try:
        names = await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_name != 'schema_version'"
        )
        return {r[0]: int(await conn.fetchval(f"SELECT COUNT(*) FROM {r[0]}")) for r in names}
    finally:
        await conn.close()


@pytest.fixture
async def small_source(tmp_path: Path) -> Path:
    """A database with a little of everything, written through the repositories."""
    path = tmp_path / "data" / "soracord.db"
    db = await Database.open(path)
    try:
        await through_repositories(db)
        async with db.transaction() as tx:
            for i in range(300):
                await ledger.grant(tx, 1, 10 + i % 30, 1 + i, actor_id=None, reason=f"grant {i}")
    finally:
        await db.close()
    return path


async def test_target_with_data_is_refused_and_left_alone(small_source: Path, pg_url: str) -> None:
    target = await Database.open(pg_url)
    try:
        await guilds.save(target, GuildSettings(guild_id=1, price_multiplier=3.0))
    finally:
        await target.close()
    with pytest.raises(MigrateError) as refused:
        await copy_to(small_source, pg_url)
    assert refused.value.exit_code == 2
    assert "guild_settings" in str(refused.value) and "already has data" in str(refused.value)
    counts = await _pg_counts(pg_url)
    assert counts.pop("guild_settings") == 1 and set(counts.values()) == {0}


async def test_a_failure_mid_copy_leaves_the_target_empty(small_source: Path, pg_url: str) -> None:
    seen: list[tuple[str, int]] = []

    def progress(table: str, done: int, total: int) -> None:
        seen.append((table, done))
        if table == "ledger_entries" and done >= 100:
            raise ConnectionResetError("the network went away")

    with pytest.raises(MigrateError) as failed:
        await copy_to(small_source, pg_url, page=50, progress=progress)
    assert failed.value.exit_code == 1 and "rolled back" in str(failed.value)
    assert ("jobs", 2) in seen and ("ledger_entries", 100) in seen  # jobs were in, entries half-way
    assert set((await _pg_counts(pg_url)).values()) == {0}

    # a value PostgreSQL's column cannot take (SQLite's affinity let it in), late in the copy
    conn = sqlite3.connect(small_source)
    conn.execute(
        "UPDATE ledger_entries SET actor_id = 'not a number' WHERE id = (SELECT MAX(id) FROM ledger_entries)"
    )
    conn.commit()
    conn.close()
    with pytest.raises(MigrateError) as unfit:
        await copy_to(small_source, pg_url, page=50)
    assert unfit.value.exit_code == 1
    assert "ledger_entries.actor_id" in str(unfit.value) and "not a number" not in str(unfit.value)
    assert set((await _pg_counts(pg_url)).values()) == {0}
    db = await Database.open(pg_url)  # and the sequences were not moved: the first job is still 1
    try:
        async with db.transaction() as tx:
            first = await jobs.insert(
                tx,
                guild_id=1,
                channel_id=1,
                user_id=1,
                profile="p",
                kind="text",
                model="m",
                duration=4,
                request_json="{}",
                cost=0,
            )
        assert first == 1
    finally:
        await db.close()


async def test_a_running_bot_or_an_old_schema_is_refused(small_source: Path, pg_url: str) -> None:
    with InstanceLock.acquire(small_source, command="run"), pytest.raises(MigrateError) as running:
        await copy_to(small_source, pg_url, lock_wait=0.1)
    assert running.value.exit_code == 2 and "another soracord process" in str(running.value)

    conn = sqlite3.connect(small_source)
    conn.execute("DELETE FROM schema_version WHERE version = ?", (latest_version(),))
    conn.commit()
    conn.close()
    with pytest.raises(MigrateError) as old:
        await copy_to(small_source, pg_url)
    assert old.value.exit_code == 2 and "python -m bot migrate" in str(old.value)
    assert set((await _pg_counts(pg_url)).values()) == {0}

    with pytest.raises(MigrateError) as nothing:
        await copy_to(small_source.with_name("absent.db"), pg_url)
    assert "DATABASE_PATH" in str(nothing.value)
    assert not small_source.with_name("absent.db").exists()


def test_urls_are_shown_without_their_password() -> None:
    url = "postgresql://bot:s3cr%40t-pass@db.example:5432/soracord?sslmode=require"
    assert shown_url(url) == "postgresql://bot:***@db.example:5432/soracord?sslmode=require"
    assert shown_url("postgresql://bot@db/x") == "postgresql://bot@db/x"
    assert "hunter22" not in shown_url("postgresql:///x?host=/run/pg&password=hunter22&user=bot")
    assert "***" in shown_url("postgresql:///x?host=/run/pg&password=hunter22&user=bot")
    assert scrub(f"could not connect to {url}: s3cr@t-pass refused", url) == (
        "could not connect to postgresql://bot:***@db.example:5432/soracord?sslmode=require: *** refused"
    )


def test_values_are_converted_to_the_column_types() -> None:
    c = pg_values.CONVERTERS
    assert c["bigint"](3.0) == 3 and c["bigint"]("12") == 12 and c["bigint"](None) is None
    assert c["double precision"](2) == 2.0 and isinstance(c["double precision"](2), float)
    assert c["boolean"](1) is True and c["boolean"](0) is False and c["boolean"]("false") is False
    assert c["text"]("a\x00b") == "a\ufffdb" and c["text"](b"bytes") == "bytes" and c["text"](5) == "5"
    assert c["bytea"]("x") == b"x" and c["bytea"](b"\x00") == b"\x00"
    with pytest.raises(pg_values.Unfit):
        c["bigint"]("twelve")
    with pytest.raises(pg_values.Unfit):
        c["boolean"](7)


def _cli(tmp_path: Path, db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "PROVIDERS_"))}
    env.update(
        DISCORD_TOKEN="MTIzNDU2Nzg5MDEyMzQ1Njc4.GxYzAb.s3cr3tHmacParts3cr3tHmacParts3cr3t",
        DATABASE_PATH=str(db_path),
        PYTHONPATH=str(ROOT),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_the_summary_and_masks_the_password(
    tmp_path: Path, small_source: Path, pg_url: str
) -> None:
    password = "hunter2-very-secret"
    url = pg_url.replace("postgresql://soracord@", f"postgresql://soracord:{password}@")  # trust: ignored
    done = _cli(tmp_path, small_source, "migrate", f"--to={url}")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "ledger check passed" in done.stdout and "soracord:***@" in done.stdout
    assert password not in out
    assert password not in lock_path(small_source).read_text(errors="replace")

    again = _cli(tmp_path, small_source, "migrate", "--to", url)
    assert again.returncode == 2, again.stdout + again.stderr
    line = again.stderr.strip().splitlines()
    assert len(line) == 1 and "already has data" in line[0] and "soracord:***@" in line[0]
    assert password not in again.stdout + again.stderr and "Traceback" not in again.stderr
