"""Videos always land: a video larger than the channel's upload limit is re-encoded to fit and
uploaded — one upload under the limit, playable, as long as the source — with a frame of it on the
card; the vendor's link (which expires) only when even that fails.

The source is a real 26 MB MP4 made by ffmpeg in the test and served by the fake vendor as the job's
video; the fake Discord enforces the 10 MiB limit on every upload.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.transcode import HEADROOM
from storage import jobs
from storage.jobs import JobRow
from tests.e2e.conftest import Stack
from tests.fakes.clips import duration_of, frame_size, make_clip
from tests.fakes.discord import FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import TaskScript

pytestmark = pytest.mark.timeout(180)

PROMPT = "A paper boat drifting down a rainy street, macro lens"
LIMIT = 10 * 1024 * 1024
SOURCE_SECONDS = 6.0
log = logging.getLogger(__name__)


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = make_clip(
        tmp_path_factory.mktemp("clips") / "big.mp4", seconds=SOURCE_SECONDS, target_bytes=26_500_000
    )
    assert path.stat().st_size >= 25_000_000, "the source must be the 25 MB video the test is about"
    return path


async def settle(stack: Stack, handle: FakeInteraction, seconds: float = 120.0) -> JobRow:
    """``Stack.settle`` with room for an encode (a few seconds here, more on a loaded machine)."""
    job = await stack.job_for(handle)
    async with asyncio.timeout(seconds):
        await stack.bot.engine.wait_idle()
        await stack.bot.delivery.wait_idle()
    done = await jobs.get(stack.db, job.id)
    assert done is not None
    return done


async def result_of(stack: Stack, job_id: int) -> StoredMessage:
    return await stack.discord.wait_for_message(lambda m: f"(job #{job_id} · " in m.content)


def uploads_of(stack: Stack, suffix: str) -> list[int]:
    """Sizes of every file the bot uploaded whose name ends with ``suffix``, any route, any answer."""
    return [f.size for q in stack.discord.requests for f in q.files if (f.filename or "").endswith(suffix)]


async def test_a_25_mb_video_is_re_encoded_under_a_10_mib_limit_and_uploaded(
    stack: Stack, big_clip: Path, tmp_path: Path
) -> None:
    stack.discord.set_upload_limit(stack.guild_id, LIMIT)
    await stack.grant(10)
    source = await asyncio.to_thread(big_clip.read_bytes)
    stack.vendor.script_next(TaskScript(video_bytes=source))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    job = await settle(stack, handle)
    assert job.state == "succeeded"
    assert [c.status for c in stack.vendor.calls("video")] == [200]  # the vendor served it, once

    result = await result_of(stack, job.id)
    (attachment,) = result.attachments
    assert attachment["filename"] == f"video-{job.id}.mp4"
    uploaded = result.files[int(attachment["id"])]
    assert len(uploaded) == attachment["size"] <= LIMIT
    assert len(uploaded) >= LIMIT * (1 - 3 * HEADROOM), "the bitrate uses the room the limit gives"
    assert uploads_of(stack, ".mp4") == [len(uploaded)], "one upload, accepted at once"
    assert (job.video_url or "?") not in result.content and "may expire" not in result.content
    assert "Re-encoded to fit" in result.content

    out = tmp_path / "uploaded.mp4"
    await asyncio.to_thread(out.write_bytes, uploaded)
    seconds, source_seconds = duration_of(out), duration_of(big_clip)
    assert abs(seconds - source_seconds) <= 0.5, (seconds, source_seconds)
    width, height = frame_size(out)
    assert (width, height) == frame_size(big_clip)  # a bitrate this high keeps the picture size
    log.warning(
        "fitted %d bytes (%.2f s, %dx%d) into %d bytes (%.2f s, %dx%d) for a %d-byte limit",
        len(source), source_seconds, *frame_size(big_clip), len(uploaded), seconds, width, height, LIMIT,
    )  # fmt: skip

    card = stack.discord.original_message(handle)
    image = card.embeds[0].get("image") or {}
    assert image.get("url") == f"attachment://poster-{job.id}.jpg"
    (poster,) = card.attachments
    assert poster["filename"] == f"poster-{job.id}.jpg"
    assert card.files[int(poster["id"])].startswith(b"\xff\xd8")  # a JPEG
    assert (job.video_url or "?") not in str(card.embeds)  # uploaded: no vendor link on the card


async def test_a_video_that_cannot_be_fitted_is_linked(stack: Stack, tmp_path: Path) -> None:
    """60 s of video into 200 KB leaves too little for the picture: the link, with why; the card still
    shows a frame of the video."""
    clip = make_clip(tmp_path / "long.mp4", seconds=60, size="320x180", rate=10, audio=False)
    stack.discord.set_upload_limit(stack.guild_id, 200_000)
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(video_bytes=await asyncio.to_thread(clip.read_bytes)))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    job = await settle(stack, handle)
    result = await result_of(stack, job.id)
    assert result.attachments == []
    assert job.video_url and job.video_url in result.content and "may expire" in result.content
    assert uploads_of(stack, ".mp4") == []
    card = stack.discord.original_message(handle)
    assert (card.embeds[0].get("image") or {}).get("url") == f"attachment://poster-{job.id}.jpg"


async def test_a_small_real_video_is_uploaded_as_it_is(stack: Stack, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "small.mp4", seconds=2, size="320x180")
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(video_bytes=await asyncio.to_thread(clip.read_bytes)))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    job = await settle(stack, handle)
    result = await result_of(stack, job.id)
    (attachment,) = result.attachments
    assert result.files[int(attachment["id"])] == await asyncio.to_thread(clip.read_bytes)  # untouched
    assert "Re-encoded" not in result.content
