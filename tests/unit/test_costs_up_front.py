"""The rules behind "costs up front", without Discord: the price sheet, its pages, the confirm
threshold, when the next allowance lands, and a grant notice taken once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.engine import allowance, confirm
from bot.engine.catalog import Catalog, PriceRow
from bot.engine.price_sheet import ModelPrices, sheet
from bot.providers.base import ApiKey, Kind
from bot.providers.capabilities import PricePoint
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from cogs.prices import price_pages
from storage import grant_notices
from storage.db import Database
from storage.grant_notices import GrantNotice
from storage.guilds import GuildSettings


@pytest.fixture
async def http() -> AsyncIterator[VendorHttp]:
    async with VendorHttp() as client:  # nothing is sent: adapters need one to be built
        yield client


def catalog(http: VendorHttp, *specs: tuple[str, str, dict[str, Any]]) -> Catalog:
    profiles = {
        name: ProviderProfile(
            name=name,
            kind=kind,
            base_url="https://vendor.example",
            keys=(ApiKey(name="k", secret="s"),),
            **extra,
        )
        for name, kind, extra in specs
    }
    return Catalog(profiles, {n: build_provider(p, http) for n, p in profiles.items()})


def entry(http: VendorHttp, kind: str, **extra: Any) -> ModelPrices:
    (only,) = sheet(catalog(http, ("p", kind, extra)).price_rows(GuildSettings(1)))
    return only


async def test_veo_storyboards_are_one_line_a_shot(http: VendorHttp) -> None:
    veo = entry(http, "nanophoto_veo")
    assert veo.kinds == (Kind.TEXT, Kind.IMAGE, Kind.REFERENCE, Kind.STORYBOARD)
    assert [(x.point.duration, x.point.resolution, x.cost, x.only) for x in veo.lines] == [
        (8, "720p", 10, None),
        (8, "1080p", 14, None),
        (8, "4k", 30, None),
    ]
    ((shot),) = veo.per_shot
    assert (shot.cost, shot.seconds, shot.resolution, shot.max_shots) == (10, 8, "720p", 21)


async def test_a_series_that_does_not_add_up_is_listed_whole(http: VendorHttp) -> None:
    veo = entry(http, "nanophoto_veo", prices={"veo-3.1:16:720p": 25})
    assert veo.per_shot == []
    sixteen = next(x for x in veo.lines if x.point.duration == 16)
    assert (sixteen.cost, sixteen.only) == (25, Kind.STORYBOARD)
    capped = entry(http, "nanophoto_veo", durations=(8, 24))  # the longest caps the shots: 1 to 3
    assert [(s.cost, s.max_shots) for s in capped.per_shot] == [(10, 3)]


async def test_freesora_says_25_seconds_is_a_storyboard_price(http: VendorHttp) -> None:
    rows = catalog(http, ("fsg", "freesora", {})).price_rows(GuildSettings(1))
    pro = next(e for e in sheet(rows) if e.label == "Sora 2 Pro")
    assert pro.kinds == (Kind.TEXT, Kind.IMAGE, Kind.STORYBOARD)
    assert [(x.point.duration, x.cost, x.only) for x in pro.lines] == [
        (10, 375, None),
        (15, 675, None),
        (25, 875, Kind.STORYBOARD),
    ]


async def test_a_long_list_is_paged_between_models(http: VendorHttp) -> None:
    many = [(f"p{i}", "nanophoto_seedance", {}) for i in range(12)]  # 18 lines each, named by profile
    rows = catalog(http, *many).price_rows(GuildSettings(1))
    pages = price_pages(rows)
    assert len(pages) > 1 and all(len(p) <= 4096 for p in pages)
    blocks = [b for p in pages for b in p.split("\n\n")]
    assert len(blocks) == 12 and all(b.startswith("**SeeDance 1.5 Pro** (p") for b in blocks)
    assert all("…" not in p for p in pages)  # nothing cut off
    small = price_pages(rows, limit=1000)
    assert all(len(p) <= 1000 for p in small) and len(small) == 12


def test_the_threshold_asks_above_it_once_agreed() -> None:
    assert confirm.threshold(GuildSettings(1)) == 50
    assert confirm.threshold(GuildSettings(1), default=80) == 80
    assert confirm.threshold(GuildSettings(1, confirm_above=0), default=80) == 0
    assert not confirm.asks_first(50, 50) and confirm.asks_first(50, 51)
    assert not confirm.asks_first(0, 10_000)  # off
    assert not confirm.asks_first(50, 675, agreed=675)
    assert confirm.asks_first(50, 210, agreed=10)  # the price rose after the form (more shots)


def test_the_next_allowance_lands_next_monday_or_the_first() -> None:
    wednesday = datetime(2026, 11, 18, 15, 30, tzinfo=UTC).timestamp()
    assert allowance.next_start("week", wednesday) == datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    assert allowance.next_start("month", wednesday) == datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    december = datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp()
    assert allowance.next_start("month", december) == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    monday = datetime(2026, 11, 23, 0, 0, tzinfo=UTC).timestamp()
    assert allowance.next_start("week", monday) == datetime(2026, 11, 30, tzinfo=UTC).timestamp()


async def test_a_notice_is_taken_once_however_many_ask(db: Database) -> None:
    for amount in (5, 7):
        async with db.transaction() as tx:
            await grant_notices.add_in(tx, GrantNotice(1, 2, 3, amount, "why", 0.0))
    assert await grant_notices.any_for(db, 1, 2) and not await grant_notices.any_for(db, 1, 9)
    taken = await asyncio.gather(*(grant_notices.take(db, 1, 2) for _ in range(4)))
    assert sorted(len(t) for t in taken) == [0, 0, 0, 2]
    (shown,) = [t for t in taken if t]
    assert [n.amount for n in shown] == [5, 7]  # oldest first
    await grant_notices.put_back(db, shown)
    assert [n.amount for n in await grant_notices.take(db, 1, 2)] == [5, 7]


def test_shots_with_a_gap_are_not_folded_into_up_to() -> None:
    both, board = (Kind.TEXT, Kind.STORYBOARD), (Kind.STORYBOARD,)
    rows = [
        PriceRow("p", "M", PricePoint("m", 8), 10, both, both, 8),
        PriceRow("p", "M", PricePoint("m", 24), 30, board, both, 8),  # 3 shots, but never 2
    ]
    (model,) = sheet(rows)
    assert model.per_shot == [] and [(x.point.duration, x.only) for x in model.lines] == [
        (8, None),
        (24, Kind.STORYBOARD),
    ]
