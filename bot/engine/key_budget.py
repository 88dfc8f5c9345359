"""One API key's hourly budget, shared by every profile and kind that uses the key.

A vendor counts calls per key, whatever they are for (nanophoto: 100 requests per rolling hour for
Sora, TVC, Veo and SeeDance alike, create and status alike), so a budget is named by the key's
value — a hash of it, never the value — and not by the profile that happens to hold it. The log of
calls is a rolling hour, as strict as the vendor's.

The promises are kept by reservations. A job is started only when the key has room for its create
and for its reserved polls — the one planned near its expected finish and the one at its deadline,
each with the attempts a poll takes on this key (a vendor failing every other call takes two) —
on top of what every running job already holds. Calls never fill the hour past the limit less
those reservations, so a reserved poll always finds room, and a job the vendor finished is seen
by its deadline at the latest. Every other call — a poll to show a step, a second look at a job
not yet done, the retry of a failed call — is paid from free room only, and polls waiting for free
room go before new jobs. A 429 pauses the key; nothing here ever fails a job.

Several processes may use one key (gateway and worker processes on one PostgreSQL), and the vendor
counts all of their calls against one hour. So with a database, each call is *booked* in the
shared call log (``storage.call_log.reserve``, under the key's row lock) before it goes out — every
HTTP attempt, retries included — and the hour kept here is this process's copy of that log: it
answers "is there room?" without a round trip, and only a call it has room for asks the database.
When the database refuses (other processes took the room), the copy is read back from the log and
the call waits for room as it would for this process's own calls. Each booking also records the
polls this process keeps reserved on the key and learns the other live processes' (``others``): a
call paid from free room must leave all of them free, so one process's spare looks never spend the
room another process's running jobs were promised.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.engine.clock import Clock
from bot.providers.base import ApiKey

WINDOW = 3600.0
RESERVED_POLLS = 2  # per running job: one near its expected finish, one at its deadline
EPSILON = 1e-3  # a poll this close to the deadline is the deadline poll
LEARN = 0.1  # weight of the newest answer in the key's failure rate
MAX_ATTEMPTS = 4  # a poll is never reserved more attempts than this, however often calls fail
PRIOR_ATTEMPTS, SETTLE = 2, 20  # until a key has answered this often, assume a poll may need a retry

log = logging.getLogger(__name__)


class SharedLog(Protocol):
    """The call log every process books its calls in (``storage.call_log`` over the database)."""

    async def reserve(self, kid: str, at: float, limit: int, *, held: int, free: bool) -> tuple[bool, int]:
        """Book one call of key ``kid`` at ``at`` if the hour up to it holds fewer than ``limit``
        calls of any process (less every live process's held polls, for a ``free`` call; this
        process holds ``held``); returns whether it was booked, and what the others hold."""
        ...

    async def window(self, kid: str, start: float) -> list[float]:
        """Every process's calls of key ``kid`` after ``start``, oldest first."""
        ...


def key_id(key: ApiKey) -> str:
    """What names a key's budget: a hash of its value (so two profiles with one key share it), short
    and one-way, so it can be stored and logged where the key itself never may."""
    return hashlib.sha256(key.secret.get_secret_value().encode()).hexdigest()[:16]


