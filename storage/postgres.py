"""The PostgreSQL backend (asyncpg): a pool of connections, for a database several processes share.

The repositories' SQL runs unchanged (``$n`` parameters are PostgreSQL's own); what differs from
SQLite is how a transaction is carried:

* every statement is one round trip on a pooled connection; ``write(body)`` and ``transaction()``
  hold one connection for the whole transaction (``READ COMMITTED``: a row an ``UPDATE … WHERE``
  waits for is re-checked once its writer commits, which keeps ``WHERE balance >= cost`` exact);
* ``read(body)`` is one ``REPEATABLE READ, READ ONLY`` snapshot, like a read transaction on SQLite;
* a statement that returns rows (``SELECT``, ``… RETURNING``) is fetched, any other is executed and
  its row count read from the command tag, so ``cur.rowcount`` means what it means on SQLite;
* ``write(body)`` runs whole once sent, even if the caller is cancelled, as it does on SQLite;
* a NUL character, which PostgreSQL's text cannot hold (SQLite's can), is stored as U+FFFD: a
  member's prompt or reason with one in it is kept, not refused with an internal error.

Migrations come from ``storage/migrations_pg`` (the same numbers as SQLite's), each in its own
transaction under an advisory lock, so two processes starting at once apply each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import asyncpg

from storage.db import Database, _migrations
from storage.notify import MEMO_CHANNEL, MEMO_TTL, PgListener
from storage.tx import Body, Result, Row, Tx
from storage.worker import CommitOrder

T = TypeVar("T")
log = logging.getLogger(__name__)
POOL_SIZE = 10
LISTEN_READY_WAIT = 5.0  # seconds ``connect`` waits for the listener before going on without it
MIGRATION_LOCK = 0x50_52_41_43  # pg_advisory_xact_lock key: one migrator at a time, any process
# Gateway locks (session advisory locks, lapsing with the process): a process connecting every shard
# holds ALL_SHARDS alone; one connecting some shards shares ALL_SHARDS and holds each of its own.
ALL_SHARDS = 0x50_52_41_44
SHARD_LOCK = 0x50_52_42_00  # + the shard's number
SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)
_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|SHOW|EXPLAIN)\b|\bRETURNING\b", re.IGNORECASE)


@functools.lru_cache(maxsize=2048)
def _returns_rows(sql: str) -> bool:
    return _ROWS.search(sql) is not None


def _params(params: Iterable[Any]) -> tuple[Any, ...]:
    """The parameters as PostgreSQL takes them: text without NUL characters (see the module doc)."""
    return tuple(p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in params)


def _rowcount(status: str) -> int:
    """``INSERT 0 3`` / ``UPDATE 2`` / ``DELETE 0`` → the count; -1 for a tag without one."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgTx(Tx):
    """A transaction on one pooled connection: every statement a round trip."""

    backend = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _statement(self, sql: str, params: tuple[Any, ...]) -> Result:
        params = _params(params)
        if _returns_rows(sql):
            rows = cast(list[Row], await self._conn.fetch(sql, *params))
            return Result(rows, len(rows), None)
        status = await self._conn.execute(sql, *params)
        return Result([], _rowcount(str(status)), None)

    async def _statements(self, sql: str, seq: list[Sequence[Any]]) -> Result:
        await self._conn.executemany(sql, [_params(p) for p in seq])
        return Result([], -1, None)


