"""The card lives, end to end, at production timing: one job on a key of 100 calls an hour, the
vendor's documented poll cadence, a 3-s edit interval — on a clock sped up ``SPEED`` times
(``bench.virtual_clock.ScaledClock``, shared by the engine and the fake vendor; Delivery's edit
interval is divided by the same factor). What is asserted is the recorded sequence of card edits in
the fake Discord, read back in production seconds: the card changes at least every 30 s while the
vendor reports progress, every step a TVC vendor reports is shown, and the times on it are timestamps.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.virtual_clock import ScaledClock
from bot.providers.profiles import Timing
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import StoredMessage
from tests.fakes.freesora import FakeFreeSora, TaskScript
from tests.fakes.nanophoto import FakeNanophoto
from tests.fakes.nanophoto import TaskScript as NanophotoScript
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc, TvcScript

SPEED = 30.0
EDIT_INTERVAL = 3.0  # production seconds
PER_HOUR = 100
# The vendors' documented cadence (docs/vendors.md): nanophoto TVC first check after 90 s, then every
# 20 s; freesoragenerator every 15 s. The expected times are the documents' too.
TVC_TIMING = Timing(expected=180, first_poll=90, poll_interval=20, timeout=1200)
FSG_TIMING = Timing(expected=150, first_poll=60, poll_interval=15, timeout=1200)
MOST_QUIET = 30.0  # production seconds a card may go unchanged while the vendor reports progress
STAMP = re.compile(r"^<t:(\d+):R>$")


def shown(message: StoredMessage) -> list[tuple[float, dict[str, str]]]:
    """(production seconds since the first edit, the card's fields) for every edit of the card."""
    out: list[tuple[float, dict[str, str]]] = []
    for edit in message.edits:
        embeds = edit.body.get("embeds") if isinstance(edit.body, dict) else None
        if embeds:
            fields = {f["name"]: f["value"] for f in embeds[0].get("fields", [])}
            out.append((edit.at, fields))
    start = out[0][0]
    return [((at - start) * SPEED, fields) for at, fields in out]


def longest_quiet(edits: list[tuple[float, dict[str, str]]]) -> float:
    return max(b - a for (a, _), (b, _) in itertools.pairwise(edits))


@pytest.fixture
def clock() -> ScaledClock:
    return ScaledClock(SPEED, start=time.time())  # starts at the wall clock: timestamps are real ones


async def production(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: Any, timing: Timing, clock: ScaledClock
) -> AsyncIterator[Stack]:
    profile = vendor.profile(requests_per_hour=PER_HOUR, timing=timing)
    async for stack in make_stack(
        tmp_path, fake_discord, vendor, profile, clock=clock, progress_edit_interval=EDIT_INTERVAL / SPEED
    ):
        yield stack


@pytest.fixture
async def percent_stack(
    tmp_path: Path, fake_discord: FakeDiscord, clock: ScaledClock
) -> AsyncIterator[Stack]:
    async with FakeFreeSora(clock=clock) as vendor:
        async for stack in production(tmp_path, fake_discord, vendor, FSG_TIMING, clock):
            yield stack


@pytest.fixture
async def tvc_stack(tmp_path: Path, fake_discord: FakeDiscord, clock: ScaledClock) -> AsyncIterator[Stack]:
    async with FakeNanophotoTvc(clock=clock) as vendor:
        async for stack in production(tmp_path, fake_discord, vendor, TVC_TIMING, clock):
            yield stack


async def test_a_card_changes_every_30_s_while_the_vendor_reports_percent(percent_stack: Stack) -> None:
    stack = percent_stack
    await stack.grant(1000)
    percents = tuple(range(5, 100, 6))  # a new figure every 10 s for ~160 s
    stack.vendor.script_next(
        TaskScript(
            steps=(("pending", 0), *(("running", p) for p in percents)), advance="time", step_seconds=10
        )
    )
    handle = await stack.discord.invoke_slash("sora", {"prompt": "A lighthouse in a storm"})
    job = await stack.settle(handle)
    assert job.state == "succeeded", job.error_message
    edits = shown(stack.discord.original_message(handle))
    running = [(at, f) for at, f in edits if "%" in f["Status"]]
    assert len(running) >= 6, [f["Status"] for _, f in edits]
    assert longest_quiet(running) <= MOST_QUIET, [round(at) for at, _ in running]
    # The bar moves with the percent, and the times stay timestamps while it runs.
    figures = [int(m.group(1)) for _, f in running if (m := re.search(r"(\d+)% done", f["Status"]))]
    assert figures == sorted(figures) and len(set(figures)) >= 6 and all(p in percents for p in figures)
    assert all("`█" in f["Status"] or "`░" in f["Status"] for _, f in running)
    assert all(STAMP.match(f["Started"]) for _, f in running)
    assert all(STAMP.match(f["Ready"]) or f["Ready"].startswith("⌛") for _, f in running)
    # A poll at most every ~20 s (the key had room to spare): what bought the changes.
    assert stack.vendor.count("status") <= PER_HOUR


async def test_tvc_shows_all_three_steps_each_within_30_s(tvc_stack: Stack) -> None:
    stack = tvc_stack
    await stack.grant(1000)
    stack.vendor.script_next(
        TvcScript(advance="time", seconds_per_step=(40, 40, 90), video_progress=("queuing", "generating"))
    )
    handle = await stack.discord.invoke_slash("tvc", {"theme": "Trail shoes that grip wet rock"})
    job = await stack.settle(handle)
    assert job.state == "succeeded", job.error_message
    edits = shown(stack.discord.original_message(handle))
    steps = [f.get("Steps", "") for _, f in edits]
    first_shown = {n: next(at for at, f in edits if f"⏳ {n}." in f.get("Steps", "")) for n in (1, 2, 3)}
    assert first_shown[1] < first_shown[2] < first_shown[3], steps
    # Each step appears within 30 s of the vendor starting it (0, 40 and 80 s after the first edit,
    # which comes when the job is sent).
    for n, begun in ((2, 40.0), (3, 80.0)):
        assert first_shown[n] - begun <= MOST_QUIET, (n, first_shown)
    statuses = [f["Status"] for _, f in edits]
    assert any("Step 3/3: Rendering the video — waiting its turn at the provider" in s for s in statuses)
    assert any("Step 3/3: Rendering the video — generating" in s for s in statuses), statuses
    assert not any("queuing" in s for s in statuses)
    assert edits[-1][1]["Steps"].count("✅") == 3


@pytest.fixture
async def one_at_a_time(tmp_path: Path, fake_discord: FakeDiscord) -> AsyncIterator[Stack]:
    async with FakeNanophoto() as vendor:
        profile = vendor.profile(max_concurrent=1, keys=(vendor.api_key(),))
        async for stack in make_stack(tmp_path, fake_discord, vendor, profile):
            yield stack


async def test_the_place_in_line_shows_only_when_someone_is_ahead(one_at_a_time: Stack) -> None:
    stack, fake = one_at_a_time, one_at_a_time.discord
    await stack.grant(100)
    stack.vendor.script_next(*[NanophotoScript(outcome="never")] * 3)
    handles = []
    for n in range(3):  # one after the other: the line is first, second, third
        handles.append(await fake.invoke_slash("sora", {"prompt": f"Job {n}"}))
        await stack.job_for(handles[-1])
    await fake.wait_for_message(
        lambda m: m.interaction_id == handles[2].id and "position 2 of 2" in str(m.embeds)
    )
    await stack.bot.delivery.wait_idle()
    cards = [statuses_of(fake.original_message(h)) for h in handles]
    assert any(s == "⏳ Waiting in the queue — position 2 of 2" for s in cards[2]), cards
    assert "⏳ Next in line" in cards[1] and not any("position" in s for s in cards[1]), cards
    assert not any("position" in s for s in cards[0]), cards  # never queued behind anyone
    await stack.bot.engine.stop()


def statuses_of(message: StoredMessage) -> list[str]:
    return [f["Status"] for _, f in shown(message)]
