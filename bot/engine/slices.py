"""Cooperative time slices, so a long loop of quick steps never holds the event loop for long.

Why: a restart resumes tens of thousands of jobs, and a burst of free slots hands out thousands of
keys; each step is microseconds, but thousands of them in a row without an ``await`` that suspends
stall every other coroutine — a slash command then misses Discord's 3-second acknowledgement.
A loop calls ``await slicer.tick()`` after each step; it yields (``asyncio.sleep(0)``: one turn of
the loop, no wait) once ``budget`` seconds of real time have passed since the last yield — or after
``every`` steps, when each step starts a task: the tasks started in one slice all take their first
step in the next turn of the loop, so their number bounds that turn, whatever the slice's own time.

This is the one place the engine reads a real timer instead of its ``Clock``: a slice is about the
event loop's turns, not about domain time (a virtual clock does not move while code runs).

``settle_heap`` is the other stall a restart causes: each resumed job is some thirty objects the
cyclic garbage collector tracks (its row, task, coroutines, context), and a full collection walks
every tracked object — 0.4 s with 50,000 jobs, again and again while they are being loaded.
"""

from __future__ import annotations

import asyncio
import gc
import time

SLICE = 0.010  # seconds of work between two yields: a tenth of the longest stall we allow


class Slicer:
    def __init__(self, budget: float = SLICE, every: int | None = None) -> None:
        self._budget = budget
        self._every = every
        self._steps = 0
        self._since = time.perf_counter()

    async def tick(self) -> None:
        """Yield to the loop when this slice's budget (of time, or of steps) is spent."""
        self._steps += 1
        if time.perf_counter() - self._since >= self._budget or self._steps == self._every:
            await asyncio.sleep(0)
            self._since, self._steps = time.perf_counter(), 0


def settle_heap() -> None:
    """Take every object alive now out of the full collections (``gc.freeze``).

    Called after each page of resumed jobs: what a restart loads lives until its job ends, so
    walking it again and again finds nothing to collect. A frozen object is still freed the usual
    way, by its reference count, when its job ends; only a reference cycle among frozen objects
    would outlive it, and a finished job's task, coroutines and row form none.
    """
    gc.freeze()
