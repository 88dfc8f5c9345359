"""The gallery (``/settings gallery``): every finished video is posted again there — prompt, model,
member (named, not pinged), a link to the original — exactly once; in a forum as a thread tagged with
the model, the tag made when the forum lacks it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from storage import jobs, outbox, posts
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord import records as r
from tests.fakes.discord.payloads import Channel, Overwrite, Perm
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript

PROMPT = "A paper boat drifting down a rainy street, macro lens"
CREATE = "/channels/{channel_id}/messages"
THREADS = "/channels/{channel_id}/threads"


def owner(fake: FakeDiscord):  # type: ignore[no-untyped-def]  # the server owner has Manage Server
    return fake.guild.members[fake.owner.id]


async def set_gallery(stack: Stack, channel: Channel) -> StoredMessage:
    fake = stack.discord
    handle = await fake.invoke_slash("settings gallery", {"channel": channel}, user=owner(fake))
    return await fake.wait_for_message(lambda m: m.interaction_id == handle.id and bool(m.embeds))


async def make_video(stack: Stack, prompt: str = PROMPT) -> int:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(video_size=3000))
    job = await stack.settle(await stack.discord.invoke_slash("sora", {"prompt": prompt}))
    assert job.state == "succeeded"
    return job.id


def result_of(fake: FakeDiscord, job_id: int) -> StoredMessage:
    (found,) = [m for m in fake.channel_messages(fake.channel.id) if f"(job #{job_id} · " in m.content]
    return found


def field(message: StoredMessage, name: str) -> str:
    return str(next(f["value"] for f in message.embeds[0]["fields"] if f["name"] == name))


def link_buttons(message: StoredMessage) -> list[str]:
    return [c["url"] for row in message.components for c in row["components"] if c.get("url")]


async def test_a_text_channel_gallery_gets_every_video_once(stack: Stack) -> None:
    fake = stack.discord
    gallery = fake.add_channel(stack.guild_id, "gallery")
    shown = await set_gallery(stack, gallery)
    assert f"<#{gallery.id}>" in str(shown.embeds)
    job_id = await make_video(stack)
    result = result_of(fake, job_id)

    (post,) = [m for m in fake.channel_messages(gallery.id) if m.author_id == fake.bot_user.id]
    original = f"https://discord.com/channels/{stack.guild_id}/{fake.channel.id}/{result.id}"
    assert PROMPT in post.embeds[0]["description"]
    assert post.embeds[0]["title"] == field(post, "Model")
    assert field(post, "Member") == f"<@{stack.member_id}>" and post.mentions == []  # named, not pinged
    assert field(post, "Original") == original and link_buttons(post) == [original]
    (video,) = post.attachments
    assert video["filename"] == f"video-{job_id}.mp4" and video["size"] == result.attachments[0]["size"]
    (request,) = [q for q in fake.requests_to(CREATE, "POST") if q.params["channel_id"] == str(gallery.id)]
    assert request.json["nonce"].startswith(f"g{job_id}-") and request.json["enforce_nonce"] is True
    row = await posts.get(stack.db, job_id, posts.GALLERY)
    assert row is not None and row.state == "sent" and row.message_id == post.id

    await make_video(stack, "A second one")  # and the next video too
    assert len([m for m in fake.channel_messages(gallery.id) if m.author_id == fake.bot_user.id]) == 2


async def test_a_gallery_post_whose_answer_was_lost_is_not_posted_twice(stack: Stack) -> None:
    """Discord made the post but the answer never came (a 500 after it): discord.py sends it again
    with the same nonce, and Discord answers with the post it already made."""
    fake = stack.discord
    gallery = fake.add_channel(stack.guild_id, "gallery")
    await set_gallery(stack, gallery)
    lost: list[int] = []

    async def answer_lost(message: StoredMessage) -> None:
        if message.channel_id == gallery.id and not lost:
            lost.append(message.id)
            raise r.fail(r.SERVER_ERROR)

    fake.after_channel_message = answer_lost
    await make_video(stack)
    (post,) = [m for m in fake.channel_messages(gallery.id) if m.author_id == fake.bot_user.id]
    assert lost == [post.id]
    sent = [q for q in fake.requests_to(CREATE, "POST") if q.params["channel_id"] == str(gallery.id)]
    assert len(sent) >= 2 and len({q.json["nonce"] for q in sent}) == 1


@pytest.fixture
async def forum(fake_discord: FakeDiscord) -> Channel:
    """A forum with one tag, where the bot may edit the tags (Manage Channels)."""
    made = fake_discord.rest.forums.add_forum(fake_discord.guild.id, "showcase", tags=("Behind the scenes",))
    made.overwrites.append(Overwrite(fake_discord.bot_user.id, 1, int(Perm.MANAGE_CHANNELS), 0))
    return made


async def deliver_again(stack: Stack, job_id: int) -> None:
    """The job's terminal event once more, as a restart announces a job with a post still to send."""
    row = await jobs.get(stack.db, job_id)
    assert row is not None
    await stack.bot.delivery.on_job_event(stack.bot.engine.events.describe(row))
    async with asyncio.timeout(10):
        await stack.bot.delivery.wait_idle()


