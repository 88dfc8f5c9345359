"""Key budgets as the engine uses them: one profile's keys (``KeyPool``), every key's budget by id
(``Budgets``), and the gate that makes each HTTP attempt of a job wait for its key.

A key's budget (``bot.engine.key_budget``) is shared by every profile holding that key; a profile's
pool adds what is the profile's own: its task slots per key (``max_concurrent``), its pause after a
429, and which key a new job gets (the one with the most headroom). The call log is a table
(``storage.call_log``) every call is booked in before it is sent — the create at hand-out here, every
other attempt through ``KeyBudget.spend`` (the gate's) — so a restart within the hour remembers what
was spent, and processes sharing a database share each key's hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.engine.clock import Clock
from bot.engine.key_budget import WINDOW, KeyBudget, key_id, wait_any
from bot.engine.polling import Pace
from bot.providers.attempts import AttemptGate
from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile
from storage import call_log
from storage.db import Database

__all__ = ["WINDOW", "Budgets", "KeyPool"]


@dataclass
class _Slot:
    key: ApiKey
    budget: KeyBudget
    tasks: int = 0


class KeyPool:
    """The keys of one profile. ``acquire_task`` picks the key with the most headroom."""

    def __init__(
        self,
        keys: Iterable[tuple[ApiKey, KeyBudget]],
        *,
        max_tasks: int | None,
        cooldown: float,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._cooldown = cooldown
        self._max_tasks = max_tasks
        self._processes, self._rank = 1, 0  # live processes sharing the keys, and this one's place
        self._slots = {key.name: _Slot(key, budget) for key, budget in keys}
        self._jobs: dict[int, _Slot] = {}  # running job -> the key it runs on

    @property
    def limited(self) -> bool:
        """True when calls are budgeted per hour: then every call counts, and polls wait longer."""
        return any(s.budget.limited for s in self._slots.values())

    def _slot(self, name: str | None) -> _Slot:
        return self._slots.get(name or "") or next(iter(self._slots.values()))

    def key(self, name: str | None) -> ApiKey:
        """The key called ``name``; an unknown name (a key removed from config) falls back to the first."""
        return self._slot(name).key

    def budget(self, name: str | None) -> KeyBudget:
        return self._slot(name).budget

    def calls_in_window(self, name: str | None) -> int:
        budget = self._slot(name).budget
        budget.prune(self._clock.now())
        return len(budget.calls)

    def share(self, processes: int, rank: int = 0) -> None:
        """``processes`` live processes run this profile's jobs, this one ``rank``-th of them (from
        0, in an order they all agree on): each may start its share of a key's task slots — an equal
        part, the first few one more for what does not divide, at least one — so together they stay
        within the vendor's limit of tasks at once. Tasks over a smaller share run on; a larger share
        lets waiting jobs go."""
        self._processes, self._rank = max(1, processes), max(0, rank)
        for slot in self._slots.values():
            slot.budget.notify()

    def task_slots(self) -> int | None:
        """How many tasks this process may start at once on each key (None: no limit)."""
        if self._max_tasks is None:
            return None
        part, left = divmod(self._max_tasks, self._processes)
        return max(1, part + (1 if self._rank < left else 0))

    def _full(self, slot: _Slot) -> bool:
        slots = self.task_slots()
        return slots is not None and slot.tasks >= slots

    async def acquire_task(self, take: Callable[[], int | None]) -> tuple[int, ApiKey] | None:
        """Wait for a key with a free task slot and room for a new job, then give it to the job
        ``take()`` names (the next in line, asked only then): its create is counted and its polls
        reserved. None when ``take()`` names nobody (the line emptied meanwhile)."""
        waited: set[str] = set()
        try:
            while True:
                now = self._clock.now()
                best: _Slot | None = None
                soonest = float("inf")
                for slot in self._slots.values():
                    if self._full(slot):
                        continue  # only a finishing task frees this key
                    wait = slot.budget.admit_wait(now)
                    if wait == 0 and (best is None or slot.budget.headroom(now) > best.budget.headroom(now)):
                        best = slot
                    elif wait > 0 and slot.budget.cool_until <= now and slot.key.name not in waited:
                        waited.add(slot.key.name)  # waiting for room: the key is tight meanwhile
                        slot.budget.waiting += 1
                    soonest = min(soonest, wait)
                if best is not None:
                    budget = best.budget
                    async with budget.booking:  # asked again: a booking may have been under way
                        now = self._clock.now()
                        # The create is booked before the job is taken from the line: another
                        # process may have taken the room meanwhile, and a job taken must not wait.
                        if not self._full(best) and budget.admit_wait(now) == 0 and await budget.book(now):
                            job_id = take()
                            if job_id is None:
                                return None  # the line emptied: the booked call stays counted
                            best.tasks += 1
                            self._jobs[job_id] = best
                            budget.claim(job_id, planned=True)
                            if not budget.tight():
                                budget.notify()  # the line emptied: first looks planned tight plan again
                            return job_id, best.key
                    continue  # no room after all: look again (the copy of the hour was refreshed)
                await wait_any([s.budget for s in self._slots.values()], self._clock, soonest)
        finally:
            for name in waited:
                self._slots[name].budget.waiting -= 1

    def adopt_task(self, job_id: int, name: str | None, *, polls: int = 0) -> None:
        """Count a task already running on ``name`` (a job resumed after a restart); it holds its
        deadline poll, and the planned one too if it was never polled."""
        if job_id in self._jobs or name not in self._slots:
            return
        slot = self._slots[name]
        slot.tasks += 1
        self._jobs[job_id] = slot
        slot.budget.claim(job_id, planned=polls == 0)

    def watch_line(self, waiting: Callable[[], int]) -> None:
        """``waiting()`` counts this profile's jobs in line: while any wait, its keys are tight."""
        for slot in self._slots.values():
            slot.budget.lines.append(waiting)

    def release_task(self, job_id: int) -> None:
        """The job ended (or never used its key): its task slot and what it still reserved go back."""
        slot = self._jobs.pop(job_id, None)
        if slot is None:
            return
        slot.tasks = max(0, slot.tasks - 1)
        slot.budget.unclaim(job_id)
        slot.budget.notify()

    def _job_slot(self, job_id: int, name: str | None) -> _Slot:
        return self._jobs.get(job_id) or self._slot(name)

    async def spend(
        self,
        job_id: int,
        name: str | None,
        *,
        deadline: float | None = None,
        due: float | None = None,
        until: float | None = None,
    ) -> ApiKey | None:
        """Wait until the job may make one more call on its key, then count it (from its reservation
        once its planned poll is ``due`` and from its ``deadline`` on, see ``KeyBudget.spend``).

        None when ``until`` (by default the deadline) passes first: the job ran out of time waiting.
        """
        slot = self._job_slot(job_id, name)
        spent = await slot.budget.spend(job_id, deadline=deadline, due=due, until=until)
        return slot.key if spent else None

    def gate(
        self,
        job_id: int,
        name: str | None,
        *,
        prepaid: int,
        floor: float,
        deadline: float | None = None,
        due: float | None = None,
        until: float | None = None,
    ) -> AttemptGate:
        """The gate for one call of the job (``bot.providers.attempts``): ``prepaid`` attempts were
        counted already; every other one waits for the key (as ``spend``), a retry at least
        ``floor`` seconds."""
        when = (deadline, due, until)
        return _Gate(self._job_slot(job_id, name), job_id, self._clock, prepaid, floor, when)

    def pace(self, job_id: int, name: str | None, remaining: float) -> Pace:
        """What the job's key can afford for its polls over the ``remaining`` expected seconds."""
        budget = self._job_slot(job_id, name).budget
        if not budget.limited:
            return Pace(budgeted=False)
        return Pace(budgeted=True, spare=budget.spare_interval(self._clock.now(), remaining))

    def cool_down(self, name: str | None, seconds: float | None = None) -> None:
        self._slot(name).budget.cool_down(seconds or self._cooldown)


