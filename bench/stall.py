"""How long the event loop was held: the benchmarks' stall meter.

Why a ticker: a coroutine that sleeps 1 ms at a time wakes late by exactly as long as something else
held the loop (a synchronous loop over rows, a garbage collection, a thread holding the GIL), so its
worst lateness is the longest time any other task — a member's command — would have waited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Call = Callable[[], Awaitable[object]]


class Ticker:
    """The event loop's worst stall while it runs: how late a 1 ms sleep woke up, at most (the gap in
    progress when it stops counts too, so a stall at the very end is not missed)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._since = time.perf_counter()
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            self._since = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - self._since - 0.001)

    def __enter__(self) -> Ticker:
        self._since = time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self.worst = max(self.worst, time.perf_counter() - self._since - 0.001)
        self._task.cancel()


async def timed(call: Call) -> float:
    t = time.perf_counter()
    await call()
    return time.perf_counter() - t


async def during(work: Call, probe: Call) -> tuple[float, float, float]:
    """(work's seconds, loop's worst stall, probe's worst latency) with ``probe`` every 10 ms meanwhile."""
    worst_probe = 0.0
    done = asyncio.Event()

    async def probing() -> None:
        nonlocal worst_probe
        while not done.is_set():
            worst_probe = max(worst_probe, await timed(probe))
            await asyncio.sleep(0.01)

    prober = asyncio.get_running_loop().create_task(probing())
    with Ticker() as ticker:
        took = await timed(work)
    done.set()
    await prober
    return took, ticker.worst, worst_probe
