"""Per-key budgets: a token bucket for requests per hour and a cap on concurrent tasks.

Vendors count every call (nanophoto: 100 requests/hour per key, create and status alike), so a
submit takes a token and a task slot, and every poll takes a token from the key that created the
task. A 429 puts the key in a cool-down; nothing here ever fails a job.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.engine.clock import Clock
from bot.providers.base import ApiKey


@dataclass
class _KeyState:
    key: ApiKey
    capacity: float | None  # None: no hourly budget
    tokens: float
    refilled_at: float
    max_tasks: int | None
    tasks: int = 0
    cool_until: float = 0.0


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
        now = clock.now()
        self._clock = clock
        self._cooldown = cooldown
        self._keys = {
            k.name: _KeyState(k, float(per_hour) if per_hour else None, float(per_hour or 0), now, max_tasks)
            for k in keys
        }
        self._changed = asyncio.Condition()

    def key(self, name: str | None) -> ApiKey:
        """The key called ``name``; an unknown name (a key removed from config) falls back to the first."""
        state = self._keys.get(name or "")
        return (state or next(iter(self._keys.values()))).key

    def _refill(self, state: _KeyState, now: float) -> None:
        if state.capacity is None:
            return
        state.tokens = min(state.capacity, state.tokens + (now - state.refilled_at) * state.capacity / 3600.0)
        state.refilled_at = now

    def _wait_for(self, state: _KeyState, now: float) -> float:
        """Seconds until ``state`` can make one call (0 when it can now)."""
        self._refill(state, now)
        wait = max(0.0, state.cool_until - now)
        if state.capacity is not None and state.tokens < 1.0:
            wait = max(wait, (1.0 - state.tokens) * 3600.0 / state.capacity)
        return wait

    def _headroom(self, state: _KeyState) -> float:
        free_slots = float("inf") if state.max_tasks is None else state.max_tasks - state.tasks
        tokens = float("inf") if state.capacity is None else state.tokens
        return min(free_slots, tokens)

    async def acquire_task(self) -> ApiKey:
        """Wait for a key with a free task slot and a token; take both."""
        while True:
            now = self._clock.now()
            best: _KeyState | None = None
            soonest = float("inf")
            for state in self._keys.values():
                if state.max_tasks is not None and state.tasks >= state.max_tasks:
                    continue
                wait = self._wait_for(state, now)
                if wait == 0 and (best is None or self._headroom(state) > self._headroom(best)):
                    best = state
                soonest = min(soonest, wait)
            if best is not None:
                best.tasks += 1
                if best.capacity is not None:
                    best.tokens -= 1.0
                return best.key
            if soonest == float("inf"):
                async with self._changed:  # every key is at its task cap: wait for a release
                    await self._changed.wait()
            else:
                await self._clock.sleep(soonest)

    def adopt_task(self, name: str | None) -> None:
        """Count a task already running on ``name`` (a job resumed after a restart)."""
        state = self._keys.get(name or "")
        if state is not None:
            state.tasks += 1

    async def release_task(self, name: str | None) -> None:
        state = self._keys.get(name or "")
        if state is not None and state.tasks > 0:
            state.tasks -= 1
        async with self._changed:
            self._changed.notify_all()

    async def spend(self, name: str | None) -> ApiKey:
        """Wait until the key called ``name`` may make one more call, then count it."""
        state = self._keys.get(name or "") or next(iter(self._keys.values()))
        while (wait := self._wait_for(state, self._clock.now())) > 0:
            await self._clock.sleep(wait)
        if state.capacity is not None:
            state.tokens -= 1.0
        return state.key

    def cool_down(self, name: str | None, seconds: float | None = None) -> None:
        state = self._keys.get(name or "")
        if state is not None:
            state.cool_until = max(state.cool_until, self._clock.now() + (seconds or self._cooldown))
