"""Group commit: concurrent writes share one transaction, each in a savepoint of its own.

Why: a ledger operation is a few statements, and on SQLite what it costs beyond them is everything
around them — the write lock handed over, a trip to the write connection's thread and back,
``BEGIN``, a WAL commit — paid once per operation, one operation at a time. Here the operations
waiting at the same moment ride in one transaction (one trip, one commit), and each stays what it
was alone:

* **atomic on its own**: each body runs between ``SAVEPOINT`` and ``RELEASE``; one that raises is
  rolled back to its savepoint and its caller gets its own exception, the others still commit;
* **the same SQL rules**: the bodies are unchanged, so ``ON CONFLICT DO NOTHING RETURNING`` still
  tells a replay apart and ``UPDATE … WHERE balance >= cost`` still refuses an overdraft — a later
  body in the batch sees what the earlier ones wrote, as the next transaction would have;
* **all or nothing together**: if the transaction itself fails (its commit, the disk, the
  connection), every caller of the batch gets that error and none of the batch is applied;
* **no one fails for another's locks**: on PostgreSQL a batch holds the rows of all its bodies, so a
  body may deadlock with another process's transaction where alone it would only have waited; such
  a body (or a whole batch PostgreSQL ended) is written again alone, after the batch — and a body
  alone that PostgreSQL ended so (another lane's batch held its rows) is written again a few times.

No caller waits to gather a batch: a flusher takes whatever is waiting when it runs (the loop
turns once after the first caller) and, while one batch is being written, the next one gathers.
After a batch it turns the loop once more before it stops: the callers it just answered resume in
that turn, and what they write next is the next batch (no new flusher, no turn lost for it).
A batch of one is that body's own transaction, without a savepoint: a lone caller pays one turn of
the loop more than ``Database.write``.

What a batch costs beyond its bodies' SQL is paid on the write connection's thread, the one thing
every write waits for, so it is kept small there: one savepoint at a time, released before the next
is opened (savepoints left open to nest make every later page write check each of them: 64 deep,
a hold→release cost 1.6 times as much), all of them on one cursor.

On SQLite the batch is one ``Database.write``, run whole on the connection's thread: a body may
await only its ``tx`` (one that awaits anything else refuses the whole batch, as it would have
refused its own transaction). On PostgreSQL a batch holds at most 64 savepoints, the
subtransactions a server session keeps in its cache (past that, every other session's snapshots
slow down), and "release this one, open the next" is one round trip. SQLite writes one batch at a
time (it has one writer); PostgreSQL writes up to ``LANES`` at once, each on a connection of its own,
the waiting bodies shared evenly among them: there a transaction's statements are round trips a
single connection makes one after another, and the server already flushes concurrent commits
together, so one batch at a time was measured slower than a transaction each (0.5–0.7x at 64 at
once); eight lanes were 1.5–1.9x.

Callers wake one hop after the flusher's task, so the batch withholds its commit's delivery
(``CommitOrder.withhold``) until they have: a read that sees the batch resumes after its writers,
as it would after a write of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import sqlite3
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from storage.tx import Body, ThreadTx, Tx

if TYPE_CHECKING:
    from storage.db import Database
    from storage.worker import CommitOrder

T = TypeVar("T")
MAX_BATCH = {"sqlite": 128, "postgres": 64}  # PostgreSQL's: PGPROC_MAX_CACHED_SUBXIDS
LANES = {"sqlite": 1, "postgres": 8}  # batches written at once; PostgreSQL's leave 2 of the pool's 10
OPEN = "SAVEPOINT group_write"
NEXT = ("RELEASE SAVEPOINT group_write", OPEN)  # the last one is released by COMMIT
UNDO = "ROLLBACK TO SAVEPOINT group_write"
LOCK_CONFLICTS = {"40P01", "40001"}  # deadlock detected, serialization failure (PostgreSQL's codes)
CONFLICT_TRIES = 5  # a lone body ended by a lock conflict is written again this often
CONFLICT_PAUSE = 0.005  # seconds, doubled each time: the longest pause before a try


@dataclass(slots=True)
class _Waiting(Generic[T]):
    """One submitted body and where its outcome goes (a caller cancelled meanwhile: nowhere)."""

    body: Body[T]
    future: asyncio.Future[T]
    value: Any = None
    error: Exception | None = None
    again: bool = False  # ended by a lock conflict with another transaction: written alone after


class _Batch:
    """The bodies of one transaction; ``run`` is that transaction's body."""

    def __init__(self, items: list[_Waiting[Any]], order: CommitOrder) -> None:
        self.items = items
        self.order = order
        self.withheld = False  # its commit's delivery is the flusher's to report
        self._cursor: sqlite3.Cursor | None = None  # SQLite's savepoints, all on one cursor

    async def run(self, tx: Tx) -> None:
        """Every body in its own savepoint, its value or exception kept for its caller.

        A failure outside the bodies (a savepoint refused: the transaction is gone) is raised, and
        fails the whole batch. A batch of one is its body's own transaction: its error is raised.
        """
        if len(self.items) == 1:
            item = self.items[0]
            item.value = await item.body(tx)
        else:
            for n, item in enumerate(self.items):
                await self._statements(tx, NEXT if n else (OPEN,))
                try:
                    item.value = await item.body(tx)
                except Exception as exc:  # the body's own refusal: undo it alone
                    item.error = exc
                    try:
                        await tx.execute(UNDO)
                    except Exception:  # the error took the transaction with it (a full disk)
                        raise exc from None
                    if _conflict(exc):  # not the body's doing: the locks of the batch's others were
                        item.error, item.again = None, True
        self.order.withhold()  # COMMIT is next (on SQLite, on the connection's thread)
        self.withheld = True

    async def _statements(self, tx: Tx, sql: tuple[str, ...]) -> None:
        """Savepoint statements, the cheapest way each backend runs them: on SQLite straight on the
        connection, on one cursor kept for the batch (no rows to fetch, no cursor made and dropped
        for each: two of them a body), on PostgreSQL in one round trip."""
        if isinstance(tx, ThreadTx):
            await tx._call(self._savepoints, sql)
        else:
            await tx.execute("; ".join(sql))  # no parameters: one simple query, several statements

    def _savepoints(self, conn: sqlite3.Connection, sql: tuple[str, ...]) -> None:
        if self._cursor is None:
            self._cursor = conn.cursor()
        for one in sql:
            self._cursor.execute(one)


