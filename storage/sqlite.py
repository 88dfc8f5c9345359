"""The SQLite backend: one write connection, a few read connections, WAL, numbered migrations.

Why two kinds of connection: in WAL mode a reader never waits for a writer and never sees half a
transaction, so reads go to read-only connections of their own (``fetchall``, ``read``) and no
longer queue behind the write lock — a member's balance read before a deferral does not wait for
fifty holds in flight. Writes keep SQLite's single-writer rule explicit: one write connection, an
asyncio lock, and every transaction ``BEGIN IMMEDIATE`` ... ``COMMIT``, so a hold and its job row
either both land or neither does.

Every connection lives on its own thread (``storage.worker``) and every read is one trip there.
``write(body)`` runs a whole transaction in one trip; ``transaction()`` (for bodies that need the
event loop between statements) costs one trip a statement, ``BEGIN`` riding on the first.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from storage import db as interface
from storage.db import Database, _migrations
from storage.tx import Body, Row, ThreadTx, Tx, run_body, sqlite_sql
from storage.worker import CommitOrder, Worker

T = TypeVar("T")
SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
)


# ---- functions that run on a connection's thread ---------------------------------------------------


def _configure(conn: sqlite3.Connection, reader: bool) -> None:
    if not reader:
        conn.execute("PRAGMA journal_mode=WAL")  # persistent in the file: readers open after this
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={interface.BUSY_TIMEOUT_MS}")  # read at open: tests lower it
    conn.execute("PRAGMA synchronous=NORMAL")
    if reader:
        conn.execute("PRAGMA query_only=ON")  # a read connection can never write, even by mistake


def _select(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Row]:
    cur = conn.execute(sqlite_sql(sql), params)
    try:
        rows: list[Row] = cur.fetchall()
        return rows
    finally:
        cur.close()


def _begin_then(conn: sqlite3.Connection, fn: Callable[..., T], *args: Any) -> T:
    conn.execute("BEGIN IMMEDIATE")
    return fn(conn, *args)


def _end(conn: sqlite3.Connection, order: CommitOrder | None) -> None:
    """``COMMIT`` (counted by ``order``), or ``ROLLBACK`` when ``order`` is None."""
    if not conn.in_transaction:  # BEGIN itself failed: nothing to end
        return
    if order is not None:
        try:
            order.commit(conn)
            return
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    conn.execute("ROLLBACK")


def _schema_version(conn: sqlite3.Connection) -> int:
    conn.execute(SCHEMA_TABLE)
    row = conn.execute("SELECT MAX(version) AS v FROM schema_version").fetchone()
    return int(row["v"]) if row and row["v"] is not None else 0


def _apply(conn: sqlite3.Connection, script: str) -> None:
    try:
        conn.executescript(script)
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class _TripTx(ThreadTx):
    """``Database.transaction()``'s transaction: a trip per statement, ``BEGIN IMMEDIATE`` on the first."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self.begun = False

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self.begun:
            return await self._worker._execute(fn, *args)
        self.begun = True  # set first: if the statement fails after BEGIN, the block still rolls back
        return await self._worker._execute(_begin_then, fn, *args)


class SqliteDatabase(Database):
    """An SQLite file (or ``:memory:``), opened with ``Database.open(path)``."""

    backend = "sqlite"

    def __init__(self, writer: Worker, readers: list[Worker], order: CommitOrder, path: Path) -> None:
        super().__init__()
        self._conn = writer  # the write connection (the name the poller bench's clock looks for)
        self._order = order  # its commits reach their writers before any reader that saw them
        self._readers = readers  # empty: reads go to the write connection, under the write lock
        self._write_lock = asyncio.Lock()
        self._path = path

    @classmethod
    async def open_file(cls, path: Path, *, migrate: bool, readers: int) -> SqliteDatabase:
        memory = str(path) == ":memory:"
        if not memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        order = CommitOrder()
        writer = Worker.connect(str(path), "sqlite-write", order=order)
        db = cls(writer, [], order, path)
        try:
            await writer._execute(_configure, False)
            if migrate:
                await db.migrate()
            for i in range(0 if memory else readers):
                reader = Worker.connect(str(path), f"sqlite-read-{i}")
                db._readers.append(reader)
                await reader._execute(_configure, True)
        except BaseException:
            await db.close()
            raise
        return db

    @property
    def folder(self) -> Path:
        """The database file's folder (the working directory for an in-memory database)."""
        return Path.cwd() if str(self._path) == ":memory:" else self._path.absolute().parent

    @property
    def connections(self) -> list[Worker]:
        """Every connection, the write one first (benchmarks count calls in flight on each)."""
        return [self._conn, *self._readers]

    async def close(self) -> None:
        for reader in self._readers:  # readers first: the last connection to close checkpoints the WAL
            await reader.close()
        await self._conn.close()

    async def schema_version(self) -> int:
        async with self._write_lock:
            return await self._conn._execute(_schema_version)

    async def migrate(self) -> list[str]:
        applied: list[str] = []
        async with self._write_lock:
            current = await self._conn._execute(_schema_version)
            for number, name, sql in _migrations("sqlite"):
                if number <= current:
                    continue
                script = (
                    "BEGIN IMMEDIATE;\n"
                    f"{sql}\n"
                    "INSERT INTO schema_version (version, name, applied_at) "
                    f"VALUES ({number}, '{name}', {time.time()});\nCOMMIT;"
                )
                await self._conn._execute(_apply, script)
                applied.append(name)
        return applied

    # ---- writes -----------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction; rolled back if the block raises. A trip per statement."""
        async with self._write_lock:
            tx = _TripTx(self._conn)
            try:
                yield tx
            except BaseException:
                if tx.begun:
                    await self._conn._execute(_end, None)
                raise
            else:
                if tx.begun:
                    await self._conn._execute(_end, self._order)

    async def write(self, body: Body[T]) -> T:
        """Run ``body(tx)`` as one write transaction in ONE trip to the write connection's thread.

        ``body`` may await only ``tx``'s own calls (``storage.tx``); its return value comes back, and an
        exception it raises rolls everything back and is raised here. Once sent, the transaction runs
        whole even if the caller is cancelled meanwhile (as a ``COMMIT`` in flight always did).
        """
        async with self._write_lock:
            return await self._conn._execute(run_body, "BEGIN IMMEDIATE", body, self._order.commit)

    # ---- reads ------------------------------------------------------------------------------------

    def _reader(self) -> Worker | None:
        if not self._readers:
            return None
        return min(self._readers, key=lambda w: w.inflight)

    async def read(self, body: Body[T]) -> T:
        """Run ``body(tx)`` as one read transaction (one snapshot) in one trip to a read connection."""
        reader = self._reader()
        if reader is None:
            async with self._write_lock:
                return await self._conn._execute(run_body, "BEGIN", body)
        value: T = await reader._execute(run_body, "BEGIN", body)
        await self._order.seen()
        return value

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """A read outside any transaction, in one trip: it sees only committed writes, never half of one."""
        reader = self._reader()
        if reader is None:
            async with self._write_lock:
                return await self._conn._execute(_select, sql, tuple(params))
        rows = await reader._execute(_select, sql, tuple(params))
        await self._order.seen()
        return rows
