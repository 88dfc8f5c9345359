"""The submit line: which queued job goes next, and with which key.

One fair line per profile (FIFO per member, round-robin across members and servers) and one key
pool per profile (hourly budgets, task slots, cool-downs). A dispatcher task per profile hands
the next job a key as soon as a key can take it; the job's runner awaits that turn. After each
hand-out, the jobs behind are told their new place.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping

from bot.engine.budget import KeyPool
from bot.engine.clock import Clock
from bot.engine.fair_queue import FairQueue
from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile
from storage.jobs import JobRow

POSITION_UPDATES = 20  # queued jobs told their new place after each dispatch

Announce = Callable[[JobRow], Awaitable[None]]


class Dispatcher:
    def __init__(self, profiles: Mapping[str, ProviderProfile], clock: Clock) -> None:
        self.pools = {
            name: KeyPool(
                p.keys,
                per_hour=p.requests_per_hour,
                max_tasks=p.max_concurrent,
                cooldown=p.timing.rate_limit_cooldown,
                clock=clock,
            )
            for name, p in profiles.items()
        }
        self._queues = {name: FairQueue() for name in profiles}
        self._turns: dict[int, asyncio.Future[ApiKey]] = {}  # queued job -> the key it is given
        # A queued job's row changes only by leaving the queue, so the row it was queued with is
        # what its position updates show: no database read per waiting job per dispatch.
        self._rows: dict[int, JobRow] = {}
        self._work = {name: asyncio.Event() for name in profiles}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._announce: Announce | None = None

    def on_moved(self, announce: Announce) -> None:
        """Who tells a queued job it moved up (the engine's events)."""
        self._announce = announce

    def position(self, job_id: int) -> int | None:
        for queue in self._queues.values():
            if job_id in queue:
                return queue.position(job_id)
        return None

    def queue_up(self, job: JobRow, *, front: bool = False) -> None:
        """Put ``job`` in its profile's line; its runner awaits ``turn(job.id)``."""
        self._queues[job.profile].push(job.id, job.guild_id, job.user_id, front=front)
        self._turns[job.id] = asyncio.get_running_loop().create_future()
        self._rows[job.id] = job
        self._work[job.profile].set()
        if job.profile not in self._tasks:
            self._tasks[job.profile] = asyncio.create_task(
                self._dispatch(job.profile), name=f"dispatch-{job.profile}"
            )

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
        self._queues[job.profile].remove(job.id)
        self._rows.pop(job.id, None)
        turn = self._turns.pop(job.id, None)
        if turn is not None and turn.done() and not turn.cancelled():
            self.pools[job.profile].release_task(turn.result().name)
        elif turn is not None:
            turn.cancel()

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        for queue in self._queues.values():
            while queue.pop() is not None:
                pass
        self._turns.clear()
        self._rows.clear()

    async def _dispatch(self, profile: str) -> None:
        """Hand keys to queued jobs of ``profile`` in fair order, as budgets and slots allow."""
        queue, pool, work = self._queues[profile], self.pools[profile], self._work[profile]
        while True:
            while not queue:
                work.clear()
                await work.wait()
            key = await pool.acquire_task()
            job_id = queue.pop()
            if job_id is not None:
                self._rows.pop(job_id, None)
            turn = self._turns.get(job_id) if job_id is not None else None
            if turn is None or turn.done():
                pool.release_task(key.name)  # the line emptied (a cancel) while waiting for a key
                continue
            turn.set_result(key)
            if self._announce is None:
                continue
            for waiting in queue.order(POSITION_UPDATES):  # everyone behind moved up one place
                row = self._rows.get(waiting)
                if row is not None:
                    await self._announce(row)
