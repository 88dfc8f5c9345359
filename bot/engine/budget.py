"""Per-key budgets: calls per rolling hour, task slots, and a pause after a 429.

Vendors count every call (nanophoto: 100 requests per hour per key, create and status alike), so
the pool keeps a log of each key's calls in the last hour — a rolling window, as strict as the
vendor's. A running task always owes at least one more status call, so a submit is allowed only
when the window has room for the create *and* for one poll of every task already running on that
key: the budget is never spent on new work that could then not be checked. A 429 pauses the key;
nothing here ever fails a job.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field

from bot.engine.clock import Clock
from bot.providers.base import ApiKey

WINDOW = 3600.0


@dataclass
class _KeyState:
    key: ApiKey
    per_hour: int | None
    max_tasks: int | None
    calls: deque[float] = field(default_factory=deque)
    tasks: int = 0
    cool_until: float = 0.0

    def prune(self, now: float) -> None:
        while self.calls and self.calls[0] <= now - WINDOW:
            self.calls.popleft()

    def wait_for_calls(self, now: float, wanted: int) -> float:
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

    def headroom(self, now: float) -> float:
        free_slots = float("inf") if self.max_tasks is None else self.max_tasks - self.tasks
        if self.per_hour is None:
            return free_slots
        self.prune(now)
        return min(free_slots, self.per_hour - len(self.calls) - self.tasks)


class KeyPool:
    """The keys of one profile. ``acquire_task`` picks the key with the most headroom."""

    def __init__(
        self,
        keys: tuple[ApiKey, ...],
        *,
        per_hour: int | None,
        max_tasks: int | None,
        cooldown: float,
        clock: Clock,
    ) -> None:
        self._clock = clock
        self._cooldown = cooldown
        self._keys = {k.name: _KeyState(k, per_hour, max_tasks) for k in keys}
        self._changed = asyncio.Event()

    @property
    def limited(self) -> bool:
        """True when calls are budgeted per hour: then every call counts, and polls wait longer."""
        return any(s.per_hour is not None for s in self._keys.values())

    def _state(self, name: str | None) -> _KeyState:
        return self._keys.get(name or "") or next(iter(self._keys.values()))

    def key(self, name: str | None) -> ApiKey:
        """The key called ``name``; an unknown name (a key removed from config) falls back to the first."""
        return self._state(name).key

    def calls_in_window(self, name: str | None) -> int:
        state = self._state(name)
        state.prune(self._clock.now())
        return len(state.calls)

    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds`` (on the clock) or until a task slot or reservation is given back."""
        self._changed.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds)) if seconds != float("inf") else None
        waiter = asyncio.ensure_future(self._changed.wait())
        pending = {t for t in (sleeper, waiter) if t is not None}
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def acquire_task(self) -> ApiKey:
        """Wait for a key with a free task slot and room for the create plus one poll; take them."""
        while True:
            now = self._clock.now()
            best: _KeyState | None = None
            soonest = float("inf")
            for state in self._keys.values():
                if state.max_tasks is not None and state.tasks >= state.max_tasks:
                    continue  # only a finishing task frees this key
                wait = state.wait_for_calls(now, state.tasks + 2)
                if wait == 0 and (best is None or state.headroom(now) > best.headroom(now)):
                    best = state
                soonest = min(soonest, wait)
            if best is not None:
                best.tasks += 1
                best.calls.append(now)
                return best.key
            await self._wait(soonest)

    def adopt_task(self, name: str | None) -> None:
        """Count a task already running on ``name`` (a job resumed after a restart)."""
        if name in self._keys:
            self._state(name).tasks += 1

    def release_task(self, name: str | None) -> None:
        if name in self._keys:
            state = self._state(name)
            state.tasks = max(0, state.tasks - 1)
        self._changed.set()

    async def spend(self, name: str | None, *, deadline: float | None = None) -> ApiKey | None:
        """Wait until the key called ``name`` may make one more call, then count it.

        None when ``deadline`` passes first: the caller's job has run out of time while waiting.
        """
        state = self._state(name)
        while (wait := state.wait_for_calls(self._clock.now(), 1)) > 0:
            if deadline is not None:
                left = deadline - self._clock.now()
                if left <= 0:
                    return None
                wait = min(wait, left)
            await self._clock.sleep(wait if wait != float("inf") else WINDOW)
        state.calls.append(self._clock.now())
        return state.key

    def cool_down(self, name: str | None, seconds: float | None = None) -> None:
        state = self._state(name)
        state.cool_until = max(state.cool_until, self._clock.now() + (seconds or self._cooldown))
