"""Database faults while driving jobs: retried with backoff, said plainly, never a job's failure.

A locked database, a full disk or a failing device (``storage.faults``) says nothing about a job: the
vendor may still be rendering it, and the same write works once the operator has fixed the disk. So
the runner's reads and writes of a job go through ``Durable``, which repeats each one — with jittered
exponential backoff, keeping what it was about to store (a remote id, a finished video) in memory —
until it lands. ``DbHealth`` is the one place that knows the database is failing: it logs the first
error and what to do at once, then a reminder now and then (not one line per retry of every job),
says when writes work again, and tells its watchers (the instance file ``doctor`` reads).

Once the engine is stopping (``closing``) a retry gives up and raises: the state already persisted
is what the next start resumes from.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from bot.engine.clock import Clock
from storage import jobs, ledger
from storage.db import Database, Tx
from storage.faults import advice, describe, is_storage_fault
from storage.jobs import JobRow
from storage.states import ACTIVE, JobState

log = logging.getLogger(__name__)
T = TypeVar("T")
Settle = Literal["capture", "release"]

BACKOFF_BASE = 0.25  # seconds before the first retry; doubled each time
BACKOFF_CAP = 10.0  # never longer than this between two tries: recovery is noticed quickly
REMIND_EVERY = 60.0  # while the database keeps failing, one reminder line this often


@dataclass(frozen=True)
class DbStatus:
    """What ``doctor`` and the logs say: failing since when, how often, the last error and the fix."""

    failing_since: float | None = None
    errors: int = 0
    last_error: str | None = None
    advice: str | None = None

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


class DbHealth:
    """Whether the engine's database writes work, shared by every job's driver."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.status = DbStatus()
        self.closing = False  # the engine is stopping: retries give up
        self._reminded = 0.0
        self._watchers: list[Callable[[DbStatus], None]] = []

    def watch(self, watcher: Callable[[DbStatus], None]) -> None:
        self._watchers.append(watcher)

    def _tell(self) -> None:
        for watcher in self._watchers:
            try:
                watcher(self.status)
            except Exception:
                log.exception("database status watcher %r failed", watcher)

    def failed(self, exc: BaseException, what: str) -> None:
        now = self._clock.now()
        text, fix = describe(exc), advice(exc)
        first = not self.status.failing
        self.status = DbStatus(
            failing_since=now if first else self.status.failing_since,
            errors=self.status.errors + 1,
            last_error=text,
            advice=fix,
        )
        self._tell()  # cheap (a page in memory): doctor always sees the latest count
        if first:
            log.error("database error while %s: %s — %s; jobs are kept and retried", what, text, fix)
            self._reminded = now
        elif now - self._reminded >= REMIND_EVERY:
            since = now - (self.status.failing_since or now)
            log.error(
                "database still failing after %.0fs (%d errors), last while %s: %s — %s",
                since,
                self.status.errors,
                what,
                text,
                fix,
            )
            self._reminded = now

    def worked(self) -> None:
        if not self.status.failing:
            return
        since = self._clock.now() - (self.status.failing_since or 0.0)
        log.warning(
            "database writes work again after %.0fs (%d errors); jobs go on", since, self.status.errors
        )
        self.status = DbStatus()
        self._tell()

    async def pause(self, exc: BaseException, what: str) -> bool:
        """After a fault ``retry`` did not catch: report it, wait a backoff; False when stopping."""
        if self.closing:
            return False
        self.failed(exc, what)
        await self._clock.sleep(backoff(self.status.errors))
        return not self.closing

    async def retry(self, what: str, op: Callable[[], Awaitable[T]], *, write: bool = True) -> T:
        """``await op()`` until it does not fail with a storage fault; other errors propagate.

        A write that lands says the database works again; a read does not (in WAL mode reads go on
        while writes fail), so ``write=False`` never ends a failing spell.
        """
        failures = 0
        while True:
            try:
                value = await op()
            except Exception as exc:
                if self.closing or not is_storage_fault(exc):
                    raise
                self.failed(exc, what)
                failures += 1
                await self._clock.sleep(backoff(failures))
                continue
            if write:
                self.worked()
            return value


def backoff(failures: int) -> float:
    """Jittered exponential backoff (the upper half random), so many drivers do not retry in step."""
    cap = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(failures - 1, 20))
    return cap / 2 + random.uniform(0, cap / 2)


class LeaseLost(Exception):
    """Another process took the job over (its lease epoch moved on): stop driving it, write nothing."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} is driven by another process now")
        self.job_id = job_id


class Durable:
    """The runner's reads and writes of a job, each repeated until it lands (``DbHealth.retry``).

    Every write of a job this process drives names the lease epoch it was taken with (``epochs``,
    kept by the runner): once another process has taken the job over, the write changes nothing and
    ``LeaseLost`` says so — as does a read that finds the epoch moved on.
    """

    def __init__(self, db: Database, health: DbHealth) -> None:
        self._db = db
        self.health = health
        self.epochs: dict[int, int] = {}  # job -> the lease epoch this process drives it under

    async def call(self, what: str, op: Callable[[], Awaitable[T]], *, write: bool = True) -> T:
        return await self.health.retry(what, op, write=write)

    async def get(self, job_id: int) -> JobRow:
        job = await self.call("reading a job", lambda: jobs.get(self._db, job_id), write=False)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        epoch = self.epochs.get(job_id)
        if epoch is not None and job.lease_epoch != epoch:
            raise LeaseLost(job_id)
        return job

    async def update(self, job_id: int, **values: Any) -> None:
        lease = self.epochs.get(job_id)
        changed = await self.call(
            "updating a job", lambda: jobs.update(self._db, job_id, lease=lease, **values)
        )
        if not changed and lease is not None:
            raise LeaseLost(job_id)

    async def move(self, job_id: int, expected: tuple[JobState, ...], state: JobState, **values: Any) -> bool:
        """``jobs.transition_in`` in a transaction of its own; True if the job moved."""
        lease = self.epochs.get(job_id)

        async def once() -> bool:  # one trip to the write connection
            return await self._db.write(
                lambda tx: jobs.transition_in(tx, job_id, expected, state, lease=lease, **dict(values))
            )

        return await self._moved(job_id, await self.call(f"moving a job to {state.value}", once))

    async def settle(self, job_id: int, state: JobState, settle: Settle, **values: Any) -> bool:
        """End the job in ``state`` and capture or release its hold, atomically and at most once."""
        lease = self.epochs.get(job_id)

        async def body(tx: Tx) -> bool:
            moved = await jobs.transition_in(tx, job_id, ACTIVE, state, lease=lease, **dict(values))
            if moved:
                if settle == "capture":
                    await ledger.capture(tx, job_id)
                else:
                    await ledger.release(tx, job_id, state.value)
            return moved

        async def once() -> bool:  # the transition and the settlement in one trip (a group's)
            return await self._db.group_write(body)

        return await self._moved(job_id, await self.call(f"ending a job as {state.value}", once))

    async def _moved(self, job_id: int, moved: bool) -> bool:
        """A move that did not land: the job was elsewhere (False), or is no longer ours (raises)."""
        if not moved and job_id in self.epochs:
            await self.get(job_id)
        return moved