class _Gate:
    """``AttemptGate`` for one call of one job: attempts with the job's key wait for its budget."""

    def __init__(
        self,
        slot: _Slot,
        job_id: int,
        clock: Clock,
        prepaid: int,
        floor: float,
        when: tuple[float | None, float | None, float | None],
    ) -> None:
        self._slot, self._job, self._clock = slot, job_id, clock
        self._prepaid, self._floor, (self._deadline, self._due, self._until) = prepaid, floor, when

    async def admit(self, key: ApiKey | None, attempt: int, pause: float) -> bool:
        budget = self._slot.budget
        ours = key is not None and key == self._slot.key
        if attempt > 1:
            # A budgeted retry waits the poll interval, plus the policy's jittered pause so that the
            # retries of jobs polled together do not keep meeting the same faults in step.
            await self._clock.sleep(self._floor + pause if ours and budget.limited else pause)
        if not ours:
            return True
        if self._prepaid > 0:
            self._prepaid -= 1
            return True
        # A create's retry never eats the job's poll reservations; a poll's retry may use the
        # deadline poll at the deadline, like any poll.
        reserved = self._deadline is not None
        return await budget.spend(
            self._job, deadline=self._deadline, due=self._due, until=self._until, reserved=reserved
        )

    def answered(self, key: ApiKey | None, ok: bool) -> None:
        if key is not None and key == self._slot.key:
            self._slot.budget.answered(ok)


