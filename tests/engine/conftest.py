"""Engine tests run the real engine on a real SQLite file against the fake nanophoto on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.net import Fetcher
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from storage.db import Database
from tests.backend import open_database
from tests.fakes.nanophoto import FakeNanophoto

GUILD, CHANNEL, MEMBER = 111, 222, 333


@dataclass
class Recorder:
    """An observer that keeps every event, as the Discord side would receive them."""

    events: list[JobEvent] = field(default_factory=list)

    async def on_job_event(self, event: JobEvent) -> None:
        self.events.append(event)

    def states(self, job_id: int) -> list[str]:
        seen: list[str] = []
        for e in self.events:
            if e.job.id == job_id and (not seen or seen[-1] != e.job.state):
                seen.append(e.job.state)
        return seen


@dataclass
class Harness:
    db: Database
    fake: FakeNanophoto
    http: VendorHttp
    path: Path
    make: Callable[..., Awaitable[tuple[Engine, Recorder]]]
    origin: JobOrigin = field(
        default_factory=lambda: JobOrigin(guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
    )

    async def grant(self, amount: int, user_id: int = MEMBER) -> None:
        from storage import ledger

        async with self.db.transaction() as tx:
            await ledger.grant(tx, GUILD, user_id, amount, actor_id=None, reason="test")


async def settle(engine: Engine) -> None:
    """Wait (bounded) until the engine drives no job."""
    async with asyncio.timeout(10):
        await engine.wait_idle()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    path = tmp_path / "engine.db"
    db = await open_database(path)
    engines: list[Engine] = []
    async with (
        FakeNanophoto() as fake,
        Fetcher(allow_private=True) as private,  # the fake is on 127.0.0.1
        VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=private) as http,
    ):

        async def make(profile: ProviderProfile | None = None, **kwargs: Any) -> tuple[Engine, Recorder]:
            profile = profile or fake.profile()
            engine = Engine(
                db, {profile.name: profile}, {profile.name: build_provider(profile, http)}, **kwargs
            )
            recorder = Recorder()
            engine.subscribe(recorder)
            engines.append(engine)
            return engine, recorder

        yield Harness(db=db, fake=fake, http=http, path=path, make=make)
        for engine in engines:
            await engine.stop()
    await db.close()
