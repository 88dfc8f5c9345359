"""Reference images: ``/sora`` with an attachment, on a URL vendor and on a vendor that gets the pixels.

Every refusal — a video, a text file, a renamed file, a corrupt or oversized picture, a channel
where the bot cannot post — is shown only to the member, and nothing is charged or sent to a vendor.
"""

from __future__ import annotations

import io
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from storage import jobs
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, Perm, StoredMessage
from tests.fakes.nanophoto import TaskScript
from tests.fakes.openai_videos import FakeOpenAIVideos, VideoScript
from tests.fakes.pictures import png_bomb

PROMPT = "The cat slowly turns its head and blinks"
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64


def png(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


async def ledger_kinds(stack: Stack) -> list[str]:
    rows = await stack.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id IS NOT NULL ORDER BY id")
    return [r["kind"] for r in rows]


async def ephemeral_reply(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    """The error only the member sees (an ephemeral reply, or the followup that replaced "thinking…")."""
    return await fake.wait_for_message(
        lambda m: m.interaction_id == handle.id and m.ephemeral and not m.deleted and bool(m.content)
    )


async def assert_nothing_charged(stack: Stack) -> None:
    assert await jobs.count(stack.db) == 0
    assert await ledger_kinds(stack) == []
    assert stack.vendor.requests == []
    assert await stack.balance() == 10


async def test_sora_with_an_image_on_nanophoto_sends_the_attachment_url(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(stages=("generating",)))
    fake = stack.discord
    attachment = fake.make_attachment(png(), "cat.png", width=64, height=48)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT, "image": attachment})
    job = await stack.settle(handle)
    assert job.state == "succeeded", job.error_message
    assert job.kind == "image"
    sent = stack.vendor.calls("generate")[0].json
    assert sent["mode"] == "imageToVideo"
    assert sent["imageUrls"] == [attachment["url"]]
    # The bot itself read the attachment at once (its link expires), from the fake CDN.
    assert any(q.route and q.route.startswith("/cdn/attachments") for q in fake.requests)
    original = fake.original_message(handle)
    assert original.embeds[0]["title"] == "Image to video"
    assert original.embeds[0]["thumbnail"]["url"] == attachment["url"]


async def test_sora_with_an_image_on_openai_sends_the_fitted_picture(
    tmp_path: Path, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture, decoded_on, real_open = png(300, 200), [], Image.open

    def open_spy(fp: Any, *args: Any, **kwargs: Any) -> Image.Image:
        if isinstance(fp, io.BytesIO) and fp.getvalue() == picture:
            decoded_on.append(threading.current_thread().name)
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", open_spy)
    async with FakeOpenAIVideos() as vendor:
        vendor.script_next(VideoScript())
        async for stack in make_stack(tmp_path, fake_discord, vendor, vendor.profile()):  # type: ignore[arg-type]
            await stack.grant(1000)
            attachment = fake_discord.make_attachment(picture, "cat.png", width=300, height=200)
            handle = await fake_discord.invoke_slash("sora", {"prompt": PROMPT, "image": attachment})
            job = await stack.settle(handle)
            assert job.state == "succeeded", job.error_message
            (create,) = vendor.calls("create")
            assert create.files["input_reference"].size == (720, 1280)  # portrait, cover-fitted
    # Intake read only the header; the one decode was the fit, on the decode pool.
    assert len(decoded_on) == 1 and decoded_on[0].startswith("decode"), decoded_on


@pytest.mark.parametrize(
    ("data", "filename", "meta", "needles"),
    [
        pytest.param(
            b"hello, world\n",
            "notes.txt",
            {},
            ("`notes.txt`", "not a picture", "PNG, JPEG or WebP"),
            id="text-file",
        ),
        pytest.param(MP4_HEAD, "clip.mp4", {}, ("`clip.mp4`", "is a video"), id="video"),
        pytest.param(b"GIF89a" + b"\x00" * 32, "party.gif", {}, ("GIF", "PNG, JPEG or WebP"), id="gif"),
        pytest.param(
            png(), "huge.png", {"size": 11 * 1024 * 1024}, ("11.0 MB", "at most 10.0 MB"), id="over-10-MB"
        ),
        pytest.param(
            png(),
            "wide.png",
            {"width": 5_000, "height": 4_000},
            ("5000x4000", "at most 16 megapixels"),
            id="over-16-MP",
        ),
    ],
)
async def test_bad_attachment_refused_before_deferring(
    stack: Stack, data: bytes, filename: str, meta: dict[str, int], needles: tuple[str, ...]
) -> None:
    await stack.grant(10)
    fake = stack.discord
    attachment = fake.make_attachment(data, filename, **meta)  # type: ignore[arg-type]
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT, "image": attachment})
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral and not reply.loading
    for needle in needles:
        assert needle in reply.content, reply.content
    await assert_nothing_charged(stack)


