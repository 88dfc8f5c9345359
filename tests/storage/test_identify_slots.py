"""Identifies spaced as Discord asks, across every process sharing the database.

Discord lets a bucket of shards (shard id % max_concurrency) identify once every 5 seconds, counted
over all the bot's connections. ``storage.identify_slots.reserve`` hands out each bucket's slots one
interval apart from the database; ``ShardedSoraBot.before_identify_hook`` sleeps until its slot.

* the repository, on both backends (the conformance ``db`` fixture): concurrent reservers of one
  bucket get slots exactly one interval apart, other buckets are not held up, a queue long past
  starts again at once;
* two ``Database`` objects on one PostgreSQL database (two processes): never one slot twice;
* the bot's hook, with a short interval and real sleeps: it waits the reserved time (PostgreSQL),
  and on SQLite (one process) it is discord.py's own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord
import pytest

from bot.app import ShardedSoraBot
from bot.config import Settings
from bot.engine.engine import Engine
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.registry import build_provider
from storage import identify_slots
from storage.db import Database
from storage.identify_slots import Slot
from tests.backend import open_database
from tests.fakes.nanophoto import FakeNanophoto

INTERVAL = 5.0  # Discord's: only reserved here, never slept
SHORT = 0.3  # what the hook tests sleep
SLACK = 0.02  # an asyncio sleep may end a clock tick early


def _apart(slots: list[Slot]) -> list[float]:
    ats = sorted(s.at for s in slots)
    return [b - a for a, b in itertools.pairwise(ats)]


# ---- the repository, on both backends ---------------------------------------------------------------


async def test_concurrent_reservers_of_one_bucket_get_slots_one_interval_apart(db: Database) -> None:
    slots = await asyncio.gather(*(identify_slots.reserve(db, 0, interval=INTERVAL) for _ in range(6)))
    assert _apart(slots) == [pytest.approx(INTERVAL, abs=1e-6)] * 5
    by_turn = sorted(slots, key=lambda s: s.at)
    assert by_turn[0].wait < 1.0  # the first goes (all but) at once
    for turn, slot in enumerate(by_turn):
        assert turn * INTERVAL - 1.0 < slot.wait <= turn * INTERVAL
    row = await db.fetchone("SELECT next_at FROM identify_buckets WHERE bucket = $1", (0,))
    assert row is not None and float(row["next_at"]) == pytest.approx(by_turn[-1].at + INTERVAL, abs=1e-6)


async def test_other_buckets_do_not_wait_on_each_other(db: Database) -> None:
    first = await identify_slots.reserve(db, 0, interval=INTERVAL)
    second = await identify_slots.reserve(db, 0, interval=INTERVAL)
    others = await asyncio.gather(*(identify_slots.reserve(db, b, interval=INTERVAL) for b in (1, 2, 15)))
    assert first.wait < 1.0 and second.wait > INTERVAL - 1.0  # bucket 0 queues...
    assert [s.bucket for s in others] == [1, 2, 15]
    assert all(s.wait < 1.0 for s in others)  # ...the others go at once, each its bucket's first
    rows = await db.fetchall("SELECT bucket FROM identify_buckets ORDER BY bucket")
    assert [int(r["bucket"]) for r in rows] == [0, 1, 2, 15]


async def test_a_queue_that_has_passed_starts_again_at_once(db: Database) -> None:
    await identify_slots.reserve(db, 3, interval=0.05)
    await asyncio.sleep(0.1)  # its next slot is in the past now
    again = await identify_slots.reserve(db, 3, interval=0.05)
    assert again.wait == 0.0
    with pytest.raises(ValueError):
        await identify_slots.reserve(db, -1)
    with pytest.raises(ValueError):
        await identify_slots.reserve(db, 0, interval=0)


# ---- two processes on one PostgreSQL database --------------------------------------------------------


async def test_two_processes_never_get_one_slot(pg_url: str) -> None:
    a, b = await Database.open(pg_url), await Database.open(pg_url)
    try:
        calls = [identify_slots.reserve(db, 0, interval=INTERVAL) for _ in range(10) for db in (a, b)]
        slots = await asyncio.gather(*calls)
        assert len({s.at for s in slots}) == 20  # no slot twice
        assert _apart(slots) == [pytest.approx(INTERVAL, abs=1e-6)] * 19  # and none left out
        # Another bucket, reserved from either, starts its own queue meanwhile.
        assert (await identify_slots.reserve(b, 1, interval=INTERVAL)).wait < 1.0
    finally:
        await a.close()
        await b.close()


# ---- the bot's hook -----------------------------------------------------------------------------------


def _limits(max_concurrency: int) -> Callable[[], object]:
    async def fetch() -> discord.SessionStartLimits:
        return discord.SessionStartLimits(
            total=1000, remaining=999, reset_after=0, max_concurrency=max_concurrency
        )

    return fetch


MakeBot = Callable[..., ShardedSoraBot]


@pytest.fixture
async def make_bot(tmp_path: Path) -> AsyncIterator[MakeBot]:
    """``make_bot(db, max_concurrency=1)``: a ``run`` process's gateway of 4 shards on ``db`` (never
    connected), whose Discord says ``max_concurrency``; identifies spaced ``SHORT`` apart."""
    async with FakeNanophoto(rate_limit=None) as vendor, VendorHttp(retry=RetryPolicy(attempts=1)) as http:
        profile = vendor.profile()
        settings = Settings.model_validate(
            {"discord_token": "x", "database_path": tmp_path / "bot.db", "shard_count": 4}
        )

        def make(db: Database, *, max_concurrency: int = 1) -> ShardedSoraBot:
            engine = Engine(db, {profile.name: profile}, {profile.name: build_provider(profile, http)})
            bot = ShardedSoraBot(settings, engine, identify_interval=SHORT)
            bot.fetch_session_start_limits = _limits(max_concurrency)  # type: ignore[method-assign]
            return bot

        yield make


async def _identify(bot: ShardedSoraBot, shard_id: int, *, initial: bool = False) -> float:
    """When ``shard_id``'s hook let it identify, on the loop's clock."""
    await asyncio.wait_for(bot.before_identify_hook(shard_id, initial=initial), timeout=10)
    return asyncio.get_running_loop().time()


@pytest.fixture
async def pg_two(pg_url: str) -> AsyncIterator[tuple[Database, Database]]:
    a, b = await Database.open(pg_url), await Database.open(pg_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_the_hook_waits_for_its_buckets_turn_across_processes(
    pg_two: tuple[Database, Database], make_bot: MakeBot
) -> None:
    # Two ``run`` processes, shards 0,2 and 1,3, max_concurrency 2: buckets 0 (shards 0, 2) and 1.
    one, two = make_bot(pg_two[0], max_concurrency=2), make_bot(pg_two[1], max_concurrency=2)
    start = asyncio.get_running_loop().time()
    done = await asyncio.gather(
        _identify(one, 0, initial=True), _identify(two, 1, initial=True), _identify(one, 2), _identify(two, 3)
    )
    took = [t - start for t in done]
    assert max(took) < 3 * SHORT  # bounded: a turn each, two buckets side by side
    for first, second in ((took[0], took[2]), (took[1], took[3])):  # each bucket: one turn, then the next
        assert abs(second - first) >= SHORT - SLACK
    assert min(took[0], took[2]) < SHORT and min(took[1], took[3]) < SHORT  # the first of each, at once
    rows = await pg_two[0].fetchall("SELECT bucket FROM identify_buckets ORDER BY bucket")
    assert [int(r["bucket"]) for r in rows] == [0, 1]


async def test_the_hook_spaces_one_buckets_shards_by_the_interval(
    pg_two: tuple[Database, Database], make_bot: MakeBot
) -> None:
    one, two = make_bot(pg_two[0]), make_bot(pg_two[1])  # max_concurrency 1: one bucket
    start = asyncio.get_running_loop().time()
    done = sorted(
        await asyncio.gather(_identify(one, 0), _identify(two, 1), _identify(one, 2), _identify(two, 3))
    )
    gaps = [b - a for a, b in itertools.pairwise(done)]
    assert all(gap >= SHORT - SLACK for gap in gaps), gaps
    assert done[-1] - start < 3 * SHORT + 1.0  # three turns after the first, and no more


async def test_without_the_database_the_hook_still_lets_the_shard_identify(
    pg_url: str, make_bot: MakeBot
) -> None:
    db = await Database.open(pg_url)
    bot = make_bot(db)
    await db.close()  # the database is gone: discord.py's spacing, never an error
    await asyncio.wait_for(bot.before_identify_hook(0, initial=True), timeout=5)


async def test_max_concurrency_is_asked_once_and_one_while_unknown(pg_url: str, make_bot: MakeBot) -> None:
    db = await Database.open(pg_url)
    try:
        bot = make_bot(db)
        assert bot.identify_turns is not None
        asked: list[int] = []

        async def fails() -> int:
            asked.append(1)
            raise discord.GatewayNotFound()

        bot.identify_turns._concurrency = fails
        assert await bot.identify_turns.max_concurrency() == 1  # all in one bucket: slower, never refused
        bot.identify_turns._concurrency = bot._max_concurrency
        bot.fetch_session_start_limits = _limits(16)  # type: ignore[method-assign]
        assert await bot.identify_turns.max_concurrency() == 16  # asked again: Discord's answer
        bot.fetch_session_start_limits = _limits(4)  # type: ignore[method-assign]
        assert await bot.identify_turns.max_concurrency() == 16 and asked == [1]  # kept once known
    finally:
        await db.close()


@pytest.mark.sqlite_only("one process on SQLite: discord.py's own spacing")
async def test_on_sqlite_the_hook_is_discord_pys(tmp_path: Path, make_bot: MakeBot) -> None:
    db = await open_database(tmp_path / "bot.db")
    try:
        bot = make_bot(db)
        assert bot.identify_turns is None
        start = asyncio.get_running_loop().time()
        await _identify(bot, 0, initial=True)  # discord.py: the first identify goes at once
        assert asyncio.get_running_loop().time() - start < 1.0
        assert await db.fetchall("SELECT * FROM identify_buckets") == []
    finally:
        await db.close()
