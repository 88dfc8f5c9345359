"""The server the pictures show: the bot under test (``tests/e2e/conftest.py`` ``make_stack``) with
the models a team would run today — Veo 3.1 (the default), SeeDance 1.5 Pro, the TVC pipeline, and
an OpenAI-compatible reseller (the one vendor here that reports a percentage).

Why a clock that stands still: a picture must come out the same on every run, and the card's
times ("started a minute ago", "ready in 2 minutes", "took 2m 22s") are read off the engine's clock.
``StillClock`` moves only when a scene moves it; the engine, the delivery cog and the fake vendors
(scripted with ``advance="time"``) all read it, so "two minutes later" is one call and exactly two
minutes for everyone. Sleeps stay real, and short: the estimates come from each profile's
``expected`` time (minutes, as the vendors take), but a key with a large hourly budget is polled at
``poll_interval`` whatever the estimate, so a scene takes about a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.providers.profiles import ProviderProfile, Timing
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto_seedance import FakeNanophotoSeedance
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc
from tests.fakes.nanophoto_veo import FakeNanophotoVeo
from tests.fakes.openai_videos import FakeOpenAIVideos

CREDITS = 1000  # the member's balance: every scene can pay
PLENTY = 100_000  # calls per hour: room to spare, so polls follow ``poll_interval``
EXPECTED = {"nano-veo": 150.0, "nano-seedance": 90.0, "nano-tvc": 420.0, "lcon": 180.0}


def timing(expected: float) -> Timing:
    return Timing(expected=expected, first_poll=0.01, poll_interval=0.03, timeout=3600.0, backoff_max=0.05)


class StillClock:
    """``bot.engine.clock.Clock`` whose time is a whole second that changes only by ``advance``; also a
    plain callable, for the fake vendors' ``clock=`` and the delivery cog's."""

    def __init__(self, start: float | None = None) -> None:
        self._now = float(int(time.time() if start is None else start))

    def now(self) -> float:
        return self._now

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass
class Studio:
    """The running stack and the fakes behind it, for scenes to script."""

    stack: Stack
    clock: StillClock
    veo: FakeNanophotoVeo
    seedance: FakeNanophotoSeedance
    tvc: FakeNanophotoTvc
    reseller: FakeOpenAIVideos

    @property
    def discord(self) -> FakeDiscord:
        return self.stack.discord

    def origins(self) -> dict[str, str]:
        """Each fake's base URL and the made-up host the pictures show instead (ports change per run)."""
        return {
            f"http://127.0.0.1:{self.discord.port}": "https://discord.example",
            self.veo.base_url: "https://veo.vendor.example",
            self.seedance.base_url: "https://seedance.vendor.example",
            self.tvc.base_url: "https://tvc.vendor.example",
            self.reseller.base_url: "https://reseller.example",
            self.reseller.cdn_base_url: "https://cdn.reseller.example",
        }


def _profile(
    fake: FakeNanophotoVeo | FakeNanophotoSeedance | FakeNanophotoTvc | FakeOpenAIVideos,
) -> ProviderProfile:
    name = fake.PROFILE_NAME
    return fake.profile(requests_per_hour=PLENTY, timing=timing(EXPECTED[name]))


@asynccontextmanager
async def studio(tmp: Path) -> AsyncIterator[Studio]:
    """A fresh server (database in ``tmp``) with every fake running; the member holds ``CREDITS``."""
    clock = StillClock()
    async with AsyncExitStack() as fakes:
        discord = await fakes.enter_async_context(FakeDiscord())
        veo = await fakes.enter_async_context(FakeNanophotoVeo(rate_limit=None, clock=clock))
        seedance = await fakes.enter_async_context(FakeNanophotoSeedance(rate_limit=None, clock=clock))
        tvc = await fakes.enter_async_context(FakeNanophotoTvc(rate_limit=None, clock=clock))
        reseller = await fakes.enter_async_context(FakeOpenAIVideos(content_style="bytes", clock=clock))
        extra = [_profile(seedance), _profile(tvc), _profile(reseller)]
        async for stack in make_stack(tmp, discord, veo, _profile(veo), extra_profiles=extra, clock=clock):
            stack.bot.delivery.clock = clock  # the card's "now" is the engine's
            await stack.grant(CREDITS)
            yield Studio(stack, clock, veo, seedance, tvc, reseller)
