"""Which jobs this process drives: its lease, renewed while it lives, and the jobs it takes over.

Every process that runs an engine has a name (``owner``) and a lease row (``storage.leases``). At
start it takes every free job — one whose owner's lease lapsed or was handed back — raising each
job's epoch, and hands them to the engine page by page (``adopt``). On a database several processes
share, it then renews its lease every third of the lease's length and looks for free jobs as often,
so a process that died has its jobs driven elsewhere within about one lease.
Stopping hands the lease back at once, for the others to take over without waiting for it to lapse.

A process that could not renew in time may find some of its jobs taken: their drivers learn it at
their next write (``db_retry.LeaseLost``) and stop; the jobs nobody took are still its own.
SQLite opens to one process only (``bot.instance``), so there every other lease is a dead process's
and is dropped at start; nobody reads the lease afterwards, so it is not renewed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

from bot.engine.clock import Clock
from storage import leases
from storage.db import Database
from storage.faults import is_storage_fault
from storage.jobs import JobRow

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0  # a dead process's jobs are driven elsewhere about this long after it died
TAKE_PAGE = 500

# ``free``: a process handed its jobs back; ``joined``: a process started (the others renew now, and
# so know it); ``ended:<id>``: a job ended elsewhere; ``take:<owner>``: a new job was handed to ``owner``.
CHANNEL = "jobs"
Adopt = Callable[[list[JobRow]], Awaitable[None]]
Ended = Callable[[int], None]
Load = Callable[[], int]
Live = Callable[[int, int], None]  # how many processes are live, and this one's place among them


def owner_name(role: str) -> str:
    """A name no other process has had: the role, host and pid for people, a random part for truth."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        adopt: Adopt,
        ended: Ended,
        *,
        owner: str,
        role: str = "run",
        seconds: float = LEASE_SECONDS,
        load: Load = lambda: 0,
        live: Live = lambda _count, _rank: None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._adopt = adopt
        self._ended = ended  # a job another process ended (a member's cancel): stop driving it
        self.role = role
        self.seconds = seconds
        self.owner = owner
        self._load = load  # how many jobs this process drives, told with each renewal
        self._live = live  # told how many processes are live, and this one's place, when that changes
        self.live, self._rank = 1, 0
        self._peers: list[leases.Peer] = []  # the live processes, as this process's last renewal read them
        self._read_at = 0.0
        self._handed: Counter[str] = Counter()  # jobs handed to each since that read
        self._loop: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._unlisten: Callable[[], None] | None = None

    async def start(self) -> None:
        """Hold the lease and take every free job (handed to ``adopt`` a page at a time); where other
        processes share the database, keep renewing and taking over."""
        await self._renew()
        if not self._db.shared:
            await leases.forget_others(self._db, self.owner)
        self._unlisten = self._db.listen(CHANNEL, self._heard)
        taken = await self.take_free()
        log.info("holding the lease as %s; took %d job(s) to drive", self.owner, taken)
        if self._db.shared:  # alone on SQLite: nobody reads the lease, nothing is ever left to take
            self._loop = asyncio.create_task(self._run(), name="leases")
            await self._db.notify(CHANNEL, "joined")

    def wake(self) -> None:
        """Look for free jobs now (another process said it stopped, or queued work for anyone)."""
        self._wake.set()

    def hand_out(self, now: float) -> str:
        """Which process drives a new job: of the live ones whose lease was renewed on time at the
        last renewal here (a process that just died gets nothing new), the one driving the fewest
        jobs — counting those handed to it since — and this one when it is among the fewest.

        Read from this process's copy, not the database: every command of a gateway is handed out
        here, in one event loop, so a burst spreads evenly however many transactions are in flight;
        each renewal (a third of a lease) reads everyone's true loads again. ``took_back`` undoes one
        whose job was never made."""
        on_time = [
            peer
            for peer in self._peers
            if peer.until - self._read_at >= self.seconds / 2 and peer.until > now
        ]
        if not on_time:
            return self.owner
        chosen = min(
            on_time,
            key=lambda p: (p.load + self._handed[p.owner], p.owner != self.owner, p.owner),
        ).owner
        self._handed[chosen] += 1
        return chosen

    def took_back(self, owner: str) -> None:
        """A job ``hand_out`` gave ``owner`` was not made after all (refused, or a fault)."""
        if self._handed[owner] > 0:
            self._handed[owner] -= 1

    async def hand_over(self, owner: str) -> None:
        """Tell ``owner`` a job was handed to it: it takes it now rather than at its next renewal."""
        await self._db.notify(CHANNEL, f"take:{owner}")

    async def ended(self, job_id: int) -> None:
        """Tell every process that ``job_id`` ended here (its driver, wherever it is, lets it go)."""
        await self._db.notify(CHANNEL, f"ended:{job_id}")

    def _heard(self, payload: str) -> None:
        kind, _, rest = payload.partition(":")
        if kind == "ended" and rest.isdigit():
            self._ended(int(rest))
        elif kind in ("free", "joined", "*") or (kind == "take" and rest == self.owner):
            self.wake()

    async def take_free(self) -> int:
        """Take free jobs until none is left; how many were taken."""
        taken, after = 0, 0
        while page := await leases.take(
            self._db, self.owner, now=self._clock.now(), after=after, limit=TAKE_PAGE
        ):
            after = page[-1].id
            taken += len(page)
            await self._adopt(page)
            if len(page) < TAKE_PAGE:
                break
        return taken

    async def stop(self) -> None:
        """Stop renewing and hand the lease back (the jobs stay as they are, for whoever is next)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        with contextlib.suppress(Exception):  # a database that is down: the lease lapses by itself
            await leases.retire(self._db, self.owner)
            await self._db.notify(CHANNEL, "free")

    async def _renew(self) -> None:
        now = self._clock.now()
        self._peers = await leases.renew(
            self._db, self.owner, self.role, now=now, until=now + self.seconds, load=self._load()
        )
        self._read_at, self._handed = now, Counter()
        live = max(1, len(self._peers))
        owners = [peer.owner for peer in self._peers]  # by name: every process ranks them alike
        rank = owners.index(self.owner) if self.owner in owners else 0
        if (live, rank) != (self.live, self._rank):
            self.live, self._rank = live, rank
            self._live(live, rank)

    async def _run(self) -> None:
        """Renew every third of the lease, and take over what is free as often."""
        while True:
            # ``asyncio.timeout``, not ``wait_for``: on 3.11 a wake landing with a cancel loses the cancel.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.seconds / 3):
                    await self._wake.wait()
            self._wake.clear()
            try:
                taken = await self.take_free()
                await self._renew()  # after the take: the load it tells counts the jobs just taken
                if taken:
                    log.info("took over %d job(s) another process had left", taken)
            except Exception as exc:
                if not is_storage_fault(exc):
                    raise
                log.warning("could not renew this process's lease (%s); trying again", type(exc).__name__)
