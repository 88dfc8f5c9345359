"""Key budgets: a rolling hour like the vendor's, room kept for polls, the key with most headroom."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from bot.engine.budget import KeyPool
from bot.providers.base import ApiKey


class JumpClock:
    """Sleeping jumps the clock forward at once: one task, no real waiting."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


def keys(*names: str) -> tuple[ApiKey, ...]:
    return tuple(ApiKey(name=n, secret=SecretStr(f"secret-{n}")) for n in names)


async def test_submits_leave_room_for_one_poll_of_every_running_task() -> None:
    clock = JumpClock()
    pool = KeyPool(keys("a"), per_hour=10, max_tasks=None, cooldown=60, clock=clock)
    started = [await pool.acquire_task() for _ in range(5)]  # 5 creates, 5 polls owed = 10
    assert len(started) == 5 and clock.t == 0
    assert pool.calls_in_window("a") == 5
    # A sixth submit must wait until creates age out of the hour: the owed polls keep their room.
    await pool.acquire_task()
    assert clock.t == 3600.0


async def test_polls_never_exceed_the_rolling_hour() -> None:
    clock = JumpClock()
    pool = KeyPool(keys("a"), per_hour=100, max_tasks=None, cooldown=60, clock=clock)
    times = []
    for _ in range(250):
        await pool.spend("a")
        times.append(clock.t)
    for i, t in enumerate(times):  # no 3600-s window ever holds more than 100 calls
        assert sum(1 for u in times[: i + 1] if u > t - 3600) <= 100


async def test_the_key_with_most_headroom_gets_the_submit() -> None:
    clock = JumpClock()
    pool = KeyPool(keys("a", "b"), per_hour=100, max_tasks=None, cooldown=60, clock=clock)
    for _ in range(30):
        await pool.spend("a")
    assert (await pool.acquire_task()).name == "b"


async def test_a_429_pauses_only_that_key() -> None:
    clock = JumpClock()
    pool = KeyPool(keys("a", "b"), per_hour=None, max_tasks=None, cooldown=60, clock=clock)
    pool.cool_down("a")
    assert (await pool.acquire_task()).name == "b"
    await pool.spend("a")
    assert clock.t == 60.0


async def test_task_slots_free_up_when_a_task_ends() -> None:
    clock = JumpClock()
    pool = KeyPool(keys("a"), per_hour=None, max_tasks=1, cooldown=60, clock=clock)
    await pool.acquire_task()
    waiting = asyncio.create_task(pool.acquire_task())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    pool.release_task("a")
    assert (await asyncio.wait_for(waiting, 1)).name == "a"


async def test_waiting_for_budget_stops_at_the_deadline() -> None:
    clock = JumpClock()
    pool = KeyPool(keys("a"), per_hour=1, max_tasks=None, cooldown=60, clock=clock)
    assert await pool.spend("a") is not None
    assert await pool.spend("a", deadline=100.0) is None  # the next call could go only at t=3600
    assert clock.t == 100.0