class Budgets:
    """Every key's budget, by key id; the pools of the profiles are built from it."""

    def __init__(self, clock: Clock, db: Database | None = None, *, owner: str = "") -> None:
        self._clock = clock
        self._db = db
        self._owner = owner  # this process's lease name: its holds count while its lease lives
        self._by_id: dict[str, KeyBudget] = {}

    def of(self, key: ApiKey, per_hour: int | None) -> KeyBudget:
        """The budget of ``key``'s value, made on first use; the smallest limit configured wins."""
        kid = key_id(key)
        budget = self._by_id.get(kid)
        if budget is None:
            shared = _Shared(self._db, self._owner) if self._db is not None else None
            budget = self._by_id[kid] = KeyBudget(kid, per_hour, self._clock, shared)
        budget.limit(per_hour)
        return budget

    def pool(self, profile: ProviderProfile) -> KeyPool:
        keys = [(key, self.of(key, profile.requests_per_hour)) for key in profile.keys]
        return KeyPool(
            keys,
            max_tasks=profile.max_concurrent,
            cooldown=profile.timing.rate_limit_cooldown,
            clock=self._clock,
        )

    def get(self, kid: str) -> KeyBudget | None:
        return self._by_id.get(kid)

    async def load(self) -> None:
        """Read the calls of the last hour back into the budgets (after a restart)."""
        if self._db is None:
            return
        now = self._clock.now()
        logged = await call_log.since(self._db, now - WINDOW)
        for kid, times in logged.items():
            budget = self._by_id.get(kid)
            if budget is not None and budget.limited:
                budget.calls.extend(sorted(t for t in times if t > now - WINDOW))


class _Shared:
    """``SharedLog`` over the database: the call log every process on it books its calls in."""

    def __init__(self, db: Database, owner: str) -> None:
        self._db = db
        self._owner = owner

    async def reserve(self, kid: str, at: float, limit: int, *, held: int, free: bool) -> tuple[bool, int]:
        return await call_log.reserve(
            self._db, kid, at, limit, WINDOW, owner=self._owner, held=held, free=free
        )

    async def window(self, kid: str, start: float) -> list[float]:
        return await call_log.window(self._db, kid, start)
