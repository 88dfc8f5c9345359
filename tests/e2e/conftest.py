"""The whole bot under test: the real discord.py client ↔ fake Discord ↔ engine ↔ fake vendor.

Everything is real but the two far ends: a SQLite file in ``tmp_path``, the engine, the cogs and
discord.py itself; Discord and nanophoto are fakes serving their protocols on 127.0.0.1. That is a
loopback address, which the bot refuses to fetch from unless told: the stack sets
``FETCH_ALLOW_PRIVATE`` explicitly (``fetch_allow_private=False`` or a ``fetcher`` of its own to test
the refusals).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import SoraBot
from bot.config import Settings
from bot.engine.clock import Clock
from bot.engine.engine import Engine
from bot.net import Fetcher
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from storage import jobs, ledger
from storage.db import Database
from storage.jobs import JobRow
from tests.backend import open_database
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.nanophoto import FakeNanophoto


@dataclass
class Stack:
    discord: FakeDiscord
    vendor: FakeNanophoto
    db: Database
    bot: SoraBot

    @property
    def guild_id(self) -> int:
        return int(self.discord.guild.id)

    @property
    def member_id(self) -> int:
        return int(self.discord.member.user.id)

    async def grant(self, amount: int, user_id: int | None = None) -> None:
        async with self.db.transaction() as tx:
            await ledger.grant(
                tx, self.guild_id, user_id or self.member_id, amount, actor_id=None, reason="test"
            )

    async def balance(self, user_id: int | None = None) -> int:
        return await ledger.balance(self.db, self.guild_id, user_id or self.member_id)

    async def job_for(self, handle: FakeInteraction) -> JobRow:
        """The job a command created (waits, bounded, for the command to enqueue it)."""
        async with asyncio.timeout(5):
            while True:
                row = await self.db.fetchone(
                    "SELECT id FROM jobs WHERE interaction_token = $1", (handle.token,)
                )
                if row is not None:
                    job = await jobs.get(self.db, int(row["id"]))
                    assert job is not None
                    return job
                await asyncio.sleep(0.01)

    async def settle(self, handle: FakeInteraction) -> JobRow:
        """Wait (bounded) until the command's job has ended and every message update has gone out."""
        job = await self.job_for(handle)
        async with asyncio.timeout(10):
            await self.bot.engine.wait_idle()
            await self.bot.delivery.wait_idle()
        done = await jobs.get(self.db, job.id)
        assert done is not None
        return done


StackFactory = Callable[..., Any]


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def vendor() -> AsyncIterator[FakeNanophoto]:
    async with FakeNanophoto() as fake:
        yield fake


@pytest.fixture
async def stack(tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, vendor):
        yield s


async def make_stack(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    vendor: FakeNanophoto,
    profile: ProviderProfile | None = None,
    *,
    extra_profiles: Sequence[ProviderProfile] = (),
    fetcher: Fetcher | None = None,
    clock: Clock | None = None,
    **settings: Any,
) -> AsyncIterator[Stack]:
    """``profile`` is the default one; ``extra_profiles`` are configured after it (other fakes).

    ``fetcher`` is shared by the vendors' client and the bot when given; otherwise each builds its
    own from the settings, as the bot does, where ``fetch_allow_private`` is on: every fake here
    listens on 127.0.0.1. ``clock`` is the engine's (the system clock when None).
    """
    db = await open_database(tmp_path / "bot.db")
    profile = profile or vendor.profile()
    profiles = {p.name: p for p in (profile, *extra_profiles)}
    values: dict[str, Any] = {
        "discord_token": fake_discord.token,
        "database_path": tmp_path / "bot.db",
        "dev_guild_id": fake_discord.guild.id,
        "welcome_credits": 0,
        # Like the welcome grant, the price confirm is off unless a test turns it on (its own tests
        # pass ``confirm_above=50``, the bot's default): other tests charge 100s of credits a job.
        "confirm_above": 0,
        "progress_edit_interval": 0.05,
        "fetch_allow_private": True,
    }
    values.update(settings)
    config = Settings.model_validate(values)
    vendors_fetcher = fetcher or Fetcher(allow_private=config.fetch_allow_private)
    try:
        async with (
            vendors_fetcher,
            VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=vendors_fetcher) as http,
        ):
            engine = Engine(
                db,
                profiles,
                {name: build_provider(p, http) for name, p in profiles.items()},
                welcome_credits=config.welcome_credits,
                confirm_above=config.confirm_above,
                clock=clock,
            )
            async with fake_discord.run_bot(SoraBot(config, engine, fetcher=fetcher)) as bot:
                assert isinstance(bot, SoraBot)
                yield Stack(fake_discord, vendor, db, bot)
                fake_discord.assert_no_violations()
    finally:
        await db.close()
