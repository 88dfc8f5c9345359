"""The "before" side of ``bench.size``: the storage path as it was before the issue "Fast at size".

* ``OldDatabase`` is the old ``storage.db.Database``: ONE aiosqlite connection, every read under the
  write lock (so it waits for any write in flight) and three trips to aiosqlite's thread per read
  (execute, fetch, close); a transaction is ``BEGIN IMMEDIATE`` + a trip per statement + ``COMMIT``.
* ``revert_indexes`` undoes migration 010 on a copy of the data: its indexes dropped, the two it
  replaced put back as 001 made them.
* The functions below are the old versions of those whose SQL or shape changed (``held``, the export,
  ``doctor``'s check, a history page); the others are unchanged and are called as they are today.

Kept apart so that ``bench/size.py`` compares like with like: the same data, the same operation, and
only the two things the issue changed (indexes, connections) differing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.engine.allowance import current_period
from bot.engine.caps import check_in
from bot.engine.credits import PAGE_SIZE, inert
from bot.engine.member_jobs import LIST_LIMIT
from bot.engine.views import view_of
from storage import allowances, guilds, jobs, ledger
from storage.db import BUSY_TIMEOUT_MS
from storage.ledger import Entry
from storage.notify import Memo

REVERT_010 = (  # what 001 created and 010 replaced
    "CREATE INDEX jobs_active ON jobs (state) WHERE state IN ('queued', 'submitting', 'running')",
    "CREATE INDEX ledger_by_member ON ledger_entries (guild_id, user_id, id)",
)


class OldDatabase:
    """The old single-connection database (``storage/db.py`` before the issue), reads under the lock."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._write_lock = asyncio.Lock()
        self.memo = Memo()  # the memo's interface today; the old one was a plain dict of the same rows

    @classmethod
    async def open(cls, path: Path) -> OldDatabase:
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA synchronous=NORMAL")
        return cls(conn)

    async def close(self) -> None:
        await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._write_lock, self._conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())


def revert_indexes(path: Path) -> None:
    """Undo migration 010 on the file at ``path`` (a copy of the data)."""
    text = resources.files("storage").joinpath("migrations", "010_indexes.sql").read_text(encoding="utf-8")
    created = re.findall(r"CREATE INDEX (\w+)", text)
    replaced = set(re.findall(r"DROP INDEX IF EXISTS (\w+)", text))
    assert replaced == {re.findall(r"INDEX (\w+)", sql)[0] for sql in REVERT_010}, (
        "010 changed: update REVERT_010"
    )
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for name in created:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        for sql in REVERT_010:
            conn.execute(sql)
    finally:
        conn.close()


def operations(
    before: OldDatabase, g: int, u: int, now: float
) -> tuple[Callable[[], Awaitable[int]], Callable[[], Awaitable[None]], Callable[[bool], Awaitable[None]]]:
    """The old balance read, caps check and ``/jobs list``, as ``Admission`` and ``member_jobs`` did them."""

    async def balance() -> int:
        settings = await guilds.get(before, g)  # type: ignore[arg-type]
        standing = await allowances.standing(before, g, u, current_period(settings, now))  # type: ignore[arg-type]
        return (standing.balance or 0) + await held(before, g, u)

    async def caps() -> None:
        settings = await guilds.get(before, g)  # type: ignore[arg-type]
        async with before.transaction() as tx:
            await check_in(tx, settings, u, 1, now=now)  # type: ignore[arg-type]
        await allowances.standing(before, g, u, current_period(settings, now))  # type: ignore[arg-type]

    async def listing(everyone: bool) -> None:
        rows = await jobs.recent(before, g, None if everyone else u, limit=LIST_LIMIT)  # type: ignore[arg-type]
        [view_of(r) for r in rows]

    return balance, caps, listing


async def held(db: OldDatabase, guild_id: int, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT COALESCE(SUM(-h.amount), 0) FROM ledger_entries h WHERE h.guild_id = ? AND h.user_id = ?"
        " AND h.kind IN ('hold', 'adjust') AND h.job_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.job_id = h.job_id"
        " AND s.kind IN ('capture', 'release'))",
        (guild_id, user_id),
    )
    return int(row[0]) if row else 0


async def history(db: OldDatabase, guild_id: int, user_id: int, page: int) -> tuple[list[Entry], int]:
    """The old ``Credits.history``: count, an OFFSET page, then one read per job to label."""
    total = await ledger.count_entries(db, guild_id, user_id)  # type: ignore[arg-type]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    entries = await ledger.entries(db, guild_id, user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)  # type: ignore[arg-type]
    for entry in entries:
        if entry.job_id is not None:
            await jobs.get(db, entry.job_id)  # type: ignore[arg-type]
    return entries, pages


async def export(db: OldDatabase, guild_id: int, start: float, end: float) -> tuple[bytes, int]:
    """The old export: every row read at once, then the CSV built in memory on the event loop."""
    rows = await db.fetchall(
        "SELECT * FROM ledger_entries WHERE guild_id = ? AND created_at >= ? AND created_at < ? ORDER BY id",
        (guild_id, start, end),
    )
    entries = [Entry(**dict(row)) for row in rows]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time_utc", "member_id", "kind", "amount", "job_id", "actor_id", "reason"])
    for e in entries:
        when = datetime.fromtimestamp(e.created_at, UTC).isoformat(timespec="seconds")
        writer.writerow(
            [e.id, when, e.user_id, e.kind, e.amount, e.job_id or "", e.actor_id or "", inert(e.reason or "")]
        )
    return out.getvalue().encode("utf-8"), len(entries)


async def invariant_violations(db: OldDatabase) -> list[str]:
    rows = await db.fetchall(
        "SELECT b.guild_id, b.user_id, b.balance, COALESCE(SUM(e.amount), 0) AS total"
        " FROM balances b LEFT JOIN ledger_entries e ON e.guild_id = b.guild_id AND e.user_id = b.user_id"
        " GROUP BY b.guild_id, b.user_id HAVING b.balance != total"
        " UNION ALL"
        " SELECT e.guild_id, e.user_id, 0, SUM(e.amount) FROM ledger_entries e"
        " WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.guild_id = e.guild_id AND b.user_id = e.user_id)"
        " GROUP BY e.guild_id, e.user_id HAVING SUM(e.amount) != 0"
    )
    return [f"guild {r[0]} member {r[1]}: balance {r[2]} but entries sum to {r[3]}" for r in rows]
