"""The SQLite database: one aiosqlite connection, WAL, numbered migrations, serialized transactions.

A single connection with an asyncio lock around write transactions keeps SQLite's single-writer
rule explicit: every ``transaction()`` is ``BEGIN IMMEDIATE`` ... ``COMMIT``, so a hold and its job
row either both land or neither does.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

Tx = aiosqlite.Connection  # an open write transaction, as ``Database.transaction()`` yields it
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 5000


def _migrations() -> list[tuple[int, str, str]]:
    """The numbered migrations shipped in ``storage/migrations``, in order."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations are not numbered 001..N without gaps: {numbers}")
    return found


def latest_version() -> int:
    """The schema version this code expects (the newest migration it ships)."""
    return len(_migrations())


class Database:
    """Owns the connection. Open with ``await Database.open(path)``; close with ``close()``."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._write_lock = asyncio.Lock()
        # Small, rarely written rows read on every command (server settings), kept by the repository
        # that writes them: one process owns the file, so a write-through memo is always current.
        self.memo: dict[tuple[str, int], Any] = {}

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA synchronous=NORMAL")
        db = cls(conn)
        if migrate:
            await db.migrate()
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def schema_version(self) -> int:
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        async with self._conn.execute("SELECT MAX(version) AS v FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row["v"]) if row and row["v"] is not None else 0

    async def migrate(self) -> list[str]:
        """Apply every migration newer than the schema version, each atomically. Returns their names."""
        applied: list[str] = []
        async with self._write_lock:
            current = await self.schema_version()
            for number, name, sql in _migrations():
                if number <= current:
                    continue
                script = (
                    "BEGIN IMMEDIATE;\n"
                    f"{sql}\n"
                    "INSERT INTO schema_version (version, name, applied_at) "
                    f"VALUES ({number}, '{name}', {time.time()});\nCOMMIT;"
                )
                try:
                    await self._conn.executescript(script)
                except sqlite3.Error:
                    if self._conn.in_transaction:
                        await self._conn.execute("ROLLBACK")
                    raise
                applied.append(name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction; rolled back if the block raises."""
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
        """A read outside any transaction: it waits for a write in flight, so it never sees half of one."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._write_lock, self._conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())
