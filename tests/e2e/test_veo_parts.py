"""A multi-shot video the vendor left in parts: every shot's link, no joined video (docs/vendors.md,
"nanophoto Veo 3.1", V10). The member still gets one video — the shots fetched, joined in order with ffmpeg and uploaded
like any other — and, when a shot cannot be fetched, every shot's link in order rather than nothing;
charged either way, because the vendor made the video.

The shots are real MP4s made by ffmpeg in the test (``tests.fakes.clips``) and served by the fake Veo
vendor at each shot's own link; what the member receives is measured with imageio-ffmpeg's readers.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs, ledger
from storage.jobs import JobRow
from storage.states import JobState
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.clips import duration_of, make_clip
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord import records as r
from tests.fakes.discord.payloads import Channel
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto_veo import FakeNanophotoVeo, VeoScript

pytestmark = pytest.mark.timeout(120)

VEO = "nano-veo/veo-3.1"
SCENES = "A lighthouse at dawn\nWaves break on the rocks\nA gull lands on the rail"
SHOT_SECONDS = 2.0  # the fake's clips: short, so the test is quick; the vendor's are 8 s


@pytest.fixture(scope="module")
def shot_clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, ...]:
    folder = tmp_path_factory.mktemp("shots")
    return tuple(
        make_clip(folder / f"shot-{n}.mp4", seconds=SHOT_SECONDS, size="320x180").read_bytes()
        for n in (1, 2, 3)
    )


@pytest.fixture
async def veo() -> AsyncIterator[FakeNanophotoVeo]:
    async with FakeNanophotoVeo() as fake:
        yield fake


@pytest.fixture
async def on_veo(tmp_path: Path, fake_discord: FakeDiscord, veo: FakeNanophotoVeo) -> AsyncIterator[Stack]:
    async for stack in make_stack(tmp_path, fake_discord, veo):
        await stack.grant(100)
        yield stack


async def storyboard(stack: Stack, locale: str = "en-US") -> FakeInteraction:
    fake = stack.discord
    handle = await fake.invoke_slash("storyboard", {"model": VEO}, locale=locale)
    await fake.wait_for_ack(handle)
    assert handle.modal is not None
    values = {"storyboard:shots": SCENES, "storyboard:prompt": ""}
    return await fake.invoke_modal_submit(handle, values, locale=locale)


async def settle(stack: Stack, handle: FakeInteraction) -> JobRow:
    """``Stack.settle`` with room for ffmpeg (the join, the poster frame) on a loaded machine."""
    job = await stack.job_for(handle)
    async with asyncio.timeout(60):
        await stack.bot.engine.wait_idle()
        await stack.bot.delivery.wait_idle()
    done = await jobs.get(stack.db, job.id)
    assert done is not None
    return done


async def result_of(stack: Stack, job_id: int, marker: str = "job #") -> StoredMessage:
    return await stack.discord.wait_for_message(
        lambda m: f"{marker}{job_id} · " in m.content and bool(m.mentions)
    )


async def charged(stack: Stack, job_id: int) -> tuple[int, list[str]]:
    """Credits the job cost the member, and the ledger entries it made (by kind)."""
    entries = [
        e for e in await ledger.entries(stack.db, stack.guild_id, stack.member_id) if e.job_id == job_id
    ]
    return -sum(e.amount for e in entries), sorted(e.kind for e in entries)


async def show_gallery(stack: Stack) -> int:
    """A gallery channel for the server (``/settings gallery``, by its owner); its id."""
    fake = stack.discord
    gallery = fake.add_channel(stack.guild_id, "gallery")
    owner = fake.guild.members[fake.owner.id]
    handle = await fake.invoke_slash("settings gallery", {"channel": gallery}, user=owner)
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and bool(m.embeds))
    return int(gallery.id)


async def test_three_shots_without_a_joined_video_arrive_as_one_video_of_all_three(
    on_veo: Stack, veo: FakeNanophotoVeo, shot_clips: tuple[bytes, ...], tmp_path: Path
) -> None:
    gallery = await show_gallery(on_veo)
    veo.script_next(VeoScript(joined=False, shot_videos=shot_clips))
    handle = await storyboard(on_veo)
    job = await settle(on_veo, handle)
    assert job.state is JobState.SUCCEEDED, job.error_message
    assert job.video_url is None and job.remote_id is not None
    assert job.parts == tuple(veo.shot_url(job.remote_id, n) for n in (1, 2, 3))  # on the row, in order
    assert [c.status for c in veo.calls("video")] == [200, 200, 200]  # each shot fetched once

    result = await result_of(on_veo, job.id)
    assert result.mentions == [on_veo.member_id] and "Shot 1" not in result.content
    (attachment,) = result.attachments  # ONE video, not three
    assert attachment["filename"] == f"video-{job.id}.mp4"
    out = tmp_path / "received.mp4"
    await asyncio.to_thread(out.write_bytes, result.files[int(attachment["id"])])
    assert duration_of(out) == pytest.approx(3 * SHOT_SECONDS, abs=0.5)  # all three, end to end

    card = on_veo.discord.original_message(handle)
    assert (card.embeds[0].get("image") or {}).get("url") == f"attachment://poster-{job.id}.jpg"
    posted = [
        m for m in on_veo.discord.channel_messages(gallery) if m.author_id == on_veo.discord.bot_user.id
    ]
    assert [a["filename"] for m in posted for a in m.attachments] == [f"video-{job.id}.mp4"]
    assert await charged(on_veo, job.id) == (30, ["capture", "hold"])  # charged once
    assert await on_veo.balance() == 70


async def test_a_shot_that_cannot_be_fetched_leaves_every_shots_link_in_order(
    on_veo: Stack, veo: FakeNanophotoVeo, shot_clips: tuple[bytes, ...]
) -> None:
    gallery = await show_gallery(on_veo)
    veo.script_next(VeoScript(joined=False, shot_videos=shot_clips, missing_shots=frozenset({2})))
    job = await settle(on_veo, await storyboard(on_veo))
    assert job.state is JobState.SUCCEEDED, job.error_message  # the vendor made it
    assert job.remote_id is not None
    assert 404 in [c.status for c in veo.calls("video")]

    result = await result_of(on_veo, job.id)
    assert result.attachments == [] and result.mentions == [on_veo.member_id]
    links = [veo.shot_url(job.remote_id, n) for n in (1, 2, 3)]
    lines = [f"Shot {n}: {url}" for n, url in enumerate(links, start=1)]
    assert all(line in result.content for line in lines), result.content
    assert [result.content.index(line) for line in lines] == sorted(result.content.index(x) for x in lines)
    assert "3 separate shots" in result.content
    (copy,) = [
        m for m in on_veo.discord.channel_messages(gallery) if m.author_id == on_veo.discord.bot_user.id
    ]
    shown = " ".join(str(f["value"]) for e in copy.embeds for f in e.get("fields", []))
    assert all(f"[Shot {n}]({url})" in shown for n, url in enumerate(links, start=1)), (
        shown
    )  # the gallery too
    assert await charged(on_veo, job.id) == (30, ["capture", "hold"])
    assert await on_veo.balance() == 70


async def test_a_zh_cn_member_reads_the_shots_numbered_in_chinese(
    on_veo: Stack, veo: FakeNanophotoVeo
) -> None:
    veo.script_next(VeoScript(joined=False, missing_shots=frozenset({1, 2, 3})))
    job = await settle(on_veo, await storyboard(on_veo, locale="zh-CN"))
    assert job.state is JobState.SUCCEEDED and job.remote_id is not None
    result = await result_of(on_veo, job.id, marker="任务 #")
    for n in (1, 2, 3):
        assert f"镜头 {n}：{veo.shot_url(job.remote_id, n)}" in result.content


async def test_parts_larger_together_than_the_bot_downloads_are_listed_not_joined(
    on_veo: Stack, veo: FakeNanophotoVeo, shot_clips: tuple[bytes, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = len(shot_clips[0]) + len(shot_clips[1]) + len(shot_clips[2]) // 2  # each fits; all three do not
    monkeypatch.setattr("bot.videos.MAX_SOURCE_BYTES", cap)
    veo.script_next(VeoScript(joined=False, shot_videos=shot_clips))
    job = await settle(on_veo, await storyboard(on_veo))
    assert job.state is JobState.SUCCEEDED and job.remote_id is not None

    result = await result_of(on_veo, job.id)
    assert result.attachments == []  # the cap holds for the joined whole, as for one video
    assert all(f"Shot {n}: {veo.shot_url(job.remote_id, n)}" in result.content for n in (1, 2, 3))
    folder = on_veo.db.folder / "videos"
    assert sorted(p.name for p in folder.iterdir()) == []  # nothing half-fetched is left behind
    assert await charged(on_veo, job.id) == (30, ["capture", "hold"])


async def test_after_a_restart_the_parts_are_read_back_from_the_job_and_joined(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    veo: FakeNanophotoVeo,
    shot_clips: tuple[bytes, ...],
) -> None:
    async def refuse(channel: Channel, body: dict[str, object]) -> None:
        if "your video is ready" in str(body.get("content", "")):
            raise r.fail(r.INVALID_FORM_BODY)

    async for stack in make_stack(tmp_path, fake_discord, veo):
        await stack.grant(100)
        stack.bot.delivery.results.retry_delays = (0.01, 0.01)
        fake_discord.before_channel_message = refuse  # the result does not go out before the stop
        veo.script_next(VeoScript(joined=False, shot_videos=shot_clips))
        job = await settle(stack, await storyboard(stack))
        assert job.state is JobState.SUCCEEDED and job.delivered_at is None
        kept = stack.db.folder / "videos"
    # Stopped with the result still to post, and the joined copy gone (another machine, a sweep):
    # only the row says where the video is.
    fake_discord.before_channel_message = None
    shutil.rmtree(kept)

    async for again in make_stack(tmp_path, fake_discord, veo):
        row = await jobs.get(again.db, job.id)
        assert row is not None and row.parts == job.parts and len(row.parts) == 3
        result = await fake_discord.wait_for_message(
            lambda m: f"job #{job.id} · " in m.content and bool(m.attachments), timeout=30
        )
        (attachment,) = result.attachments
        out = tmp_path / "after-restart.mp4"
        await asyncio.to_thread(out.write_bytes, result.files[int(attachment["id"])])
        assert duration_of(out) == pytest.approx(3 * SHOT_SECONDS, abs=0.5)
        assert [c.status for c in veo.calls("video")] == [200] * 6  # fetched again, from the row's links
        assert await charged(again, job.id) == (30, ["capture", "hold"])  # still charged once