class PostgresDatabase(Database):
    """A PostgreSQL database, opened with ``Database.open("postgresql://…")``."""

    backend = "postgres"
    shared = True

    def __init__(self, pool: asyncpg.Pool, folder: Path, *, url: str | None = None) -> None:
        super().__init__()
        # One connection of its own LISTENs for every channel (``storage.notify``); without a URL
        # (a pool made elsewhere) nothing is heard, so the memo below never serves an entry.
        self.listener = PgListener(url, self._bus) if url is not None else None
        # Other processes write settings too: an entry is served only while its channel is heard,
        # and for MEMO_TTL seconds at most (a writer that died between commit and notify).
        self.memo.ttl = MEMO_TTL
        self.memo.trusted = self._hears_memo
        self._pool = pool
        self._folder = folder
        self._order = CommitOrder()  # a read that saw a commit resumes after the code that made it
        self._writes: set[asyncio.Task[Any]] = set()
        self._sole: asyncpg.Connection | None = None  # holds the gateway locks while the bot runs

    @classmethod
    async def connect(
        cls, url: str, *, migrate: bool = True, size: int = POOL_SIZE, folder: Path | None = None
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=size)
        db = cls(pool, folder if folder is not None else Path.cwd() / "data", url=url)
        try:
            if migrate:
                await db.migrate()
            await db._start_listening()
        except BaseException:
            await db.close()
            raise
        return db

    @property
    def folder(self) -> Path:
        """Saved videos go here (``DATABASE_PATH``'s folder; one machine's: sharing them is a later step)."""
        return self._folder

    async def claim_gateway(self, shards: list[int] | None) -> bool:
        """Take the gateway locks for ``shards`` (None: every shard) on a connection of their own, held
        for the process's life: two processes connecting one shard would both answer its commands.
        False (nothing held) when another process has any of them."""
        if self._sole is not None:
            return True
        conn = await self._pool.acquire()
        if shards is None:
            held = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", ALL_SHARDS))
        else:
            held = bool(await conn.fetchval("SELECT pg_try_advisory_lock_shared($1)", ALL_SHARDS))
            for shard in shards if held else ():
                if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", SHARD_LOCK + shard):
                    held = False
                    break
        if held:
            self._sole = conn
            return True
        await conn.execute("SELECT pg_advisory_unlock_all()")
        await self._pool.release(conn)
        return False

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()  # first: no reconnect may start while the pool closes
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self._sole is not None:
            with contextlib.suppress(Exception):
                await self._sole.execute("SELECT pg_advisory_unlock_all()")
            await self._pool.release(self._sole)
            self._sole = None
        await self._pool.close()

    async def schema_version(self) -> int:
        async with self._pool.acquire() as conn:
            return await _schema_version(conn)

    async def migrate(self) -> list[str]:
        applied: list[str] = []
        async with self._pool.acquire() as conn:
            for number, name, sql in _migrations("postgres"):
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                    await conn.execute(SCHEMA_TABLE)
                    if number <= await _schema_version(conn):
                        continue  # applied before, or by another process while we waited
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                        number,
                        name,
                        time.time(),
                    )
                applied.append(name)
        return applied

    # ---- writes -----------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction on one connection; rolled back if the block raises."""
        async with self._pool.acquire() as conn:
            tr = conn.transaction()
            await tr.start()
            try:
                yield PgTx(conn)
            except BaseException:
                with contextlib.suppress(Exception):  # a broken connection: the server rolls back
                    await _to_the_end(tr.rollback())
                raise
            await _to_the_end(self._commit(tr))

    async def _commit(self, tr: Any) -> None:
        self._order.begun += 1
        try:
            await tr.commit()
        finally:
            self._order._delivered(1)

    async def _write(self, body: Body[T]) -> T:
        async with self.transaction() as tx:
            return await body(tx)

    async def write(self, body: Body[T]) -> T:
        """``body(tx)`` as one transaction; once sent it runs whole even if the caller is cancelled."""
        task = asyncio.ensure_future(self._write(body))
        self._writes.add(task)
        task.add_done_callback(_forget(self._writes))
        return await asyncio.shield(task)

    # ---- reads ------------------------------------------------------------------------------------

    async def read(self, body: Body[T]) -> T:
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            value = await body(PgTx(conn))
        await self._order.seen()
        return value

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        rows = cast(list[Row], await self._pool.fetch(sql, *_params(params)))
        await self._order.seen()
        return rows

    # ---- signals between processes (``storage.notify``) -----------------------------------------

    async def _start_listening(self) -> None:
        """Start the listener and give it a moment: a process that starts hearing at once serves its
        memo from the first command. It is not fatal if it cannot: until it hears, nothing memoized is
        served (every read goes to the database) and it keeps trying in the background."""
        if self.listener is None:
            return
        self.listener.start()
        if not await self.listener.ready(LISTEN_READY_WAIT):
            log.warning("notifications: the listener connection is not up yet; settings are read uncached")

    def _hears_memo(self) -> bool:
        return self.listener is not None and self.listener.hears(MEMO_CHANNEL)

    async def _send(self, channel: str, payload: str) -> None:
        """``pg_notify`` on a pooled connection in autocommit: sent at once, outside any transaction
        (the caller's write has committed), to every session LISTENing — this process's listener too."""
        await self._pool.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def listening(self, within: float = 5.0) -> bool:
        return self.listener is not None and await self.listener.ready(within)


async def _to_the_end(step: Awaitable[None]) -> None:
    """Run a transaction's ``COMMIT`` or ``ROLLBACK`` to its end even if the caller is cancelled
    meanwhile (a bot shutting down cancels tasks mid-block), then let the cancellation through.

    Why: cut short, asyncpg cancels the statement — a ``COMMIT`` the caller already decided on might
    be undone, unlike SQLite's, which runs whole once sent — and the connection would go back to the
    pool inside its transaction ("Resetting connection with an active transaction"). Waiting for it
    costs one round trip.
    """
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait({task})
            task.exception()  # retrieved: the cancellation is what the caller hears of
        raise


def _forget(tasks: set[asyncio.Task[Any]]) -> Any:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that was cancelled meanwhile no longer waits for it

    return done


async def _schema_version(conn: asyncpg.Connection) -> int:
    if await conn.fetchval("SELECT to_regclass('schema_version')") is None:
        return 0
    value = await conn.fetchval("SELECT MAX(version) FROM schema_version")
    return int(value) if value is not None else 0