@dataclass
class KeyBudget:
    id: str
    per_hour: int | None
    clock: Clock
    shared: SharedLog | None = None  # where calls are booked for every process (and outlive a restart)
    calls: deque[float] = field(default_factory=deque)  # this process's copy of the key's last hour
    claims: dict[int, int] = field(default_factory=dict)  # running job -> polls reserved for it
    finals: dict[int, int] = field(default_factory=dict)  # ... of which kept for its deadline poll
    held: int = 0  # the sum of ``claims``, kept as they change (read on every call)
    others: int = 0  # what other processes hold on the key, as the shared log last said
    cool_until: float = 0.0
    waiting: int = 0  # hand-outs of new jobs waiting for room on this key
    polls_waiting: int = 0  # polls waiting for free room: they go before new jobs
    failing: float = 0.0  # share of recent attempts that got no usable answer (5xx, no answer)
    answers: int = 0  # attempts whose outcome was noted (``failing`` means little until SETTLE)
    lines: list[Callable[[], int]] = field(default_factory=list)  # jobs in line of each profile on it
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Held from "is there room?" until the call is booked, so that the copy of the hour changes as
    # the answer is given even when booking awaits the database (never held while waiting for room).
    booking: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def limited(self) -> bool:
        return self.per_hour is not None

    def limit(self, per_hour: int | None) -> None:
        """Another profile uses this key: the smallest configured limit is the one kept."""
        if per_hour is not None and (self.per_hour is None or per_hour < self.per_hour):
            self.per_hour = per_hour

    def answered(self, ok: bool) -> None:
        """One attempt on this key got a usable answer (``ok``) or not: what reservations learn from."""
        self.failing += LEARN * ((0.0 if ok else 1.0) - self.failing)
        self.answers += 1

    def attempts(self) -> int:
        """What one poll is expected to take on this key, retries included: learnt from its answers,
        and until there are enough of them, room for one retry (the first jobs on a key that fails
        every other call must not be started on a budget only a healthy key would leave them)."""
        learnt = min(MAX_ATTEMPTS, math.ceil(1 / (1 - min(self.failing, 0.75)) - 1e-9))
        return learnt if self.answers >= SETTLE else max(PRIOR_ATTEMPTS, learnt)

    def reserve(self) -> int:
        """Polls a new job reserves: the planned one and the deadline one, each with its attempts."""
        return RESERVED_POLLS * self.attempts()

    def tight(self) -> bool:
        """Someone waits for this key: a job in line on a profile using it, or a poll for room."""
        return bool(self.waiting or self.polls_waiting or any(line() for line in self.lines))

    def notify(self) -> None:
        """Wake everyone waiting on this key (room or a task slot was given back)."""
        woken, self.changed = self.changed, asyncio.Event()
        woken.set()

    # ---- the rolling hour -----------------------------------------------------------------------

    def prune(self, now: float) -> None:
        while self.calls and self.calls[0] <= now - WINDOW:
            self.calls.popleft()

    def reserved(self) -> int:
        """Polls kept for running jobs: this process's, and other processes' as last heard."""
        return self.held + self.others if self.limited else 0

    def wait_for(self, now: float, wanted: int) -> float:
        """Seconds until ``wanted`` more calls fit the window (0 = now; inf = never by time alone)."""
        self.prune(now)
        wait = max(0.0, self.cool_until - now)
        if self.per_hour is None:
            return wait
        room = self.per_hour - len(self.calls)
        if room >= wanted:
            return wait
        expiring = wanted - room  # this many calls must age out first
        if expiring > len(self.calls):
            return float("inf")
        return max(wait, self.calls[expiring - 1] + WINDOW - now)

    def admit_wait(self, now: float) -> float:
        """Seconds until a new job fits: its create and its reserved polls, after everyone else's."""
        return self.wait_for(now, 1 + self.reserve() + self.reserved() + self.polls_waiting)

    def headroom(self, now: float) -> float:
        if self.per_hour is None:
            return float("inf")
        self.prune(now)
        return self.per_hour - len(self.calls) - self.reserved()

    def spare_interval(self, now: float, remaining: float) -> float | None:
        """With room to spare: the spacing at which every running job on the key could be polled
        for ``remaining`` seconds out of the spare room (less a tenth kept back). None when the
        key is tight: a job or a poll is waiting for room, or nothing is spare."""
        if self.per_hour is None or self.tight():
            return None
        spare = self.headroom(now) - max(1, self.per_hour // 10)
        if spare <= 0:
            return None
        return max(0.0, remaining) * max(1, len(self.claims)) / spare

    # ---- spending -------------------------------------------------------------------------------

    def claim(self, job_id: int, *, planned: bool) -> None:
        """Reserve a running job's polls: the deadline poll's attempts, and the planned poll's too."""
        if self.limited:
            self.finals[job_id] = self.attempts()
            polls = self.finals[job_id] * (2 if planned else 1)
            self.held += polls - self.claims.get(job_id, 0)
            self.claims[job_id] = polls

    def unclaim(self, job_id: int) -> None:
        self.finals.pop(job_id, None)
        left = self.claims.pop(job_id, None)
        if left is not None:
            self.held -= left
            self.notify()

    async def book(self, now: float, *, free: bool = True) -> bool:
        """Count one call at ``now`` that the copy of the hour has room for; call it holding
        ``booking``, right after the copy said so. False: the shared log had no room (other
        processes' calls) — nothing was counted, and the copy now holds the log's hour, so a wait
        computed from it ends when room frees up.

        A budget without a limit counts nothing and never asks the database. A database that fails
        does not stop calls: the call is counted here only, as a single process would count it.
        """
        if self.per_hour is None:
            return True
        if self.shared is not None:
            try:
                booked, self.others = await self.shared.reserve(
                    self.id, now, self.per_hour, held=self.held, free=free
                )
            except asyncio.CancelledError:
                self.calls.append(now)  # the write runs whole once sent: assume it was booked
                raise
            except Exception as exc:
                log.warning(
                    "key %s: could not book a call in the call log, counted here only: %s", self.id, exc
                )
                booked = True
            if not booked:
                await self._reread(now)
                return False
        self.calls.append(now)
        return True

    async def _reread(self, now: float) -> None:
        """Replace the copy of the hour with the shared log's (every process's calls). Under
        ``booking``: none of this process's calls is half booked, so none is counted twice."""
        assert self.shared is not None
        try:
            times = await self.shared.window(self.id, now - WINDOW)
        except Exception as exc:
            # Without the log's hour the copy would keep saying "room": pause rather than ask again.
            log.warning("key %s: could not read the call log: %s", self.id, exc)
            self.cool_down(1.0)
            return
        self.calls = deque(times)

    async def spend(
        self,
        job_id: int | None,
        *,
        deadline: float | None,
        due: float | None = None,
        until: float | None = None,
        reserved: bool = True,
    ) -> bool:
        """Wait until one more call may go, book it (``book``); False when ``until`` (by default
        ``deadline``) passes first.

        A job's call comes out of its reservation from the moment its planned poll is ``due`` while
        it holds more than its deadline poll needs, and from its deadline on (the deadline poll and
        its retries); otherwise — an early look, an extra one, any call when not ``reserved`` — out
        of free room.
        """
        queued = False
        try:
            while True:
                async with self.booking:
                    now = self.clock.now()
                    held = self.claims.get(job_id, 0) if job_id is not None and reserved else 0
                    final = deadline is not None and now >= deadline - EPSILON
                    planned = (due is None or now >= due - EPSILON) and held > self.finals.get(job_id or 0, 0)
                    use = planned or (held >= 1 and final)
                    wait = self.wait_for(now, 1 if use else 1 + self.reserved())
                    if wait == 0 and await self.book(now, free=not use):
                        if use and job_id is not None and self.claims.get(job_id, 0) > 0:
                            self.claims[job_id] -= 1
                            self.held -= 1
                        return True
                if wait == 0:
                    continue  # the shared log had no room: the copy of the hour now says how long
                stop = deadline if until is None else until
                if stop is not None and now >= stop:
                    return False
                if not use and not queued:
                    queued = True
                    self.polls_waiting += 1
                # Wake at the deadline too: from then on the job's deadline poll is reserved.
                for moment in (deadline, stop):
                    if moment is not None and moment > now:
                        wait = min(wait, moment - now)
                await self.pause(wait)
        finally:
            if queued:
                self.polls_waiting -= 1
                self.notify()

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` on the clock, or until something changes on this key."""
        await wait_any([self], self.clock, seconds)

    def cool_down(self, seconds: float) -> None:
        self.cool_until = max(self.cool_until, self.clock.now() + seconds)


async def wait_any(budgets: list[KeyBudget], clock: Clock, seconds: float) -> None:
    """Sleep ``seconds`` on ``clock`` (forever if inf) or until any of ``budgets`` changes."""
    pending: set[asyncio.Future[object]] = {asyncio.ensure_future(b.changed.wait()) for b in budgets}
    if seconds != float("inf"):
        pending.add(asyncio.ensure_future(clock.sleep(seconds)))
    try:
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