async def test_a_forum_gallery_makes_a_tagged_thread_per_video(forum: Channel, stack: Stack) -> None:
    fake = stack.discord
    await set_gallery(stack, forum)
    first = await make_video(stack)
    second = await make_video(stack, "Rain on a tin roof, slow motion")

    (tags_edit,) = fake.requests_to("/channels/{channel_id}", "PATCH")  # made once, then reused
    made = [t for t in forum.available_tags if t["name"] != "Behind the scenes"]
    assert len(made) == 1 and len(forum.available_tags) == 2
    tag = made[0]
    assert tags_edit.json["available_tags"][0]["name"] == "Behind the scenes"  # kept what was there
    threads = fake.rest.forums.posts_in(forum.id)
    assert [thread.channel.name for thread, _ in threads] == [
        f"{PROMPT} (#{first})",
        f"Rain on a tin roof, slow motion (#{second})",
    ]
    for (thread, starter), job_id in zip(threads, (first, second), strict=True):
        assert thread.applied_tags == [int(tag["id"])]
        assert starter.id == thread.id and starter.embeds[0]["title"] == tag["name"]
        assert starter.attachments[0]["filename"] == f"video-{job_id}.mp4"
        result = result_of(fake, job_id)
        assert link_buttons(starter) == [
            f"https://discord.com/channels/{stack.guild_id}/{fake.channel.id}/{result.id}"
        ]
    (create, _) = fake.requests_to(THREADS, "POST")
    assert create.files and create.files[0].field == "files[0]"  # a multipart upload, checked by the fake


async def test_a_forum_the_bot_may_not_edit_gets_untagged_threads(
    fake_discord: FakeDiscord, stack: Stack
) -> None:
    fake = stack.discord
    plain = fake.rest.forums.add_forum(stack.guild_id, "plain")
    await set_gallery(stack, plain)
    job_id = await make_video(stack)
    ((thread, _),) = fake.rest.forums.posts_in(plain.id)
    assert thread.applied_tags == [] and thread.channel.name.endswith(f"(#{job_id})")
    (refused,) = fake.requests_to("/channels/{channel_id}", "PATCH")
    assert refused.status == 403


async def test_an_interrupted_forum_post_is_found_not_made_twice(forum: Channel, stack: Stack) -> None:
    """Create Thread takes no nonce: an attempt that went out unanswered is looked for first."""
    fake = stack.discord
    await set_gallery(stack, forum)
    job_id = await make_video(stack)
    ((thread, _),) = fake.rest.forums.posts_in(forum.id)
    async with stack.db.transaction() as tx:  # as if the bot died before it saw the answer
        await tx.execute(
            "UPDATE posts SET state = 'claimed', claimed_at = $1, message_id = NULL WHERE job_id = $2",
            (time.time() - 5, job_id),
        )
    since = len(fake.requests)
    await deliver_again(stack, job_id)
    later = fake.requests[since:]
    assert any(q.route == "/guilds/{guild_id}/threads/active" for q in later)  # it looked ...
    assert not any(q.route == THREADS for q in later)  # ... and made nothing
    assert len(fake.rest.forums.posts_in(forum.id)) == 1
    post = await posts.get(stack.db, job_id, posts.GALLERY)
    assert post is not None and post.state == "sent" and post.message_id == thread.id


async def test_a_gallery_post_left_pending_goes_out_after_a_restart(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    gallery = fake_discord.add_channel(fake_discord.guild.id, "gallery")

    async def refuse(channel: Channel, body: dict[str, object]) -> None:
        if channel.id == gallery.id:
            raise r.fail(r.INVALID_FORM_BODY)

    async for stack in make_stack(tmp_path, fake_discord, vendor):
        stack.bot.delivery.gallery.retry_delays = (0.01, 0.01)
        await set_gallery(stack, gallery)
        fake_discord.before_channel_message = refuse
        job_id = await make_video(stack)
        pending = await posts.get(stack.db, job_id, posts.GALLERY)
        assert pending is not None and pending.state == "pending" and pending.attempts == 3
    # The bot stopped with the gallery post still to do; the channel takes it now.
    fake_discord.before_channel_message = None

    async for again in make_stack(tmp_path, fake_discord, vendor):
        post = await fake_discord.wait_for_message(
            lambda m: m.channel_id == gallery.id and m.author_id == fake_discord.bot_user.id, timeout=10
        )
        async with asyncio.timeout(10):
            await again.bot.delivery.wait_idle()
        assert f"#{job_id}" in post.embeds[0]["footer"]["text"]
        assert len([m for m in fake_discord.channel_messages(gallery.id) if not m.ephemeral]) == 1
        shown = fake_discord.channel_messages(fake_discord.channel.id)
        assert len([m for m in shown if f"(job #{job_id} · " in m.content]) == 1  # no second result
        entry = await outbox.get(again.db, job_id)
        row = await posts.get(again.db, job_id, posts.GALLERY)
        assert entry is not None and entry.state == "sent" and row is not None and row.state == "sent"
