"""``/storyboard``: a modal of shots → a storyboard job on the profile that makes storyboards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, Perm
from tests.fakes.freesora import FakeFreeSora, TaskScript
from tests.fakes.nanophoto import FakeNanophoto

SHOTS = "5 | Establishing shot of a skyline at dusk\n\n7.5 | A taxi pulls up in the rain\n2.5 | Close-up of the driver's eyes"


@pytest.fixture
async def fsg() -> AsyncIterator[FakeFreeSora]:
    async with FakeFreeSora() as fake:
        yield fake


@pytest.fixture
async def on_freesora(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, fsg: FakeFreeSora
) -> AsyncIterator[Stack]:
    """nanophoto (no storyboards) is the default; /storyboard has to find the freesora profile."""
    async for s in make_stack(tmp_path, fake_discord, vendor, extra_profiles=[fsg.profile()]):
        yield s


async def open_modal(stack: Stack, **options: object) -> FakeInteraction:
    handle = await stack.discord.invoke_slash("storyboard", options)
    await stack.discord.wait_for_ack(handle)
    assert handle.modal is not None, "the command answers with a modal"
    return handle


async def test_storyboard_modal_makes_a_storyboard_job(on_freesora: Stack, fsg: FakeFreeSora) -> None:
    stack, fake = on_freesora, on_freesora.discord
    await stack.grant(10_000)
    fsg.script_next(TaskScript())
    opened = await open_modal(stack, duration=15, orientation="landscape")
    assert opened.modal is not None and len(opened.modal["components"]) <= 5
    submit = await fake.invoke_modal_submit(
        opened, {"storyboard:shots": SHOTS, "storyboard:prompt": "Noir, neon, rain"}
    )
    job = await stack.settle(submit)
    assert job.state == "succeeded", job.error_message
    assert (job.kind, job.profile, job.duration) == ("storyboard", "fsg", 15)
    (create,) = fsg.calls("create")
    assert create.json["model"] == "sora-2-pro-storyboard"
    assert create.json["nFrames"] == "15" and create.json["aspectRatio"] == "landscape"
    assert create.json["shots"] == [
        {"Scene": "Establishing shot of a skyline at dusk", "duration": 5},
        {"Scene": "A taxi pulls up in the rain", "duration": 7.5},
        {"Scene": "Close-up of the driver's eyes", "duration": 2.5},
    ]
    embed = fake.original_message(submit).embeds[0]
    assert embed["title"] == "Storyboard video" and "Noir, neon, rain" in embed["description"]
    shots = next(f["value"] for f in embed["fields"] if f["name"] == "Shots")
    assert "`7.5 s` A taxi pulls up in the rain" in shots
    assert stack.vendor.requests == []


@pytest.mark.parametrize(
    ("shots", "needle"),
    [
        ("  \n ", "Write at least one shot"),
        ("5 | Skyline\n5 | Taxi\nThe driver's eyes", "Line 3 has no duration: write `5 | what happens`"),
        ("15 | Skyline\n0 | Taxi", "Line 2: a shot must last more than 0 seconds"),
        ("5 | Skyline\n5 | Taxi", "The shots add up to 10 s but the video is 15 s"),
    ],
)
async def test_bad_shots_are_refused_naming_the_line(
    on_freesora: Stack, fsg: FakeFreeSora, shots: str, needle: str
) -> None:
    stack, fake = on_freesora, on_freesora.discord
    await stack.grant(10_000)
    opened = await open_modal(stack, duration=15)
    submit = await fake.invoke_modal_submit(opened, {"storyboard:shots": shots})
    await fake.wait_for_ack(submit)
    reply = fake.original_message(submit)
    assert reply.ephemeral and needle in reply.content, reply.content
    assert await jobs.count(stack.db) == 0
    assert await stack.db.fetchall("SELECT id FROM ledger_entries WHERE job_id IS NOT NULL") == []
    assert fsg.calls("create") == []


async def test_storyboard_without_a_storyboard_profile_says_so(stack: Stack) -> None:
    await stack.grant(100)
    handle = await stack.discord.invoke_slash("storyboard", {"duration": 10})
    await stack.discord.wait_for_ack(handle)
    reply = stack.discord.original_message(handle)
    assert reply.ephemeral and "no video provider set up for storyboard videos" in reply.content


async def test_not_enough_credits_is_said_before_the_modal_opens(on_freesora: Stack) -> None:
    await on_freesora.grant(1)
    handle = await on_freesora.discord.invoke_slash("storyboard", {"duration": 15})
    await on_freesora.discord.wait_for_ack(handle)
    assert handle.modal is None
    assert "Not enough credits" in on_freesora.discord.original_message(handle).content


async def test_storyboard_in_a_channel_where_the_bot_cannot_attach(on_freesora: Stack) -> None:
    fake = on_freesora.discord
    await on_freesora.grant(10_000)
    await fake.deny_bot(fake.channel.id, Perm.ATTACH_FILES)
    handle = await fake.invoke_slash("storyboard", {"duration": 15})
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral and "missing the **Attach Files** permission here" in reply.content
