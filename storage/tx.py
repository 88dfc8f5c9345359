"""A transaction as the repositories see it: ``await tx.execute(sql, params)``, whichever way it runs.

The repositories are written once, as ``async def f(tx, ...)``, and run two ways:

* **one trip per statement** (``Database.transaction()``): each ``execute`` is one call into the
  connection's thread, its rows fetched in the same call (aiosqlite needed up to three);
* **one trip per transaction** (``Database.write(body)`` / ``Database.read(body)``): the whole body
  runs *on* the connection's thread. ``execute`` then never suspends, so the body's coroutine is
  driven to its end with a single ``send`` — ``BEGIN``, every statement and ``COMMIT`` in one call.
  A body that awaits anything else (a sleep, the network) would suspend: that is refused and rolled
  back, never half run.

The surface is the subset of ``aiosqlite.Connection`` the repositories use, so code written for it
(``async with tx.execute(...) as cur: await cur.fetchone()``, ``cur.rowcount``) keeps working.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
Body = Callable[["Tx"], Coroutine[Any, Any, T]]


class Result:
    """What one statement left behind: its rows (all fetched in the same trip), rowcount, lastrowid."""

    __slots__ = ("_rows", "lastrowid", "rowcount")

    def __init__(self, rows: list[sqlite3.Row], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int) -> list[sqlite3.Row]:
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def fetchall(self) -> list[sqlite3.Row]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []

    async def __aiter__(self) -> AsyncIterator[sqlite3.Row]:
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
    cur = conn.execute(sql, params)
    try:
        rows = cur.fetchall() if cur.description is not None else []
        return Result(rows, cur.rowcount, cur.lastrowid)
    finally:
        cur.close()


def _many(conn: sqlite3.Connection, sql: str, seq: list[Sequence[Any]]) -> Result:
    cur = conn.executemany(sql, seq)
    try:
        return Result([], cur.rowcount, cur.lastrowid)
    finally:
        cur.close()


class Tx:
    """An open transaction. Subclasses say how a statement reaches the connection (``_call``)."""

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Pending:
        return Pending(self._call(statement, sql, tuple(params)))

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        result = await self._call(statement, sql, tuple(params))
        return await result.fetchall()

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> Result:
        return await self._call(_many, sql, list(seq))


class InlineTx(Tx):
    """A transaction whose body runs on the connection's own thread: ``execute`` never suspends."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(self._conn, *args)


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
