"""Creates in flight at shutdown: given a bounded grace to come back and have their remote ids stored.

A create is not idempotent and the vendor bills it the moment it accepts it. Cancelled half-way
(``docker stop`` during a create), the job would be left ``submitting`` with no remote id: the next
start could only report it unconfirmed and refund it, while the vendor makes and bills the video.
So each create — the call and the write of its remote id — runs as a task of its own
(``guard``), which a cancelled job driver does not take down; ``drain`` lets those finish for up to
the grace (``SHUTDOWN_GRACE``) before it cancels what is left, and says how many it had to.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.engine.clock import Clock
from bot.engine.db_retry import Durable
from bot.providers.base import AnyRequest, ApiKey, RemoteTask, VideoProvider
from storage.jobs import JobRow
from storage.states import JobState

log = logging.getLogger(__name__)
T = TypeVar("T")


class InFlight:
    def __init__(self, store: Durable, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._tasks: dict[asyncio.Task[Any], int] = {}  # create task -> its job id

    def __len__(self) -> int:
        return len(self._tasks)

    async def submit(
        self, job: JobRow, provider: VideoProvider, request: AnyRequest, key: ApiKey, job_timeout: float
    ) -> RemoteTask:
        """Send the create and store its remote id (the job is then ``running``), as one guarded unit."""
        return await self.guard(job.id, self._create(job, provider, request, key, job_timeout))

    async def _create(
        self, job: JobRow, provider: VideoProvider, request: AnyRequest, key: ApiKey, job_timeout: float
    ) -> RemoteTask:
        task = await provider.submit(request, key)
        now = self._clock.now()
        try:
            await self._store.move(
                job.id,
                (JobState.SUBMITTING,),
                JobState.RUNNING,
                remote_id=task.remote_id,
                remote_json=json.dumps(task.extra) if task.extra else None,
                submitted_at=now,
                deadline_at=now + job_timeout,
            )
        except BaseException:
            log.error(
                "job %s: the vendor accepted it as %s, but that id was not stored", job.id, task.remote_id
            )
            raise
        return task

    async def guard(self, job_id: int, create: Coroutine[Any, Any, T]) -> T:
        """Run ``create`` to its end even if the caller is cancelled; return (or raise) what it does."""
        task = asyncio.create_task(create, name=f"create-{job_id}")
        self._tasks[task] = job_id
        task.add_done_callback(self._done)
        return await asyncio.shield(task)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled():
            task.exception()  # retrieved: a caller cancelled meanwhile would otherwise leave it unread

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for every create in flight; cancel the rest. Returns how many."""
        pending = set(self._tasks)
        if not pending:
            return 0
        log.info("waiting up to %.0fs for %d create(s) in flight", grace, len(pending))
        if grace > 0:
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            log.warning(
                "job %s: its create was still in flight after the shutdown grace; cut off (the next "
                "start reports it unconfirmed)",
                self._tasks.get(task),
            )
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)
