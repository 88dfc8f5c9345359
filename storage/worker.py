"""One SQLite connection on its own thread, to which the event loop sends whole functions.

Why not aiosqlite: it makes one trip to its thread per cursor operation — execute, fetch, close:
three for one read — and each trip is a thread hand-off plus a loop wake-up (23–94 µs, against
3 µs for the statement itself). Here a caller sends a whole function (a read with its fetch, or a
whole transaction) and gets its result back in one hand-off. Calls run one at a time, in the order
they were sent, so a ``ROLLBACK`` sent after a statement always runs after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


class CommitOrder:
    """A reader never hears of a commit before its writer does.

    With one connection, a read queued behind a write could not finish before the writer resumed; a
    separate read connection sees a commit the instant it lands, while the writer's coroutine is still
    waiting for its turn on the loop — so code that resumes on seeing a row (a test polling for a job,
    say) could run before the code that committed it has done what it does next (start driving the
    job). The writer's thread counts each ``COMMIT`` it begins; the loop counts each one whose writer
    it has woken; a finished read whose count is ahead waits (rarely, and only for that hand-off).
    """

    def __init__(self) -> None:
        self.begun = 0  # changed on the write connection's thread only
        self.delivered = 0  # changed on the event loop only
        self.withheld = 0  # of ``begun``, those their writer reports delivered itself (``withhold``)
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []

    @property
    def owed(self) -> int:
        """Commits begun that the write connection's worker reports delivered: all but the withheld."""
        return self.begun - self.withheld

    def withhold(self) -> None:
        """Count one more commit, reported delivered by its writer (``_delivered(1)``), not the worker:
        a group commit's callers wake one hop after its own task (``storage.group_commit``)."""
        self.begun += 1
        self.withheld += 1

    def commit(self, conn: sqlite3.Connection) -> None:
        """``COMMIT`` on the write connection's thread, counted first."""
        self.begun += 1
        conn.execute("COMMIT")

    def _delivered(self, count: int) -> None:
        self.delivered += count
        still = []
        for target, fut in self._waiting:
            if target > self.delivered:
                still.append((target, fut))
            elif not fut.done():
                fut.set_result(None)
        self._waiting = still

    async def seen(self) -> None:
        """Return once every commit begun so far has been handed to its writer (at once, almost always)."""
        target = self.begun
        if self.delivered >= target:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((target, fut))
        await fut


def _settle(
    fut: asyncio.Future[Any], value: Any, error: BaseException | None, order: CommitOrder | None, commits: int
) -> None:
    if not fut.done():  # else the caller was cancelled; the function ran anyway (kept or rolled back)
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(value)
    if order is not None and commits:  # after the writer's wake-up, so it runs first
        order._delivered(commits)


class Worker:
    """A connection confined to one thread. ``_execute(fn, *args)`` runs ``fn(conn, *args)`` there.

    The name ``_execute`` is aiosqlite's, on purpose: the benchmarks' virtual clock counts calls in
    flight by wrapping it (``bench/virtual_clock.py``), so it must stay the one funnel.
    """

    def __init__(self, conn: sqlite3.Connection, name: str, order: CommitOrder | None = None) -> None:
        self._conn = conn
        self._order = order  # the write connection's: its commits are counted
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self.inflight = 0  # calls sent and not yet answered: readers pick the least busy worker
        self._thread.start()

    @classmethod
    def connect(cls, target: str, name: str, *, order: CommitOrder | None = None) -> Worker:
        """Open the file ``target`` in autocommit mode, for one thread."""
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return cls(conn, name, order)

    def _run(self) -> None:
        while True:
            call = self._queue.get()
            if call is None:
                break
            loop, fut, fn, args = call
            value: Any = None
            error: BaseException | None = None
            begun = self._order.owed if self._order is not None else 0
            try:
                value = fn(self._conn, *args)
            except BaseException as exc:  # handed to the awaiting coroutine, raised there
                error = exc
            commits = self._order.owed - begun if self._order is not None else 0
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, fut, value, error, self._order, commits)
        self._conn.close()

    async def _execute(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the connection's thread; its result or exception comes back here."""
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self.inflight += 1
        try:
            self._queue.put((loop, fut, fn, args))
            return await fut
        finally:
            self.inflight -= 1

    async def close(self) -> None:
        """Finish what was sent, close the connection, end the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
