"""Delivery as a member sees it: the video uploaded or linked, one message kept up to date through
token expiry and deletion, and nobody pinged but the requester."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.fakes.openai_videos import FakeOpenAIVideos, VideoScript

PROMPT = "A paper boat drifting down a rainy street, macro lens"
HOOK_EDIT = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
CHANNEL_EDIT = "/channels/{channel_id}/messages/{message_id}"


def status(message: StoredMessage) -> str:
    return str(next(f["value"] for f in message.embeds[0]["fields"] if f["name"] == "Status"))


async def result_of(stack: Stack, job_id: int) -> StoredMessage:
    return await stack.discord.wait_for_message(
        lambda m: f"(job #{job_id} · " in m.content or f"job #{job_id}:" in m.content
    )


async def running(stack: Stack, handle_id: int) -> StoredMessage:
    return await stack.discord.wait_for_message(
        lambda m: m.interaction_id == handle_id and bool(m.embeds) and "Rendering" in str(m.embeds)
    )


async def test_a_video_under_the_upload_limit_is_attached(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(video_size=3000))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    result = await result_of(stack, job.id)
    (attachment,) = result.attachments
    assert attachment["filename"] == f"video-{job.id}.mp4"
    assert attachment["size"] == 3000 and len(result.files[int(attachment["id"])]) == 3000
    assert "may expire" not in result.content and (job.video_url or "") not in result.content
    assert result.mentions == [stack.member_id]
    custom_ids = {c["custom_id"] for row in result.components for c in row["components"]}
    assert custom_ids == {f"soracord:job:{a}:{job.id}" for a in ("again", "variation", "details")}
    assert stack.discord.original_message(handle).components == []  # Cancel is gone once it started


async def test_a_video_over_the_upload_limit_is_linked_with_an_expiry_note(stack: Stack) -> None:
    stack.discord.set_upload_limit(stack.guild_id, 1024)
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(video_size=4096))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    result = await result_of(stack, job.id)
    assert result.attachments == []
    assert job.video_url and job.video_url in result.content
    assert "may expire" in result.content
    assert result.mentions == [stack.member_id]
    assert "✅" in status(stack.discord.original_message(handle))


async def test_a_job_outliving_its_token_finishes_through_the_bot_token(stack: Stack) -> None:
    """The fake refuses the expired token (401/50027); delivery falls back to the channel route."""
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await running(stack, handle.id)
    job = await stack.job_for(handle)
    fake.age_interaction(handle, 901)
    since = len(fake.requests)
    stack.vendor.finish(job.remote_id or "")
    done = await stack.settle(handle)
    assert done.state == "succeeded"

    original = fake.original_message(handle)
    assert "✅" in status(original)
    assert original.edits[-1].via == "channel"
    later = fake.requests[since:]
    refused = [q for q in later if q.route == HOOK_EDIT and q.status == 401]
    assert refused and refused[0].error_code == 50027
    assert any(q.route == CHANNEL_EDIT and q.method == "PATCH" and q.ok for q in later)
    assert fake.followup_messages(handle) == []  # the token is dead: the result is a channel message
    result = await result_of(stack, done.id)
    assert result.via == "channel" and result.mentions == [stack.member_id]
    assert result.attachments and result.attachments[0]["filename"] == f"video-{done.id}.mp4"


async def test_delivery_knows_the_token_expired_without_asking(stack: Stack) -> None:
    """With delivery's clock past the token's life, it does not even try the interaction webhook."""
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await running(stack, handle.id)
    job = await stack.job_for(handle)
    fake.age_interaction(handle, 901)
    stack.bot.delivery.clock = lambda: time.time() + 901
    since = len(fake.requests)
    stack.vendor.finish(job.remote_id or "")
    await stack.settle(handle)
    later = fake.requests[since:]
    assert not any((q.route or "").startswith("/webhooks/") for q in later)
    assert fake.original_message(handle).edits[-1].via == "channel"


async def test_a_deleted_progress_message_is_posted_again_and_followed(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(
        TaskScript(stages=("queuing", "generating", "finalizing"), advance="time", stage_seconds=0.4)
    )
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    first = await fake.wait_for_message(
        lambda m: m.interaction_id == handle.id and "waiting its turn at the provider" in str(m.embeds)
    )
    await fake.delete_message(first.channel_id, first.id)
    job = await stack.settle(handle)
    assert job.state == "succeeded"
    assert job.message_id is not None and job.message_id != first.id
    replacement = fake.message(first.channel_id, job.message_id)
    assert not replacement.deleted and "✅" in status(replacement)
    assert replacement.edits, "later progress went to the new message"
    assert len([m for m in fake.channel_messages(first.channel_id) if m.embeds]) == 1
    result = await result_of(stack, job.id)
    assert result.attachments


async def test_everyone_in_a_prompt_pings_no_one(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    prompt = "@everyone @here look at <@&123> and <@1> dancing"
    handle = await fake.invoke_slash("sora", {"prompt": prompt})
    job = await stack.settle(handle)
    result = await result_of(stack, job.id)
    assert "@\u200beveryone" in result.content  # quoted as written, made inert (a zero-width space) ...
    assert result.mentions == [stack.member_id]  # ... but only the requester is pinged
    for message in fake.channel_messages(fake.channel.id):
        assert message.data["mention_everyone"] is False
        assert message.data["mention_roles"] == []
        assert set(message.mentions) <= {stack.member_id}
    for request in fake.requests:
        if (
            isinstance(request.json, dict)
            and "content" in request.json
            and request.method in ("POST", "PATCH")
        ):
            assert "allowed_mentions" in request.json, request.path


@pytest.fixture
async def slow_edits(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, vendor, progress_edit_interval=0.3):
        yield s


async def test_progress_edits_are_coalesced(slow_edits: Stack) -> None:
    stack = slow_edits
    await stack.grant(10)
    stages = tuple(f"stage-{n}" for n in range(12))
    stack.vendor.script_next(TaskScript(stages=stages, advance="time", stage_seconds=0.05))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    assert job.state == "succeeded"
    edits = stack.discord.original_message(handle).edits
    assert len(edits) < len(stages)
    shown = {stage for edit in edits[:-1] for stage in stages if stage in json.dumps(edit.body)}
    assert len(shown) >= 2, "members saw the job move through its stages"
    gaps = [b.at - a.at for a, b in itertools.pairwise(edits[:-1])]  # the last one is terminal
    assert all(gap >= 0.25 for gap in gaps), gaps


@pytest.fixture
async def byte_vendor() -> AsyncIterator[FakeOpenAIVideos]:
    async with FakeOpenAIVideos(content_style="bytes") as fake:
        yield fake


async def test_a_video_handed_over_as_bytes_is_uploaded(
    tmp_path: Path, fake_discord: FakeDiscord, byte_vendor: FakeOpenAIVideos
) -> None:
    byte_vendor.script_next(VideoScript())
    async for stack in make_stack(tmp_path, fake_discord, byte_vendor, byte_vendor.profile()):  # type: ignore[arg-type]
        await stack.grant(1000)
        handle = await fake_discord.invoke_slash("sora", {"prompt": PROMPT})
        job = await stack.settle(handle)
        assert job.state == "succeeded" and job.video_path
        assert Path(job.video_path) == tmp_path / "videos" / f"{job.id}.mp4"
        result = await result_of(stack, job.id)
        (attachment,) = result.attachments
        assert (
            attachment["filename"] == f"video-{job.id}.mp4" and attachment["size"] == byte_vendor.video_size
        )
        assert job.video_url not in result.content  # that link needs the API key: never shown
        # Kept for VIDEO_RETENTION_DAYS (a retried gallery post uploads it again); bot.retention sweeps it.
        assert await asyncio.to_thread(Path(job.video_path).exists)