@pytest.mark.parametrize(
    ("data", "filename", "needles"),
    [
        pytest.param(
            MP4_HEAD, "cat.png", ("`cat.png`", "a video (MP4)", "ends in `.png`"), id="video-renamed-png"
        ),
        pytest.param(
            b"just some words\n" * 4, "cat.png", ("a text file", "ends in `.png`"), id="text-renamed-png"
        ),
        pytest.param(png()[:60], "cat.png", ("`cat.png`", "damaged or incomplete"), id="corrupt-png"),
        pytest.param(
            png_bomb(7000, 7000), "cat.png", ("`cat.png`", "7000x7000", "at most 16 megapixels"), id="bomb"
        ),
        pytest.param(b"", "cat.png", ("`cat.png`", "empty"), id="empty"),
    ],
)
async def test_bad_image_bytes_refused_after_deferring(
    stack: Stack, data: bytes, filename: str, needles: tuple[str, ...]
) -> None:
    await stack.grant(10)
    fake = stack.discord
    attachment = fake.make_attachment(data, filename, width=64, height=48)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT, "image": attachment})
    await fake.wait_for_ack(handle)
    reply = await ephemeral_reply(fake, handle)
    for needle in needles:
        assert needle in reply.content, reply.content
    # The public "thinking…" message is gone; no job message is left behind.
    public = [
        m
        for m in fake.channel_messages(fake.channel.id, include_ephemeral=False)
        if m.interaction_id == handle.id
    ]
    assert public == []
    await assert_nothing_charged(stack)


async def test_missing_channel_permissions_are_named(stack: Stack) -> None:
    await stack.grant(10)
    fake = stack.discord
    await fake.deny_bot(fake.channel.id, Perm.EMBED_LINKS | Perm.ATTACH_FILES)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral
    assert "**Embed Links** and **Attach Files** permissions" in reply.content, reply.content
    await assert_nothing_charged(stack)


async def test_animate_a_member_message_with_an_image(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(stages=("generating",)))
    fake = stack.discord
    attachment = fake.make_attachment(png(), "cat.png", width=64, height=48)
    posted = await fake.post_member_message("A cat on a windowsill", attachments=[attachment])
    opened = await fake.invoke_message_command("Animate", posted)
    await fake.wait_for_ack(opened)
    assert opened.modal is not None
    (row,) = opened.modal["components"]
    prompt_input = row.get("component") or row["components"][0]
    assert prompt_input["value"] == "A cat on a windowsill"  # prefilled with the message's text
    submit = await fake.invoke_modal_submit(opened, {"animate:prompt": PROMPT})
    job = await stack.settle(submit)
    assert job.state == "succeeded", job.error_message
    assert job.kind == "image"
    sent = stack.vendor.calls("generate")[0].json
    assert sent["mode"] == "imageToVideo" and sent["prompt"] == PROMPT
    assert sent["imageUrls"] == [posted.attachments[0]["url"]]


async def test_animate_a_message_without_an_image(stack: Stack) -> None:
    await stack.grant(10)
    fake = stack.discord
    posted = await fake.post_member_message("just words")
    handle = await fake.invoke_message_command("Animate", posted)
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral and reply.content == "That message has no image."
    await assert_nothing_charged(stack)


async def test_a_channel_without_read_message_history_is_refused_first(stack: Stack) -> None:
    """Without Read Message History the result could not reply to its card, nor be found after a
    restart: the member is told before anything is charged."""
    await stack.grant(10)
    fake = stack.discord
    await fake.deny_bot(fake.channel.id, Perm.READ_MESSAGE_HISTORY)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral
    assert "missing the **Read Message History** permission here" in reply.content, reply.content
    await assert_nothing_charged(stack)


async def test_a_database_that_stays_down_is_told_to_the_member_and_costs_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's write fails as a locked database does, past every retry: the member reads that the
    database is not answering and nothing was queued or charged — not a bare "something went wrong"."""
    await stack.grant(10)
    monkeypatch.setattr("bot.engine.admission.ENQUEUE_BACKOFF", 0.01)

    async def locked(body: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(stack.db, "group_write", locked)
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    reply = await ephemeral_reply(stack.discord, handle)
    assert "database is not answering right now, so nothing was queued or charged" in reply.content
    assert "reference `" in reply.content
    monkeypatch.undo()
    await assert_nothing_charged(stack)
