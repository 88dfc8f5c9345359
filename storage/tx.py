"""A transaction as the repositories see it: ``await tx.execute(sql, params)``, whichever backend runs it.

The repositories are written once, as ``async def f(tx, ...)``, in SQL both backends read: ``$1, $2``
parameters (PostgreSQL's own; SQLite's ``?1, ?2`` after a one-line rewrite, cached), ``RETURNING``
instead of ``lastrowid``, ``ON CONFLICT … DO NOTHING RETURNING`` where a replay must be told apart
without an error (an error aborts a PostgreSQL transaction). A row is read by name or position
(``Row``: ``sqlite3.Row`` and ``asyncpg.Record`` both are one).

On SQLite a transaction runs two ways:

* **one trip per statement** (``Database.transaction()``): each ``execute`` is one call into the
  connection's thread, its rows fetched in the same call (aiosqlite needed up to three);
* **one trip per transaction** (``Database.write(body)`` / ``Database.read(body)``): the whole body
  runs *on* the connection's thread. ``execute`` then never suspends, so the body's coroutine is
  driven to its end with a single ``send`` — ``BEGIN``, every statement and ``COMMIT`` in one call.
  A body that awaits anything else (a sleep, the network) would suspend: that is refused and rolled
  back, never half run.

On PostgreSQL (``storage.postgres``) every statement is a round trip on a pooled connection.
The surface is the subset of ``aiosqlite.Connection`` the repositories use, so code written for it
(``async with tx.execute(...) as cur: await cur.fetchone()``, ``cur.rowcount``) keeps working.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Body = Callable[["Tx"], Coroutine[Any, Any, T]]
_DOLLAR = re.compile(r"\$(\d+)")


class Row(Protocol):
    """One result row, by column name or position (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> Iterable[str]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


@functools.lru_cache(maxsize=2048)
def sqlite_sql(sql: str) -> str:
    """``$1`` → ``?1``: SQLite's numbered parameters, bound by number from a sequence like PostgreSQL's."""
    return _DOLLAR.sub(r"?\1", sql)


class Result:
    """What one statement left behind: its rows (all fetched in the same trip), rowcount, lastrowid."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid  # SQLite only; write ``RETURNING id`` to work on both

    async def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int) -> list[Row]:
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def fetchall(self) -> list[Row]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []

    async def __aiter__(self) -> AsyncIterator[Row]:
        while self._rows:
            yield self._rows.pop(0)


class Pending:
    """``tx.execute(...)``: await it for the ``Result``, or ``async with`` it (aiosqlite's two forms)."""

    __slots__ = ("_coro",)

    def __init__(self, coro: Coroutine[Any, Any, Result]) -> None:
        self._coro = coro

    def __await__(self) -> Generator[Any, None, Result]:
        return self._coro.__await__()

    async def __aenter__(self) -> Result:
        return await self._coro

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def statement(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Result:
    """Run one statement and fetch everything it returns (runs on the connection's thread)."""
    cur = conn.execute(sqlite_sql(sql), params)
    try:
        rows = cur.fetchall() if cur.description is not None else []
        return Result(rows, cur.rowcount, cur.lastrowid)
    finally:
        cur.close()


def _many(conn: sqlite3.Connection, sql: str, seq: list[Sequence[Any]]) -> Result:
    cur = conn.executemany(sqlite_sql(sql), seq)
    try:
        return Result([], cur.rowcount, cur.lastrowid)
    finally:
        cur.close()


class Tx:
    """An open transaction. Backends say how a statement reaches their connection."""

    backend = "sqlite"  # or "postgres": for the few statements that cannot be written once

    async def _statement(self, sql: str, params: tuple[Any, ...]) -> Result:
        raise NotImplementedError

    async def _statements(self, sql: str, seq: list[Sequence[Any]]) -> Result:
        raise NotImplementedError

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Pending:
        return Pending(self._statement(sql, tuple(params)))

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        result = await self._statement(sql, tuple(params))
        return await result.fetchall()

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Result:
        return await self._statements(sql, list(seq))


class ThreadTx(Tx):
    """A SQLite transaction: each statement is a function run on the connection's thread (``_call``)."""

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def _statement(self, sql: str, params: tuple[Any, ...]) -> Result:
        return await self._call(statement, sql, params)

    async def _statements(self, sql: str, seq: list[Sequence[Any]]) -> Result:
        return await self._call(_many, sql, seq)


class InlineTx(ThreadTx):
    """A transaction whose body runs on the connection's own thread: ``execute`` never suspends.

    Each statement goes straight to the connection, without the ``_call`` hop, and rows read whole
    skip the ``Result`` they would be wrapped in. Why: a grouped batch (``storage.group_commit``) runs
    up to 128 bodies in one trip, and on the write thread — the one thing every write waits for —
    these layers were a tenth of a body's cost beyond its SQL."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(self._conn, *args)

    async def _statement(self, sql: str, params: tuple[Any, ...]) -> Result:
        return statement(self._conn, sql, params)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        cur = self._conn.execute(sqlite_sql(sql), tuple(params))
        try:
            rows: list[Row] = cur.fetchall()
            return rows
        finally:
            cur.close()


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end, synchronously; refuse one that does."""
    try:
        coro.send(None)
    except StopIteration as stop:
        value: T = stop.value
        return value
    coro.close()
    raise RuntimeError("a one-trip transaction awaited something other than its own statements")


def _commit(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")


def run_body(
    conn: sqlite3.Connection,
    begin: str,
    body: Body[T],
    commit: Callable[[sqlite3.Connection], None] = _commit,
) -> T:
    """``begin``, the whole body, ``commit`` — or ``ROLLBACK`` if anything raised (on the connection's thread)."""
    conn.execute(begin)
    try:
        value = drive(body(InlineTx(conn)))
        commit(conn)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return value
