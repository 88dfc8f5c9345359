"""Clocks for the poller benchmark: a discrete-event virtual clock and a compressed real one.

``VirtualClock`` implements ``bot.engine.clock.Clock``. ``sleep(d)`` parks the caller on a future due
at ``now + d``; nothing moves time but ``run_until``, which advances it to the earliest due sleeper —
and only once the whole system is *quiescent*, i.e. nothing could still happen at the current
instant. The engine's database calls make that the hard part: each connection runs its calls on its
own thread (``storage.worker``) and wakes the awaiting coroutine with ``call_soon_threadsafe``, so an
event loop with nothing ready may still have work in flight. Quiescence is therefore decided exactly, from two
facts, not guessed from a pause:

* ``track_sqlite(conn)`` (``track_postgres(db)`` for a database on a server) wraps a connection's ``_execute`` (the single funnel every call to its
  thread goes through; tracked for each of the database's connections) with an in-flight counter: it is non-zero from the moment
  a statement is queued for the worker thread until the coroutine that awaited it has resumed;
* the event loop's ready queue (``loop._ready``, a CPython ``BaseEventLoop`` internal) is empty when
  the driver looks, so no callback — a woken future, a task step — is waiting to run.

When both hold twice in a row across a loop iteration, every coroutine is blocked on a clock sleeper,
an ``asyncio.Event``/future that only another coroutine could complete, or nothing at all: time may
jump. Error bound: zero — every event happens at exactly the virtual instant it was scheduled for,
and computation takes no virtual time (so a lag measured on this clock is the policy's own lag, not
the machine's). The two internals are CPython's and ``storage.worker``'s; if the loop has no ``_ready``
(another loop implementation) the driver falls back to a heuristic — ``FALLBACK_SPINS`` empty loop
iterations and a ``FALLBACK_PAUSE`` real pause with the in-flight counter at zero — whose error is
that a callback arriving later than the pause would run after time advanced: it would be late by at
most one sleeper interval, and only in that fallback.

``ScaledClock`` is real time compressed ``factor`` times (``sleep(d)`` sleeps ``d / factor`` real
seconds), for runs that measure real CPU and memory over loopback HTTP. It is a plain callable too,
so the fake vendors (``clock=``) and a vendor in another process can share its time base.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Any

START = 1_760_000_000.0  # a plausible epoch second (late 2025), so day/period arithmetic looks real
FALLBACK_SPINS = 20
FALLBACK_PAUSE = 0.002


class VirtualClock:
    """Discrete-event time. ``now()``/``sleep()`` for the code under test, ``run_until`` to drive it."""

    def __init__(self, start: float = START) -> None:
        self._now = start
        self._due: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._inflight = 0
        self._settled: asyncio.Event | None = None
        self.jumps = 0  # how many times time advanced (for the report)

    # ---- the Clock protocol --------------------------------------------------------------------

    def now(self) -> float:
        return self._now

    def __call__(self) -> float:  # the fake vendors take ``clock=`` as a plain callable
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._due, (self._now + seconds, next(self._seq), fut))
        await fut  # a cancelled sleeper leaves a cancelled future: skipped when it comes due

    # ---- quiescence ----------------------------------------------------------------------------

    def track_sqlite(self, conn: Any) -> None:
        """Count calls in flight on ``conn`` (a ``storage.worker.Worker``) until they resume."""
        conn._execute = self._counted(conn._execute)

    def track_postgres(self, db: Any) -> None:
        """Count calls in flight on a PostgreSQL ``Database`` until they resume.

        Its statements wait on a socket, which leaves nothing on the loop's ready queue either, so
        without this time would jump while the server works. Counted: each one-trip call (``write``,
        ``read``, ``fetchall``, ``notify``) whole; a ``transaction()`` block while it takes its
        connection and begins, each statement of its body, and its commit or rollback — never the
        body's own awaits in between, which may be clock sleeps.
        """
        for name in ("write", "read", "fetchall", "notify"):
            if hasattr(db, name):
                setattr(db, name, self._counted(getattr(db, name)))
        inner = db.transaction
        clock = self

        @contextlib.asynccontextmanager
        async def transaction() -> Any:
            clock._begin()  # one begin, one end, whichever way the block goes
            try:
                async with inner() as tx:
                    clock._end()
                    tx._statement = clock._counted(tx._statement)
                    tx._statements = clock._counted(tx._statements)
                    try:
                        yield tx
                    finally:
                        clock._begin()  # the commit or rollback, on the way out
            finally:
                clock._end()

        db.transaction = transaction

    def _begin(self) -> None:
        self._inflight += 1

    def _end(self) -> None:
        self._inflight -= 1
        if self._inflight == 0 and self._settled is not None:
            self._settled.set()

    def _counted(self, inner: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(inner)
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self._begin()
            try:
                return await inner(*args, **kwargs)
            finally:
                self._end()

        return counted

    async def _quiesce(self) -> None:
        """Return once nothing can happen any more at the current virtual instant."""
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        if self._settled is None:
            self._settled = asyncio.Event()
        quiet = 0
        while quiet < 2:
            if self._inflight:
                quiet = 0
                self._settled.clear()
                await self._settled.wait()
                continue
            if ready is None:  # not CPython's loop: the documented heuristic
                for _ in range(FALLBACK_SPINS):
                    await asyncio.sleep(0)
                await asyncio.sleep(FALLBACK_PAUSE)
                quiet += 1 if self._inflight == 0 else 0
                continue
            quiet = quiet + 1 if not ready else 0
            await asyncio.sleep(0)

    async def run_until(self, done: Callable[[], bool], *, limit: float) -> None:
        """Advance time sleeper by sleeper until ``done()`` or virtual time ``limit`` (absolute).

        Returns early if no sleeper is left (nothing more can happen).
        """
        while True:
            await self._quiesce()
            if done():
                return
            while self._due and self._due[0][2].done():
                heapq.heappop(self._due)
            if not self._due:
                return
            when = self._due[0][0]
            if when > limit:
                self._now = max(self._now, limit)
                return
            self._now = max(self._now, when)
            self.jumps += 1
            while self._due and self._due[0][0] <= self._now:
                _, _, fut = heapq.heappop(self._due)
                if not fut.done():
                    fut.set_result(None)


class ScaledClock:
    """Wall time sped up ``factor`` times from ``epoch`` (a ``time.time()`` value shared by processes)."""

    def __init__(self, factor: float, epoch: float | None = None, start: float = START) -> None:
        self.factor = factor
        self.epoch = time.time() if epoch is None else epoch
        self.start = start

    def now(self) -> float:
        return self.start + (time.time() - self.epoch) * self.factor

    def __call__(self) -> float:
        return self.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)
