"""A vendor that echoes an API key — in a progress word, a failure, a video link — shows it to no one.

Two profiles are configured (nanophoto and freesora), so the echoed keys include ones the answering
adapter did not use and would not blank itself: another key of the same account, another profile's
key. The engine blanks every configured key before anything is stored, so the card, the result,
every request the bot made to Discord and every database row are free of them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, make_stack
from tests.e2e.fuzzing import snapshot
from tests.fakes import freesora, nanophoto
from tests.fakes.discord import FakeDiscord
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.nanophoto import FakeNanophoto

NANO_A, NANO_B = nanophoto.DEFAULT_KEYS["key-a"], nanophoto.DEFAULT_KEYS["key-b"]
FSG_A, FSG_B = freesora.DEFAULT_KEYS["key-a"], freesora.DEFAULT_KEYS["key-b"]
SECRETS = (NANO_A, NANO_B, FSG_A, FSG_B)


@pytest.fixture
async def fsg() -> AsyncIterator[FakeFreeSora]:
    async with FakeFreeSora() as fake:
        yield fake


@pytest.fixture
async def nano_first(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, fsg: FakeFreeSora
) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, vendor, extra_profiles=[fsg.profile()]):
        yield s


@pytest.fixture
async def fsg_first(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, fsg: FakeFreeSora
) -> AsyncIterator[Stack]:
    async for s in make_stack(
        tmp_path, fake_discord, vendor, fsg.profile(), extra_profiles=[vendor.profile()]
    ):
        yield s


async def assert_no_secret_anywhere(stack: Stack) -> None:
    """Not in what the bot sent Discord, not in what members see, not in any database row."""
    sent = [json.dumps(r.json) for r in stack.discord.requests if r.json is not None]
    shown = [json.dumps(m.data) for m in stack.discord.messages.by_id.values()]
    rows = [repr(table) for table in (await snapshot(stack.db)).values()]
    for secret in SECRETS:
        for text in (*sent, *shown, *rows):
            assert secret not in text


def statuses(stack: Stack, message_id: int) -> list[str]:
    message = next(m for m in stack.discord.messages.by_id.values() if m.id == message_id)
    bodies = [e.body for e in message.edits if isinstance(e.body, dict) and e.body.get("embeds")]
    return [b["embeds"][0]["fields"][0]["value"] for b in bodies]


async def test_keys_in_a_progress_word_and_the_video_link_are_blanked(
    nano_first: Stack, vendor: FakeNanophoto
) -> None:
    stack = nano_first
    await stack.grant(10)
    working = {"success": True, "status": "processing", "progress": f"warming {NANO_B} {FSG_A}"}
    link = f"{vendor.base_url}/videos/clip.mp4?sig={NANO_A}&alt={FSG_B}"
    vendor.force("status", body=working, times=10)  # outlasts a card edit, however often it polls
    vendor.force("status", body={"success": True, "status": "completed", "videoUrl": link})
    handle = await stack.discord.invoke_slash("sora", {"prompt": "a lighthouse in fog"})
    job = await stack.settle(handle)
    assert job.state == "succeeded", job.error_message
    card = stack.discord.original_message(handle)
    assert any("warming \\*\\*\\* \\*\\*\\*" in s for s in statuses(stack, card.id))  # blanked, inert
    assert job.video_url == f"{vendor.base_url}/videos/clip.mp4?sig=***&alt=***"
    assert "sig=***&alt=***" in str(card.embeds)  # the link is still shown, without the keys
    await assert_no_secret_anywhere(stack)


async def test_keys_in_a_failure_message_are_blanked(fsg_first: Stack, fsg: FakeFreeSora) -> None:
    stack = fsg_first
    await stack.grant(1000)
    reason = f"quota of {NANO_A} used up, try {FSG_B}"
    fsg.script_next(freesora.TaskScript(outcome="failed", failure_reason=reason))
    handle = await stack.discord.invoke_slash("sora", {"prompt": "a lighthouse in fog"})
    job = await stack.settle(handle)
    assert job.state == "failed"
    status = stack.discord.original_message(handle).embeds[0]["fields"][0]["value"]
    assert "quota of \\*\\*\\* used up, try \\*\\*\\*" in status  # the vendor's words, blanked and inert
    (result,) = stack.discord.answers(handle)
    assert "quota of" in result.content
    await assert_no_secret_anywhere(stack)
