"""The decode pool: however many callers, at most ``workers`` decodes run (and hold memory) at once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.decoding import DecodePool
from bot.media import ImageError, fit_image
from tests.fakes.pictures import encode, png_bomb


class Probe:
    """A stand-in decode that records how many run at once, and can be held until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.started = 0
        self.gate = threading.Event()

    def __call__(self, value: int) -> int:
        with self.lock:
            self.running += 1
            self.started += 1
            self.most = max(self.most, self.running)
        try:
            self.gate.wait(timeout=5)
            return value * 2
        finally:
            with self.lock:
                self.running -= 1


async def test_forty_callers_never_run_more_than_two_at_once() -> None:
    probe = Probe()
    async with DecodePool(workers=2) as pool:
        calls = [asyncio.create_task(pool.run(probe, n)) for n in range(40)]
        await asyncio.sleep(0.1)
        assert (probe.running, probe.started) == (2, 2)  # the rest wait, holding nothing
        probe.gate.set()
        assert await asyncio.gather(*calls) == [2 * n for n in range(40)]
    assert probe.most == 2 and pool.peak == 2


async def test_real_decodes_are_bounded_too() -> None:
    pool = DecodePool(workers=2)
    pictures = [encode("PNG", (1200, 900)) for _ in range(8)]
    try:
        results = await asyncio.gather(*(pool.run(fit_image, p, 320, 240) for p in pictures))
    finally:
        pool.close()
    assert len(results) == 8 and pool.peak <= 2


async def test_an_error_reaches_the_caller_and_the_pool_goes_on() -> None:
    async with DecodePool(workers=1) as pool:
        with pytest.raises(ImageError, match="too large"):
            await pool.run(fit_image, png_bomb(7000, 7000), 720, 1280)
        assert await pool.run(len, b"abc") == 3


async def test_a_cancelled_waiting_call_never_runs() -> None:
    probe = Probe()
    ran: list[str] = []
    async with DecodePool(workers=1) as pool:
        first = asyncio.create_task(pool.run(probe, 1))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(pool.run(ran.append, "late"))
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting  # the cancel has reached the pool before a worker is free to take the call
        probe.gate.set()
        assert await first == 2
        await pool.run(time.sleep, 0)  # everything queued before this has had its turn
    assert ran == []


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        DecodePool(workers=0)