class GroupCommit:
    """A queue of write bodies in front of one ``Database``; ``db.group_write`` uses the one it owns."""

    def __init__(self, db: Database, *, max_batch: int | None = None) -> None:
        self._db = db
        self._max = max_batch if max_batch is not None else MAX_BATCH[db.backend]
        self._waiting: deque[_Waiting[Any]] = deque()
        self._lanes = LANES[db.backend]
        self._flushers: set[asyncio.Task[None]] = set()
        self.batches = 0  # transactions written (the benchmark reports operations per commit)

    async def write(self, body: Body[T]) -> T:
        """Run ``body(tx)`` in the next group transaction; its value or exception comes back here.
        Once submitted it runs whole, even if the caller is cancelled meanwhile."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(body, future))
        if len(self._flushers) < self._lanes:  # no caller's context (its log ids) on others' bodies
            flusher = asyncio.create_task(self._flush(), context=contextvars.Context())
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                share = -(-len(self._waiting) // len(self._flushers))  # an even share of the lanes
                take = min(self._max, share)
                await self._write(_Batch([self._waiting.popleft() for _ in range(take)], self._db._order))
                if not self._waiting:  # the batch's callers resume in this turn: write what they ask next
                    await asyncio.sleep(0)
        except BaseException as exc:  # the flusher itself cancelled (the loop closing): nobody hangs
            while self._waiting:
                _fail(self._waiting.popleft().future, exc)
            raise

    async def _write(self, batch: _Batch, *, tries: int = 0) -> None:
        try:
            await self._db.write(batch.run)
        except Exception as exc:
            if len(batch.items) > 1 and _conflict(exc):
                # Another transaction took the rows in another order (another process's, or another
                # lane's here; PostgreSQL chose this batch to end): nothing of it was applied, so
                # each body goes again on its own, holding no other body's locks — as it would have
                # without the batching.
                for item in batch.items:
                    item.value, item.error, item.again = None, None, False
                    await self._write(_Batch([item], batch.order))
                return
            if _conflict(exc) and tries < CONFLICT_TRIES:
                # A body alone, ended the same way: nothing of it was applied either. The lanes'
                # batches conflict with one another as any concurrent transactions may, so it goes
                # again after a short, random pause (the other transaction finishes meanwhile).
                await asyncio.sleep(random.uniform(0, CONFLICT_PAUSE * 2**tries))
                batch.items[0].value = None
                await self._write(_Batch(batch.items, batch.order), tries=tries + 1)
                return
            for item in batch.items:  # nothing of the batch was applied: every caller hears why
                _fail(item.future, exc)
        except BaseException as exc:  # cancelled (the loop closing): nobody is left waiting
            for item in batch.items:
                _fail(item.future, exc)
            raise
        else:
            self.batches += 1
            for item in batch.items:
                if item.again:  # the batch's locks are gone with its commit: now it can go through
                    item.again = False
                    await self._write(_Batch([item], batch.order))
                    continue
                if item.future.done():  # its caller was cancelled; the body ran all the same
                    continue
                if item.error is not None:
                    item.future.set_exception(item.error)
                else:
                    item.future.set_result(item.value)
        finally:
            if batch.withheld:  # queued behind the callers' wake-ups: they resume first
                asyncio.get_running_loop().call_soon(batch.order._delivered, 1)


def _conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: PostgreSQL ended this work for another's sake."""
    return getattr(exc, "sqlstate", None) in LOCK_CONFLICTS


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
