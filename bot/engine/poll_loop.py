"""The poll loop of one running job: ask the vendor when the plan says, until the job ends or times out.

When to ask comes from the ``polling`` planner and the key's budget (``budget``); what an answer
means is the runner's (``apply``, ``finish``). Poll errors back off and go on until the deadline;
they never fail a job. A job times out only when the vendor said, at its deadline, that it is not
done — a deadline poll that got no answer is asked again for a few more backoffs.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from bot import metrics
from bot.engine import polling
from bot.engine.catalog import Catalog
from bot.engine.clock import Clock
from bot.engine.db_retry import Durable, LeaseLost
from bot.engine.dispatcher import Dispatcher
from bot.engine.estimates import History, key_of
from bot.engine.fallback import Fallbacks, failure_code
from bot.engine.key_budget import EPSILON, WINDOW, wait_any
from bot.engine.outcomes import TIMED_OUT, of_error
from bot.providers import attempts
from bot.providers.base import ProviderError, RemoteTask, TaskSnapshot, TaskState
from bot.providers.profiles import Timing
from storage.jobs import JobRow
from storage.states import JobState

log = logging.getLogger(__name__)

DEADLINE_GRACE = 5  # backoffs a deadline poll that got no answer is asked again for


class PollLoop:
    def __init__(
        self,
        *,
        catalog: Catalog,
        dispatcher: Dispatcher,
        history: History,
        planner: polling.Planner,
        clock: Clock,
        store: Durable,
        fallback: Fallbacks,
        seen_running: dict[int, float],
        timing: Callable[[JobRow], Timing],
        apply: Callable[[JobRow, TaskSnapshot], Awaitable[None]],
        finish: Callable[..., Awaitable[Any]],
    ) -> None:
        self._catalog = catalog
        self._dispatcher = dispatcher
        self._history = history
        self._planner = planner
        self._clock = clock
        self._store = store
        self._fallback = fallback
        self._seen_running = seen_running  # job -> its last poll that found it unfinished (the runner's)
        self._timing = timing
        self._apply = apply
        self._finish = finish

    async def run(self, job: JobRow) -> None:
        """Poll until the job ends or its deadline passes. Poll errors back off; they never fail it."""
        timing = self._timing(job)
        pool = self._dispatcher.pools[job.profile]
        provider = self._catalog.provider(job.profile)
        task = RemoteTask(remote_id=job.remote_id or "", extra=job.remote_extra)
        submitted = job.submitted_at or self._clock.now()
        deadline = job.deadline_at or submitted + timing.timeout
        typical = self._history.typical(key_of(job), timing.expected)
        slow = self._history.slow(key_of(job), timing.expected)

        def pace() -> polling.Pace:
            """What the key affords over the time the job may still need: until the slow end of
            history, and once past it as long again as it already took (spare room then thins out
            as a job overruns, rather than running dry)."""
            now = self._clock.now()
            return pool.pace(job.id, job.key_name, max(submitted + slow - now, now - submitted))

        planned = pace()
        first = self._planner.first_delay(timing, typical, slow, pace=planned)
        # A first look planned while the key was tight (jobs in line) is planned again once the key
        # changes: the line may empty a moment later, and the spare room it leaves pays for looks.
        replan = job.polls == 0 and planned.budgeted and planned.spare is None
        # The poll the key reserved for this job is due where the fewest-calls plan puts the first
        # look; looks before it (spare budget buying visibility) are paid from free room only.
        due = submitted + self._planner.first_delay(timing, typical, slow, pace=polling.Pace(budgeted=True))
        delay = max(0.0, submitted + first - self._clock.now()) if job.polls == 0 else 0.0
        failures = 0
        # A job times out when the vendor said, at its deadline, that it is not done — not when the
        # deadline poll got a 5xx: that one is asked again for a few more backoffs, and on a budgeted
        # key until its hour turned over (there may be no room for it before).
        grace = DEADLINE_GRACE * max(timing.backoff_max, timing.poll_interval)
        answered_late, give_up = False, deadline + grace + (WINDOW if pool.limited else 0.0)
        spending = {"floor": timing.poll_interval, "deadline": deadline, "due": due, "until": give_up}
        try:
            while job.state is JobState.RUNNING:
                now = self._clock.now()
                if now >= deadline and (answered_late or now >= give_up):  # still not done
                    await self._finish(
                        job.id, JobState.TIMED_OUT, "release", code="TIMEOUT", reason=TIMED_OUT
                    )
                    return
                wait = min(delay, max(0.0, deadline - now)) if now < deadline else delay
                if replan and wait > 0:
                    await wait_any([pool.budget(job.key_name)], self._clock, wait)
                    if self._clock.now() < now + wait - EPSILON:  # woken early: the key changed
                        planned = pace()
                        replan = planned.spare is None
                        first = self._planner.first_delay(timing, typical, slow, pace=planned)
                        delay = max(0.0, submitted + first - self._clock.now())
                        continue
                else:
                    await self._clock.sleep(wait)
                replan = False
                key = await pool.spend(job.id, job.key_name, deadline=deadline, due=due, until=give_up)
                if key is None:  # out of time while the key had no budget: the loop times it out
                    continue
                asked = self._clock.now()
                metrics.observe_poll_lag(job.profile, self._clock.now() - (now + wait))
                try:
                    # A retry of the poll waits for the key too, and never sooner than the interval.
                    with attempts.gated(pool.gate(job.id, key.name, prepaid=1, **spending)):
                        snap = await provider.poll(task, key)
                    if snap.state in (TaskState.QUEUED, TaskState.RUNNING):
                        self._seen_running[job.id] = self._clock.now()
                except ProviderError as exc:
                    if exc.rate_limited:
                        pool.cool_down(job.key_name, exc.retry_after)
                    if exc.retryable:
                        failures += 1
                        delay = _backoff(timing.poll_interval, timing.backoff_max, failures)
                        log.info("job %s: poll error %s, retrying in %.1fs", job.id, exc.code, delay)
                        continue
                    log.warning("job %s: poll refused: %s (%s)", job.id, exc.code, exc.detail)
                    await self._fallback.note_gone(job, exc)
                    await self._finish(
                        job.id, JobState.FAILED, "release", code=failure_code(exc), reason=of_error(exc)
                    )
                    return
                failures = 0
                answered_late = asked >= deadline - EPSILON
                await self._store.update(job.id, polls=job.polls + 1)
                await self._apply(job, snap)
                job = await self._store.get(job.id)
                elapsed = self._clock.now() - submitted
                delay = self._planner.next_delay(timing, elapsed, typical, snap.progress_pct, pace=pace())
        finally:
            self._seen_running.pop(job.id, None)
            with contextlib.suppress(LeaseLost):  # then ``_drive`` lets the job go
                if not (await self._store.get(job.id)).active:
                    pool.release_task(job.id)


def _backoff(base: float, cap: float, failures: int) -> float:
    return float(min(cap, base * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0))
