"""The submit line: which queued job goes next, and with which key.

One fair line per profile (FIFO per member, round-robin across members and servers) and one key
pool per profile (task slots, cool-downs) over hourly budgets kept per key value, shared by every
profile that holds the key (``bot.engine.budget``). A dispatcher task per profile hands
the next job a key as soon as a key can take it; the job's runner awaits that turn. After each
hand-out, the first jobs behind are told their new place (``positions``: coalesced, changed only).
A burst of hand-outs yields to the event loop between slices (``slices``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

from bot.engine.budget import Budgets, KeyPool
from bot.engine.clock import Clock
from bot.engine.fair_queue import FairQueue
from bot.engine.positions import Announce, Board
from bot.engine.slices import Slicer
from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile
from storage.db import Database
from storage.jobs import JobRow


class Dispatcher:
    def __init__(
        self,
        profiles: Mapping[str, ProviderProfile],
        clock: Clock,
        *,
        db: Database | None = None,
        owner: str = "",
    ) -> None:
        # One budget per key value, shared by every profile that holds the key (``db``: its calls
        # are logged there, so a restart remembers them); one pool per profile over those budgets.
        self.budgets = Budgets(clock, db, owner=owner)
        self.pools: dict[str, KeyPool] = {name: self.budgets.pool(p) for name, p in profiles.items()}
        self._queues = {name: FairQueue() for name in profiles}
        for name, pool in self.pools.items():  # while jobs wait in a line, its keys spend nothing spare
            pool.watch_line(self._queues[name].__len__)
        self._turns: dict[int, asyncio.Future[ApiKey]] = {}  # queued job -> the key it is given
        # A queued job's row changes only by leaving the queue, so the row it was queued with is
        # what its position updates show: no database read per waiting job per dispatch.
        self._rows: dict[int, JobRow] = {}
        self._boards = {
            name: Board(q, self._rows.get, clock, gap=profiles[name].timing.poll_interval)
            for name, q in self._queues.items()
        }
        self._work = {name: asyncio.Event() for name in profiles}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._announce: Announce | None = None

    def share_slots(self, processes: int, rank: int) -> None:
        """``processes`` live processes share each key's task slots, this one ``rank``-th
        (``KeyPool.share``)."""
        for pool in self.pools.values():
            pool.share(processes, rank)

    def on_moved(self, announce: Announce) -> None:
        """Who tells a queued job it moved up (the engine's events)."""
        self._announce = announce
        for board in self._boards.values():
            board.announce = announce

    def position(self, job_id: int) -> int | None:
        row = self._rows.get(job_id)  # every queued job's row is here, under its profile
        return self._queues[row.profile].position(job_id) if row is not None else None

    def line_length(self, job_id: int) -> int | None:
        """How many jobs wait in ``job_id``'s line, itself included (None when it is not queued)."""
        row = self._rows.get(job_id)
        return len(self._queues[row.profile]) if row is not None else None

    def tell_position(self, job_id: int) -> int | None:
        """``position``, for an event that will show it: the line's announcements skip it until it
        changes again."""
        position = self.position(job_id)
        row = self._rows.get(job_id)
        if row is not None and position is not None:
            self._boards[row.profile].told[job_id] = position
        return position

    def queue_up(self, job: JobRow, *, front: bool = False) -> None:
        """Put ``job`` in its profile's line (once: a job in line already stays where it is); its
        runner awaits ``turn(job.id)``."""
        if job.id in self._rows:
            return
        self._queues[job.profile].push(job.id, job.guild_id, job.user_id, front=front)
        self._turns[job.id] = asyncio.get_running_loop().create_future()
        self._rows[job.id] = job
        self._work[job.profile].set()
        self._boards[job.profile].moved()  # a new member's job goes ahead of others' later ones
        if job.profile not in self._tasks:
            self._tasks[job.profile] = asyncio.create_task(
                self._dispatch(job.profile), name=f"dispatch-{job.profile}"
            )

    def row(self, job_id: int) -> JobRow | None:
        """The row of a job in line here (None: not in line in this process)."""
        return self._rows.get(job_id)

    def remember_message(self, job_id: int, message_id: int) -> None:
        if job_id in self._rows:
            self._rows[job_id] = dataclasses.replace(self._rows[job_id], message_id=message_id)

    async def turn(self, job_id: int) -> ApiKey:
        """Wait until the dispatcher gives this queued job a key (and a task slot on it)."""
        try:
            return await self._turns[job_id]
        finally:
            self._turns.pop(job_id, None)

    def dequeue(self, job: JobRow) -> None:
        """Take a job out of the line (cancelled); a key it was given but never used goes back."""
        if self._queues[job.profile].remove(job.id):
            self._boards[job.profile].moved()
        self._boards[job.profile].left(job.id)
        self._rows.pop(job.id, None)
        turn = self._turns.pop(job.id, None)
        if turn is not None and turn.done() and not turn.cancelled():
            self.pools[job.profile].release_task(job.id)
        elif turn is not None:
            turn.cancel()

    def let_go(self, job: JobRow) -> None:
        """Forget a job another process drives now: out of the line, its slot and reservations back."""
        self.dequeue(job)
        self.pools[job.profile].release_task(job.id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        for board in self._boards.values():
            await board.stop()
        for queue in self._queues.values():
            while queue.pop() is not None:
                pass
        self._turns.clear()
        self._rows.clear()

    async def _dispatch(self, profile: str) -> None:
        """Hand keys to queued jobs of ``profile`` in fair order, as budgets and slots allow."""
        queue, pool, work = self._queues[profile], self.pools[profile], self._work[profile]
        board, slicer = self._boards[profile], Slicer()
        while True:
            while not queue:
                work.clear()
                await work.wait()
            given = await pool.acquire_task(queue.pop)  # the job is taken from the line only then
            if given is None:
                continue  # the line emptied (a cancel) while waiting for a key
            job_id, key = given
            self._rows.pop(job_id, None)
            board.left(job_id)
            turn = self._turns.get(job_id)
            if turn is None or turn.done():
                pool.release_task(job_id)  # cancelled meanwhile: the key goes back
                continue
            turn.set_result(key)
            board.moved()  # everyone behind moved up one place
            await slicer.tick()
