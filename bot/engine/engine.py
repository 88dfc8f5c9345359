"""The job engine: owns every job from the moment it is queued until its credits are settled.

Each job is driven by one task: submit when its profile has a key with budget, store the remote id
at once, poll on the profile's timing, emit an event for every change a person could see, and end
in exactly one terminal state that captures or releases the hold in the same transaction. Every
state is persisted before it is acted on, so ``start()`` after a restart picks each job up where it
was.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot import videos
from bot.engine import access, allowance, caps, polling, pricing
from bot.engine.budget import KeyPool
from bot.engine.clock import Clock, SystemClock
from bot.engine.events import JobEvent, JobObserver
from bot.engine.fair_queue import FairQueue
from bot.engine.polling import History
from bot.errors import InsufficientCredits, UserError
from bot.i18n import EN, Msg, literal, msg
from bot.providers.base import (
    REQUEST_ADAPTER,
    ApiKey,
    GenerationRequest,
    Kind,
    ProviderError,
    RemoteTask,
    TaskError,
    TaskSnapshot,
    TaskState,
    VideoProvider,
)
from bot.providers.profiles import ProviderProfile
from storage import guilds, jobs, ledger
from storage.db import Database
from storage.jobs import JobRow

log = logging.getLogger(__name__)

INTERACTION_TOKEN_LIFETIME = 15 * 60.0
POSITION_UPDATES = 20  # queued jobs told their new place after each dispatch
UNCONFIRMED_SUBMIT = msg("job.error.unconfirmed_submit")
INTERNAL_FAILURE = msg("job.error.internal")
TIMED_OUT = msg("job.error.timed_out")
CANCELLED = msg("job.error.cancelled")


@dataclass(frozen=True)
class JobOrigin:
    """Where a job came from: plain ids, no discord objects."""

    guild_id: int
    channel_id: int
    user_id: int
    application_id: int | None = None
    interaction_token: str | None = None
    interaction_created_at: float | None = None
    message_id: int | None = None  # the message that shows the job (the interaction's original)
    upload_limit: int | None = None  # bytes the channel accepts as an upload (None: Discord's default)
    locale: str | None = None


@dataclass(frozen=True)
class Quote:
    profile: str
    model: str
    cost: int


class Engine:
    def __init__(
        self,
        db: Database,
        profiles: Mapping[str, ProviderProfile],
        providers: Mapping[str, VideoProvider],
        *,
        default_profile: str | None = None,
        welcome_credits: int = 0,
        clock: Clock | None = None,
        planner: polling.Planner | None = None,
    ) -> None:
        if not profiles:
            raise ValueError("at least one provider profile is needed")
        self._db = db
        self._profiles = dict(profiles)
        self._providers = dict(providers)
        self._default = default_profile or next(iter(self._profiles))
        if self._default not in self._profiles:
            raise ValueError(f"default profile `{self._default}` is not configured")
        self._welcome = welcome_credits
        self._clock = clock or SystemClock()
        self._planner = planner or polling.AdaptivePlanner()
        self._pools = {
            name: KeyPool(
                p.keys,
                per_hour=p.requests_per_hour,
                max_tasks=p.max_concurrent,
                cooldown=p.timing.rate_limit_cooldown,
                clock=self._clock,
            )
            for name, p in self._profiles.items()
        }
        self._observers: list[JobObserver] = []
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._queues = {name: FairQueue() for name in self._profiles}
        self._turns: dict[int, asyncio.Future[ApiKey]] = {}  # queued job -> the key it is given
        # A queued job's row changes only by leaving the queue, so the row it was queued with is
        # what its position updates show: no database read per waiting job per dispatch.
        self._queued_rows: dict[int, JobRow] = {}
        self._work = {name: asyncio.Event() for name in self._profiles}
        self._dispatchers: dict[str, asyncio.Task[None]] = {}
        self._history = History()

    # ---- public API -------------------------------------------------------------------------

    @property
    def db(self) -> Database:
        return self._db

    @property
    def default_profile(self) -> str:
        return self._default

    def provider(self, profile: str | None = None) -> VideoProvider:
        return self._providers[self._profile_name(profile)]

    def subscribe(self, observer: JobObserver) -> None:
        self._observers.append(observer)

    def _profile_name(self, profile: str | None) -> str:
        name = profile or self._default
        if name not in self._profiles:
            raise UserError("errors.unknown_provider", name=name, available=", ".join(sorted(self._profiles)))
        return name

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(self._profiles)

    def profile_for(self, kind: Kind, settings: guilds.GuildSettings | None = None) -> str | None:
        """The profile to use for ``kind``: the server's default if it offers it, then the bot's, then
        the first that does. None when no configured provider offers it."""
        preferred = [settings.default_profile] if settings and settings.default_profile else []
        for name in [*preferred, self._default, *self._profiles]:
            if name in self._providers and kind in self._providers[name].capabilities.kinds:
                return name
        return None

    async def quote(self, req: GenerationRequest, guild_id: int, profile: str | None = None) -> Quote:
        """Validate ``req`` against the profile and price it for this server. Raises ``UserError``."""
        settings = await guilds.get(self._db, guild_id)
        name = self._profile_name(profile or self.profile_for(req.kind, settings))
        provider = self._providers[name]
        if req.model is None and settings.default_model in provider.capabilities.models:
            req = req.model_copy(update={"model": settings.default_model})
        provider.capabilities.validate_request(req)
        model = provider.capabilities.resolve_model(req)
        cost = pricing.cost_of(self._profiles[name], provider.default_prices, model, req.duration, settings)
        return Quote(name, model, cost)

    def price_list(
        self, settings: guilds.GuildSettings, profile: str | None = None
    ) -> list[tuple[str, int, int]]:
        """(model, duration, credits) for every model and duration the profile offers."""
        name = self._profile_name(profile)
        provider = self._providers[name]
        caps = provider.capabilities
        rows: list[tuple[str, int, int]] = []
        for model in caps.models:
            for duration in caps.durations:
                try:
                    cost = pricing.cost_of(
                        self._profiles[name], provider.default_prices, model, duration, settings
                    )
                except pricing.PriceUnknown:
                    continue
                rows.append((model, duration, cost))
        return rows

    async def balance(self, guild_id: int, user_id: int) -> int:
        """The member's spendable credits, after any welcome grant or allowance that is due."""
        settings = await guilds.get(self._db, guild_id)
        async with self._db.transaction() as tx:
            await allowance.top_up_in(tx, settings, user_id, welcome=self._welcome, now=self._clock.now())
            return await ledger.balance_in(tx, guild_id, user_id)

    async def check_access(
        self, guild_id: int, channel_id: int, role_ids: Iterable[int], *, is_manager: bool
    ) -> None:
        """Refuse (``UserError``) when the server does not let this member generate in this channel."""
        access.check_access(await guilds.get(self._db, guild_id), channel_id, role_ids, is_manager=is_manager)

    async def precheck(self, guild_id: int, user_id: int, quote: Quote) -> None:
        """Everything ``enqueue`` would refuse for credits or caps, checked before a command defers.

        Lets the refusal be an ephemeral reply; ``enqueue`` checks again atomically with the hold.
        """
        settings = await guilds.get(self._db, guild_id)
        now = self._clock.now()
        period = allowance.period_key(settings.allowance_period, now) if settings.allowance_period else ""
        row = await self._db.fetchone(
            "SELECT (SELECT balance FROM balances WHERE guild_id = ? AND user_id = ?) AS balance,"
            " (SELECT 1 FROM allowance_grants WHERE guild_id = ? AND user_id = ? AND period = ?) AS granted",
            (guild_id, user_id, guild_id, user_id, period),
        )
        balance, granted = (row["balance"], bool(row["granted"])) if row else (None, False)
        top_up_due = balance is None or bool(settings.allowance_amount and not granted)
        if top_up_due or caps.any_set(settings):  # rare: a write, or the caps' counts, in one transaction
            async with self._db.transaction() as tx:
                await allowance.top_up_in(tx, settings, user_id, welcome=self._welcome, now=now)
                await caps.check_in(tx, settings, user_id, quote.cost, now=now)
                balance = await ledger.balance_in(tx, guild_id, user_id)
        balance = int(balance or 0)
        if balance < quote.cost:
            raise InsufficientCredits(balance, quote.cost)

    async def preflight(self, req: GenerationRequest, quote: Quote) -> None:
        """The provider's own checks that need a network call (after the command deferred, before any
        charge). A refusal becomes a ``UserError`` in the provider's plain words."""
        provider = self._providers[quote.profile]
        try:
            await provider.preflight(req, self._pools[quote.profile].key(None))
        except ProviderError as exc:
            if exc.retryable:
                return  # the provider is slow or down right now: let submit find out and retry
            raise UserError(exc.user_key or "provider.generic", **exc.user_params) from None

    async def enqueue(self, origin: JobOrigin, req: GenerationRequest, profile: str | None = None) -> JobRow:
        """Insert the job and hold its cost in one transaction, then start driving it."""
        quote = await self.quote(req, origin.guild_id, profile)
        settings = await guilds.get(self._db, origin.guild_id)
        now = self._clock.now()
        expires = (origin.interaction_created_at or now) + INTERACTION_TOKEN_LIFETIME
        async with self._db.transaction() as tx:
            await allowance.top_up_in(tx, settings, origin.user_id, welcome=self._welcome, now=now)
            await caps.check_in(tx, settings, origin.user_id, quote.cost, now=now)
            job_id = await jobs.insert(
                tx,
                guild_id=origin.guild_id,
                channel_id=origin.channel_id,
                user_id=origin.user_id,
                application_id=origin.application_id,
                interaction_token=origin.interaction_token,
                interaction_expires_at=expires if origin.interaction_token else None,
                message_id=origin.message_id,
                upload_limit=origin.upload_limit,
                locale=origin.locale,
                profile=quote.profile,
                kind=req.kind.value,
                model=quote.model,
                duration=req.duration,
                request_json=req.model_copy(update={"model": quote.model}).model_dump_json(),
                cost=quote.cost,
                created_at=now,
                updated_at=now,
            )
            try:
                await ledger.hold(tx, origin.guild_id, origin.user_id, job_id, quote.cost)
            except ledger.NotEnoughCredits as exc:
                raise InsufficientCredits(exc.balance, exc.cost) from None
        job = await self._job(job_id)
        self._queue_up(job)
        await self._emit(job)
        self._spawn(job)
        return job

    async def attach_message(self, job_id: int, message_id: int) -> None:
        """Remember which Discord message shows this job (a new one if the old was deleted)."""
        await jobs.update(self._db, job_id, message_id=message_id)
        if job_id in self._queued_rows:
            self._queued_rows[job_id] = dataclasses.replace(self._queued_rows[job_id], message_id=message_id)

    async def mark_delivered(self, job_id: int) -> None:
        await jobs.update(self._db, job_id, delivered_at=self._clock.now())

    async def cancel(self, job_id: int) -> bool:
        """Cancel a job still waiting in the queue; its credits come back at once."""
        async with self._db.transaction() as tx:
            moved = await jobs.transition_in(
                tx,
                job_id,
                ("queued",),
                "cancelled",
                finished_at=self._clock.now(),
                error_code="CANCELLED",
                error_message=CANCELLED.render(EN),
                error_i18n=CANCELLED.to_json(),
            )
            if moved:
                await ledger.release(tx, job_id, "cancelled")
        if not moved:
            return False
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()
        job = await self._job(job_id)
        self._dequeue(job)
        await self._emit(job)
        return True

    async def start(self) -> None:
        """Resume every unfinished job, and re-announce finished jobs whose result was never shown."""
        for row in await self._db.fetchall(
            "SELECT profile, kind, model, duration, finished_at - submitted_at AS took FROM jobs"
            " WHERE state = 'succeeded' AND submitted_at IS NOT NULL ORDER BY id DESC LIMIT 2000"
        ):
            self._history.add(
                (row["profile"], row["kind"], row["model"], row["duration"]), float(row["took"])
            )
        for job in await jobs.active(self._db):
            if job.id in self._tasks or job.profile not in self._profiles:
                continue
            if job.state == "queued":
                self._queue_up(job)
            elif job.state == "running":
                self._pools[job.profile].adopt_task(job.key_name)
            self._spawn(job)
        undelivered = await self._db.fetchall(
            "SELECT id FROM jobs WHERE delivered_at IS NULL"
            " AND state NOT IN ('queued', 'submitting', 'running') AND message_id IS NOT NULL ORDER BY id"
        )
        for row in undelivered:
            await self._emit(await self._job(int(row["id"])))

    async def stop(self) -> None:
        """Stop driving jobs; their persisted state lets the next ``start()`` resume them."""
        tasks = [*self._tasks.values(), *self._dispatchers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._dispatchers.clear()
        for queue in self._queues.values():
            while queue.pop() is not None:
                pass
        self._turns.clear()
        self._queued_rows.clear()

    async def wait_idle(self) -> None:
        """Wait until no job is being driven (tests and graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # ---- driving one job ------------------------------------------------------------------------

    def _spawn(self, job: JobRow) -> None:
        task = asyncio.create_task(self._drive(job.id), name=f"job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(functools.partial(self._forget, job.id))

    def _forget(self, job_id: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]

    # ---- the submit line -----------------------------------------------------------------------

    def _queue_up(self, job: JobRow, *, front: bool = False) -> None:
        """Put ``job`` in its profile's line; its driver awaits the key the dispatcher gives it."""
        self._queues[job.profile].push(job.id, job.guild_id, job.user_id, front=front)
        self._turns[job.id] = asyncio.get_running_loop().create_future()
        self._queued_rows[job.id] = job
        self._work[job.profile].set()
        if job.profile not in self._dispatchers:
            self._dispatchers[job.profile] = asyncio.create_task(
                self._dispatch(job.profile), name=f"dispatch-{job.profile}"
            )

    def _dequeue(self, job: JobRow) -> None:
        self._queues[job.profile].remove(job.id)
        self._queued_rows.pop(job.id, None)
        turn = self._turns.pop(job.id, None)
        if turn is not None and turn.done() and not turn.cancelled():
            self._pools[job.profile].release_task(turn.result().name)  # given a key it never used
        elif turn is not None:
            turn.cancel()

    async def _dispatch(self, profile: str) -> None:
        """Hand keys to queued jobs of ``profile`` in fair order, as budgets and slots allow."""
        queue, pool, work = self._queues[profile], self._pools[profile], self._work[profile]
        while True:
            while not queue:
                work.clear()
                await work.wait()
            key = await pool.acquire_task()
            job_id = queue.pop()
            if job_id is not None:
                self._queued_rows.pop(job_id, None)
            turn = self._turns.get(job_id) if job_id is not None else None
            if turn is None or turn.done():
                pool.release_task(key.name)  # the line emptied (a cancel) while waiting for a key
                continue
            turn.set_result(key)
            for waiting in queue.order(POSITION_UPDATES):  # everyone behind moved up one place
                row = self._queued_rows.get(waiting)
                await self._emit(row if row is not None else await self._job(waiting))

    async def _drive(self, job_id: int) -> None:
        job = await self._job(job_id)
        try:
            if job.state == "queued":
                job = await self._submit(job)
            elif job.state == "submitting":
                job = await self._resume_submitting(job)
            if job.state == "running":
                await self._run(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s: internal failure", job_id)
            await self._finish(job_id, "failed", "release", code="INTERNAL", message=INTERNAL_FAILURE)

    async def _resume_submitting(self, job: JobRow) -> JobRow:
        if job.remote_id is None:
            await self._finish(job.id, "failed", "release", code="UNCONFIRMED", message=UNCONFIRMED_SUBMIT)
            return await self._job(job.id)
        async with self._db.transaction() as tx:
            await jobs.transition_in(tx, job.id, ("submitting",), "running")
        self._pools[job.profile].adopt_task(job.key_name)
        return await self._job(job.id)

    async def _submit(self, job: JobRow) -> JobRow:
        pool = self._pools[job.profile]
        provider = self._providers[job.profile]
        request = REQUEST_ADAPTER.validate_json(job.request_json)
        while True:
            key = await self._turns[job.id]
            del self._turns[job.id]
            async with self._db.transaction() as tx:
                moved = await jobs.transition_in(tx, job.id, ("queued",), "submitting", key_name=key.name)
            if not moved:  # cancelled while waiting
                pool.release_task(key.name)
                return await self._job(job.id)
            await self._emit(await self._job(job.id))
            try:
                task = await provider.submit(request, key)
            except ProviderError as exc:
                pool.release_task(key.name)
                if exc.rate_limited:
                    log.warning("job %s: key %s rate-limited at submit; requeued", job.id, key.name)
                    pool.cool_down(key.name, exc.retry_after)
                    async with self._db.transaction() as tx:
                        await jobs.transition_in(tx, job.id, ("submitting",), "queued", key_name=None)
                    job = await self._job(job.id)
                    self._queue_up(job, front=True)
                    await self._emit(job)
                    continue
                log.warning("job %s: submit refused: %s (%s)", job.id, exc.code, exc.detail)
                await self._finish(job.id, "failed", "release", code=exc.code, message=exc.user_msg)
                return await self._job(job.id)
            except Exception:
                pool.release_task(key.name)
                raise
            return await self._submitted(job, task)

    async def _submitted(self, job: JobRow, task: RemoteTask) -> JobRow:
        now = self._clock.now()
        timeout = self._profiles[job.profile].timing.timeout
        async with self._db.transaction() as tx:
            await jobs.transition_in(
                tx,
                job.id,
                ("submitting",),
                "running",
                remote_id=task.remote_id,
                remote_json=json.dumps(task.extra) if task.extra else None,
                submitted_at=now,
                deadline_at=now + timeout,
            )
        job = await self._job(job.id)
        await self._emit(job)
        if task.snapshot is not None:
            await self._apply(job, task.snapshot)
            job = await self._job(job.id)
            if not job.active:  # finished in the create response: the slot is free again
                self._pools[job.profile].release_task(job.key_name)
        return job

    async def _run(self, job: JobRow) -> None:
        """Poll until the job ends or its deadline passes. Poll errors back off; they never fail it."""
        profile = self._profiles[job.profile]
        pool = self._pools[job.profile]
        provider = self._providers[job.profile]
        task = RemoteTask(remote_id=job.remote_id or "", extra=job.remote_extra)
        timing = profile.timing
        submitted = job.submitted_at or self._clock.now()
        deadline = job.deadline_at or submitted + timing.timeout
        history_key = (job.profile, job.kind, job.model, job.duration)
        typical = self._history.typical(history_key, timing.expected)
        budgeted = pool.limited
        first = self._planner.first_delay(
            timing, typical, self._history.slow(history_key, timing.expected), budgeted=budgeted
        )
        delay = max(0.0, submitted + first - self._clock.now()) if job.polls == 0 else 0.0
        failures = 0
        try:
            while job.state == "running":
                now = self._clock.now()
                if now >= deadline:  # polled one last time at the deadline: still not done
                    await self._finish(
                        job.id,
                        "timed_out",
                        "release",
                        code="TIMEOUT",
                        message=TIMED_OUT,
                    )
                    return
                await self._clock.sleep(min(delay, max(0.0, deadline - now)))
                key = await pool.spend(job.key_name, deadline=deadline)
                if key is None:  # out of time while the key had no budget: the loop times it out
                    continue
                try:
                    snap = await provider.poll(task, key)
                except ProviderError as exc:
                    if exc.rate_limited:
                        pool.cool_down(job.key_name, exc.retry_after)
                    if exc.retryable:
                        failures += 1
                        delay = self._backoff(timing.poll_interval, timing.backoff_max, failures)
                        log.info("job %s: poll error %s, retrying in %.1fs", job.id, exc.code, delay)
                        continue
                    log.warning("job %s: poll refused: %s (%s)", job.id, exc.code, exc.detail)
                    await self._finish(job.id, "failed", "release", code=exc.code, message=exc.user_msg)
                    return
                failures = 0
                await jobs.update(self._db, job.id, polls=job.polls + 1)
                await self._apply(job, snap)
                job = await self._job(job.id)
                elapsed = self._clock.now() - submitted
                delay = self._planner.next_delay(
                    timing, elapsed, typical, snap.progress_pct, budgeted=budgeted
                )
        finally:
            if not (await self._job(job.id)).active:
                pool.release_task(job.key_name)

    @staticmethod
    def _backoff(base: float, cap: float, failures: int) -> float:
        return float(min(cap, base * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0))

    async def _apply(self, job: JobRow, snap: TaskSnapshot) -> None:
        """Persist what a person could see of ``snap``; settle the job when it is terminal."""
        if snap.state is TaskState.SUCCEEDED:
            provider = self._providers[job.profile]
            key = self._pools[job.profile].key(job.key_name)
            try:
                source = await provider.open_result(snap, key)
            except ProviderError as exc:
                if exc.retryable:  # the video is done; fetching its link failed: the next poll tries again
                    log.info("job %s: result not reachable yet (%s)", job.id, exc.code)
                    return
                await self._finish(job.id, "failed", "release", code=exc.code, message=exc.user_msg)
                return
            video_path = await videos.save(self._db, job.id, source.data) if source.data is not None else None
            await self._finish(
                job.id, "succeeded", "capture", video_url=source.url, video_path=video_path, **_visible(snap)
            )
            if job.submitted_at is not None:
                took = self._clock.now() - job.submitted_at
                self._history.add((job.profile, job.kind, job.model, job.duration), took)
            return
        if snap.state is TaskState.FAILED:
            error = snap.error
            await self._finish(
                job.id,
                "failed",
                "release",
                code=error.code if error else "FAILED",
                message=_failure_message(_vendor_words(error)),
                **{k: v for k, v in _visible(snap).items() if v is not None},  # keep the step it failed at
            )
            return
        visible = _visible(snap)
        if all(getattr(job, k) == v for k, v in visible.items()):
            return
        await jobs.update(self._db, job.id, **visible)
        await self._emit(await self._job(job.id))

    async def _finish(
        self,
        job_id: int,
        state: str,
        settle: str,
        *,
        code: str | None = None,
        message: Msg | None = None,
        **fields: Any,
    ) -> None:
        """Move to a terminal state and capture or release the hold, atomically and at most once."""
        async with self._db.transaction() as tx:
            moved = await jobs.transition_in(
                tx,
                job_id,
                ("queued", "submitting", "running"),
                state,
                finished_at=self._clock.now(),
                error_code=code,
                error_message=message.render(EN) if message is not None else None,
                error_i18n=message.to_json() if message is not None else None,
                **fields,
            )
            if moved:
                if settle == "capture":
                    await ledger.capture(tx, job_id)
                else:
                    await ledger.release(tx, job_id, state)
        if moved:
            await self._emit(await self._job(job_id))

    # ---- events -------------------------------------------------------------------------------

    async def _job(self, job_id: int) -> JobRow:
        job = await jobs.get(self._db, job_id)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        return job

    def queue_position(self, job_id: int) -> int | None:
        for queue in self._queues.values():
            if job_id in queue:
                return queue.position(job_id)
        return None

    def eta(self, job: JobRow) -> float | None:
        """Seconds until the video should be ready, from history (None when unknown or finished)."""
        if not job.active:
            return None
        timing = self._profiles[job.profile].timing if job.profile in self._profiles else None
        if timing is None:
            return None
        typical = self._history.typical((job.profile, job.kind, job.model, job.duration), timing.expected)
        if job.state == "running" and job.submitted_at is not None:
            return max(0.0, job.submitted_at + typical - self._clock.now())
        position = self.queue_position(job.id) or 1
        slots = self._profiles[job.profile].max_concurrent
        rounds = 1 + (position - 1) // slots if slots else 1
        return typical * rounds

    async def _emit(self, job: JobRow) -> None:
        event = JobEvent(
            job=job,
            queue_position=self.queue_position(job.id) if job.state == "queued" else None,
            eta_seconds=self.eta(job),
        )
        for observer in self._observers:
            try:
                await observer.on_job_event(event)
            except Exception:
                log.exception("job %s: observer %r failed", job.id, observer)


def _visible(snap: TaskSnapshot) -> dict[str, Any]:
    return {
        "stage": snap.stage,
        "progress_pct": snap.progress_pct,
        "step": snap.step,
        "step_count": snap.step_count,
        "step_name": snap.step_name,
        "storyboard_prompt": snap.storyboard_prompt,
        "storyboard_image_url": snap.storyboard_image_url,
    }


def _vendor_words(error: TaskError | None) -> Msg | None:
    """What the provider said about a failure: its words in the catalog when known, literal otherwise."""
    if error is None:
        return None
    if error.key:
        return Msg(error.key, dict(error.params))
    return literal(error.message) if error.message else None


def _failure_message(vendor_words: Msg | None) -> Msg:
    """The job's failure in the member's words (rendered in their locale when it is shown)."""
    if vendor_words is None:
        return msg("job.error.provider_failed")
    return msg("job.error.provider_failed_said", said=vendor_words)
