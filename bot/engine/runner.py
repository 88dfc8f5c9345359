"""One job's life after it is queued: wait for a key, submit, poll, settle.

Each job is driven by one task. The remote id is stored the moment the vendor gives it; every
state is persisted before it is acted on, so a restart picks the job up where it was. The job ends
in exactly one terminal state that captures or releases its hold in the same transaction. Poll
errors back off and go on until the deadline; they never fail a job, and neither does a database
fault: every read and write of a job is repeated until it lands (``db_retry``). A create runs to its
end even when the bot is stopping, for a bounded grace (``creates``). Whatever a vendor says that
a person could see (stage words, failures, links) is written through ``Scrubber``: no configured key
is ever stored, emitted or shown.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from bot import videos
from bot.engine import polling
from bot.engine.catalog import Catalog
from bot.engine.clock import Clock
from bot.engine.creates import InFlight
from bot.engine.db_retry import DbHealth, Durable, LeaseLost
from bot.engine.dispatcher import Dispatcher
from bot.engine.estimates import History, generation_seconds, key_of
from bot.engine.fallback import Fallbacks, failure_code
from bot.engine.outcomes import INTERNAL, UNCONFIRMED, Reason, of_error, of_task, visible
from bot.engine.poll_loop import PollLoop
from bot.engine.scrub import Scrubber
from bot.i18n import EN, Msg
from bot.logs import log_context
from bot.providers import attempts
from bot.providers.base import REQUEST_ADAPTER, ProviderError, RemoteTask, TaskSnapshot, TaskState
from bot.providers.profiles import Timing
from storage.db import Database
from storage.faults import is_storage_fault
from storage.jobs import JobRow, parts_json
from storage.states import JobState

log = logging.getLogger(__name__)

Settle = Literal["capture", "release"]


class Runner:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        dispatcher: Dispatcher,
        history: History,
        emit: Callable[[JobRow], Awaitable[None]],
        *,
        clock: Clock,
        planner: polling.Planner,
        fallback: Fallbacks,
        health: DbHealth | None = None,
    ) -> None:
        self._db = db
        self.health = health or DbHealth(clock)
        self._store = Durable(db, self.health)
        self._creates = InFlight(self._store, clock)
        self._stopping = False  # no new drivers while stopping: a job spawned now resumes at the next start
        self._fallback = fallback
        self._catalog = catalog
        self._dispatcher = dispatcher
        self._history = history
        self._emit = emit
        self._clock = clock
        self._planner = planner
        self._scrub = Scrubber.of(catalog.profiles())
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._timings = functools.lru_cache(maxsize=4096)(self._timing_for)  # one parse a request
        self._seen_running: dict[int, float] = {}  # job -> its last poll that found it unfinished
        self._polls = PollLoop(
            catalog=catalog,
            dispatcher=dispatcher,
            history=history,
            planner=planner,
            clock=clock,
            store=self._store,
            fallback=fallback,
            seen_running=self._seen_running,
            timing=self.timing,
            apply=self._apply,
            finish=self.finish,
        )

    # ---- the tasks ------------------------------------------------------------------------------

    def driving(self, job_id: int) -> bool:
        return job_id in self._tasks

    def load(self) -> int:
        """How many jobs are driven here (told to the other processes: ``Leases.hand_out``)."""
        return len(self._tasks)

    def spawn(self, job: JobRow) -> None:
        """Drive ``job`` from the row given, just read by the caller: a restart resuming thousands
        of jobs reads each once, in pages, rather than once more per job."""
        if self._stopping or job.id in self._tasks:  # one driver a job, however often it is asked
            return
        task = asyncio.create_task(self._drive(job.id, job), name=f"job-{job.id}")
        self._tasks[job.id] = task
        self._store.epochs[job.id] = job.lease_epoch
        task.add_done_callback(functools.partial(self._forget, job.id))

    def abandon(self, job_id: int) -> None:
        """Stop driving a job that another path settled (a cancel)."""
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()

    def _forget(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]
            self._store.epochs.pop(job_id, None)

    async def stop(self, grace: float = 0.0) -> None:
        """Stop driving jobs, their state persisted; a create in flight gets up to ``grace`` seconds
        to come back and have its remote id stored (the vendor bills it either way)."""
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await self._creates.drain(grace)
        self.health.closing = True  # a write still retrying gives up: the next start resumes from the row
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._stopping = self.health.closing = False

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # ---- one job --------------------------------------------------------------------------------

    async def _job(self, job_id: int) -> JobRow:
        return await self._store.get(job_id)

    async def _drive(self, job_id: int, job: JobRow) -> None:
        with log_context(job_id=job_id):
            while True:
                try:
                    if job.state is JobState.QUEUED:
                        job = await self._submit(job)
                    elif job.state is JobState.SUBMITTING:
                        job = await self._resume_submitting(job)
                    if job.state is JobState.RUNNING:
                        await self._polls.run(job)
                    return
                except asyncio.CancelledError:
                    raise
                except LeaseLost:
                    log.info("job %s: another process drives it now; letting go", job_id)
                    self._dispatcher.let_go(job)
                    return
                except Exception as exc:
                    if not is_storage_fault(exc):
                        log.exception("job %s: internal failure", job_id)
                        await self.finish(
                            job_id, JobState.FAILED, "release", code="INTERNAL", reason=INTERNAL
                        )
                        return
                    # A fault no retried write caught: start again from what is stored, as a
                    # restart would (unless stopping: then the next start does).
                    if not await self.health.pause(exc, "driving a job"):
                        return
                    job = await self._job(job_id)

    async def _resume_submitting(self, job: JobRow) -> JobRow:
        if job.remote_id is None:
            await self.finish(job.id, JobState.FAILED, "release", code="UNCONFIRMED", reason=UNCONFIRMED)
            return await self._job(job.id)
        await self._store.move(job.id, (JobState.SUBMITTING,), JobState.RUNNING)
        self._dispatcher.pools[job.profile].adopt_task(job.id, job.key_name, polls=job.polls)
        return await self._job(job.id)

    async def _submit(self, job: JobRow) -> JobRow:
        pool = self._dispatcher.pools[job.profile]
        provider = self._catalog.provider(job.profile)
        while True:
            key = await self._dispatcher.turn(job.id)
            request = REQUEST_ADAPTER.validate_json(job.request_json)  # not held while thousands wait
            moved = await self._store.move(job.id, (JobState.QUEUED,), JobState.SUBMITTING, key_name=key.name)
            if not moved:  # cancelled while waiting
                pool.release_task(job.id)
                return await self._job(job.id)
            await self._emit(await self._job(job.id))
            try:
                blocked = self._fallback.blocked(job)
                if blocked is not None:
                    raise blocked
                # The create was counted at hand-out; a retry of it (never sent) waits for the key.
                with attempts.gated(
                    pool.gate(job.id, key.name, prepaid=1, floor=self.timing(job).poll_interval)
                ):
                    task = await self._creates.submit(job, provider, request, key, self.timing(job).timeout)
            except ProviderError as exc:
                pool.release_task(job.id)
                if exc.rate_limited:
                    log.warning("job %s: key %s rate-limited at submit; requeued", job.id, key.name)
                    pool.cool_down(key.name, exc.retry_after)
                    await self._store.move(job.id, (JobState.SUBMITTING,), JobState.QUEUED, key_name=None)
                    job = await self._job(job.id)
                    self._dispatcher.queue_up(job, front=True)
                    await self._emit(job)
                    continue
                log.warning("job %s: submit refused: %s (%s)", job.id, exc.code, exc.detail)
                refused = functools.partial(self._fallback.refused, await self._job(job.id), exc)
                fallback = await self._store.call("moving a job to a fallback", refused)
                if fallback is not None:  # a fallback profile makes it: back in line there
                    self._dispatcher.queue_up(fallback, front=True)
                    await self._emit(fallback)
                    return await self._submit(fallback)
                await self.finish(
                    job.id, JobState.FAILED, "release", code=failure_code(exc), reason=of_error(exc)
                )
                return await self._job(job.id)
            except Exception:
                pool.release_task(job.id)
                raise
            self._fallback.circuits.record(job.profile, None)
            return await self._submitted(job, task)

    async def _submitted(self, job: JobRow, task: RemoteTask) -> JobRow:
        job = await self._job(job.id)
        await self._emit(job)
        if task.snapshot is not None:
            await self._apply(job, task.snapshot)
            job = await self._job(job.id)
            if not job.active:  # finished in the create response: the slot is free again
                self._dispatcher.pools[job.profile].release_task(job.id)
        return job

    def timing(self, job: JobRow) -> Timing:
        """When to poll this job, when to give up and how long it should take: its provider's timing
        for its request (a many-shot video is given longer than one clip). Parsed once a request:
        every poll plan and every card's estimate asks."""
        return self._timings(job.profile, job.request_json)

    def _timing_for(self, profile: str, request_json: str) -> Timing:
        return self._catalog.provider(profile).timing_for(REQUEST_ADAPTER.validate_json(request_json))

    async def _apply(self, job: JobRow, snap: TaskSnapshot) -> None:
        """Persist what a person could see of ``snap``; settle the job when it is terminal."""
        if snap.state is TaskState.SUCCEEDED:
            await self._succeeded(job, snap)
            return
        if snap.state is TaskState.FAILED:
            error = snap.error
            await self.finish(
                job.id,
                JobState.FAILED,
                "release",
                code=error.code if error else "FAILED",
                reason=of_task(error),
                **{k: v for k, v in visible(snap).items() if v is not None},  # keep the step it failed at
            )
            return
        seen = self._scrub.fields(visible(snap))
        if all(getattr(job, k) == v for k, v in seen.items()):
            return
        await self._store.update(job.id, **seen)
        await self._emit(await self._job(job.id))

    async def _succeeded(self, job: JobRow, snap: TaskSnapshot) -> None:
        provider = self._catalog.provider(job.profile)
        pool = self._dispatcher.pools[job.profile]
        key = pool.key(job.key_name)
        now = self._clock.now()
        try:
            with attempts.gated(pool.gate(job.id, key.name, prepaid=0, floor=self.timing(job).poll_interval)):
                source = await provider.open_result(snap, key)
        except ProviderError as exc:
            if exc.retryable:  # the video is done; fetching its link failed: the next poll tries again
                log.info("job %s: result not reachable yet (%s)", job.id, exc.code)
                return
            await self.finish(job.id, JobState.FAILED, "release", code=exc.code, reason=of_error(exc))
            return
        data, video_path = source.data, None
        if data is not None:
            video_path = await self._store.call("saving a video", lambda: videos.save(self._db, job.id, data))
        took = generation_seconds(
            snap.vendor_seconds, job.submitted_at, self._seen_running.get(job.id), finished_seen=now
        )
        await self.finish(
            job.id,
            JobState.SUCCEEDED,
            "capture",
            video_url=source.url,
            video_parts=parts_json(source.parts),  # a video left in parts: delivery joins them
            video_path=video_path,
            generation_seconds=took,
            **visible(snap),
        )
        if took is not None:
            self._history.add(key_of(job), took)

    async def finish(
        self,
        job_id: int,
        state: JobState,
        settle: Settle,
        *,
        code: str | None = None,
        message: Msg | None = None,
        reason: Reason | None = None,
        **fields: Any,
    ) -> bool:
        """Move to a terminal state and capture or release the hold, atomically and at most once.

        True when this call ended the job (and its event went out); False when it had already ended.
        A ``reason`` becomes the job's one failure sentence, with the model and credits read from the
        job as it is now (a fallback may have moved it to another model at a trimmed price). Every
        vendor word in the message and ``fields`` is scrubbed of keys first.
        """
        if reason is not None:
            now = await self._job(job_id)
            message = reason.sentence(model=now.model_label or now.model, cost=now.cost)
        message = self._scrub.msg(message) if message is not None else None
        fields = self._scrub.fields(fields)
        moved = await self._store.settle(
            job_id,
            state,
            settle,
            finished_at=self._clock.now(),
            error_code=code,
            error_message=message.render(EN) if message is not None else None,
            error_i18n=message.to_json() if message is not None else None,
            **fields,
        )
        if moved:
            await self._emit(await self._job(job_id))
        return moved
