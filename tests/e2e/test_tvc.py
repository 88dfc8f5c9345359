"""``/tvc``: the TV-commercial pipeline on its own profile, shown step by step on one message."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.engine.views import JobView, view_of
from bot.providers.profiles import Timing
from cogs import render
from storage import jobs
from storage.jobs import JobRow
from storage.states import JobState
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, StoredMessage
from tests.fakes.nanophoto import FakeNanophoto
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc, TvcScript, storyboard_prompt_for

THEME = "Trail running shoes that grip wet rock"
VOICEOVER = "Grip that never quits."


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 160, 90)).save(out, format="PNG")
    return out.getvalue()


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


def shown_embeds(message: StoredMessage) -> list[dict[str, Any]]:
    return [e.body["embeds"][0] for e in message.edits if isinstance(e.body, dict) and e.body.get("embeds")]


@pytest.fixture
async def tvc_vendor() -> AsyncIterator[FakeNanophotoTvc]:
    async with FakeNanophotoTvc(rate_limit=None) as fake:
        yield fake


@pytest.fixture
async def both(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, tvc_vendor: FakeNanophotoTvc
) -> AsyncIterator[Stack]:
    """nanophoto is the default profile; the TVC profile is configured after it."""
    timing = Timing(expected=0.3, first_poll=0.01, poll_interval=0.03, timeout=10.0, backoff_max=0.05)
    tvc = tvc_vendor.profile(requests_per_hour=None, timing=timing)
    async for s in make_stack(tmp_path, fake_discord, vendor, extra_profiles=[tvc]):
        yield s


@pytest.fixture
async def tvc_only(
    tmp_path: Path, fake_discord: FakeDiscord, tvc_vendor: FakeNanophotoTvc
) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, tvc_vendor, tvc_vendor.profile()):
        yield s


async def test_tvc_shows_three_steps_the_script_and_the_storyboard(
    both: Stack, tvc_vendor: FakeNanophotoTvc
) -> None:
    stack, fake = both, both.discord
    await stack.grant(100)
    tvc_vendor.script_next(TvcScript(advance="time", seconds_per_step=(0.4, 0.4, 0.4)))
    reference = fake.make_attachment(png(), "shoe.png", width=64, height=64)
    handle = await fake.invoke_slash(
        "tvc",
        {
            "theme": THEME,
            "reference_image": reference,
            "voiceover": VOICEOVER,
            "duration": 15,
            "orientation": "landscape",
        },
    )
    job = await stack.settle(handle)
    assert job.state == "succeeded", job.error_message
    assert job.profile == "nano-tvc" and job.kind == "tvc"

    sent = tvc_vendor.calls("generate")[0].json
    assert sent["adTheme"] == THEME and sent["voiceoverScript"] == VOICEOVER
    assert sent["referenceImageUrl"] == reference["url"]
    assert sent["videoDuration"] == "15" and sent["aspectRatio"] == "landscape"
    assert stack.vendor.requests == []  # the default (text/image) vendor was not used

    original = fake.original_message(handle)
    seen = [fields(e) for e in shown_embeds(original)]
    steps = [f.get("Steps", "") for f in seen]
    assert any(s.startswith("⏳ 1. Writing the script") for s in steps), steps
    assert any("✅ 1." in s and "⏳ 2. Drawing the storyboard" in s and "▫️ 3." in s for s in steps), steps
    assert any("✅ 2." in s and "⏳ 3. Rendering the video" in s for s in steps), steps

    # The script excerpt arrives with step 2, the storyboard image with step 3 — while it renders.
    script = next(f["Storyboard script"] for f in seen if "Storyboard script" in f)
    assert script.startswith("SC1: Opening hook") and len(script) <= 300
    assert script.endswith("…") and len(storyboard_prompt_for(THEME)) > 300
    image_url = tvc_vendor.storyboard_image_url(job.remote_id or "")
    rendering = [e for e in shown_embeds(original) if "⏳ 3." in fields(e).get("Steps", "")]
    assert rendering and all(e.get("image", {}).get("url") == image_url for e in rendering)

    final = original.embeds[0]
    assert fields(final)["Steps"].count("✅") == 3
    assert final["image"]["url"] == image_url
    (result,) = fake.answers(handle)
    assert f"<@{stack.member_id}>" in result.content and job.video_url
    assert await stack.balance() == 100 - job.cost


async def test_tvc_failure_says_so_and_returns_the_credits(both: Stack, tvc_vendor: FakeNanophotoTvc) -> None:
    await both.grant(100)
    tvc_vendor.script_next(TvcScript(outcome="failed", at_step=2))
    handle = await both.discord.invoke_slash("tvc", {"theme": THEME})
    job = await both.settle(handle)
    assert job.state == "failed"
    shown = fields(both.discord.original_message(handle).embeds[0])
    assert shown["Status"].startswith("❌") and "returned" in shown["Status"]
    assert "⏳" not in shown["Steps"] and "✅ 3." not in shown["Steps"]
    assert await both.balance() == 100


def job_row(**changes: object) -> JobView:
    base = dict.fromkeys(f.name for f in dataclasses.fields(JobRow))
    base.update(
        id=1,
        guild_id=1,
        channel_id=1,
        user_id=1,
        profile="nano-tvc",
        kind="tvc",
        model="sora2",
        duration=10,
        request_json='{"kind": "tvc", "ad_theme": "x"}',
        cost=8,
        state="running",
        polls=0,
        created_at=0.0,
        updated_at=0.0,
    )
    base.update(changes)
    base["state"] = JobState(str(base["state"]))
    return view_of(JobRow(**base))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "marks"),
    [
        ({"state": "queued"}, "▫️▫️▫️"),
        ({"state": "running"}, "⏳▫️▫️"),
        ({"state": "running", "step": 2, "step_count": 3}, "✅⏳▫️"),
        ({"state": "running", "step": 3, "step_count": 3}, "✅✅⏳"),
        ({"state": "succeeded", "step": 3, "step_count": 3}, "✅✅✅"),
        ({"state": "failed", "step": 2, "step_count": 3}, "✅❌▫️"),
        ({"state": "failed"}, "▫️▫️▫️"),
    ],
)
def test_step_marks(changes: dict[str, object], marks: str) -> None:
    lines = render.step_lines(job_row(**changes)).splitlines()
    assert "".join(line.split(" ", 1)[0] for line in lines) == marks
    assert [line.split(" ", 1)[1] for line in lines] == [
        "1. Writing the script",
        "2. Drawing the storyboard",
        "3. Rendering the video",
    ]


async def refused(stack: Stack, handle: FakeInteraction) -> str:
    await stack.discord.wait_for_ack(handle)
    reply = stack.discord.original_message(handle)
    assert reply.ephemeral
    assert await jobs.count(stack.db) == 0
    return reply.content


async def test_tvc_without_a_tvc_profile_says_so(stack: Stack) -> None:
    await stack.grant(100)
    handle = await stack.discord.invoke_slash("tvc", {"theme": THEME})
    assert "no video provider set up for TV commercials" in await refused(stack, handle)


async def test_image_on_a_profile_without_image_videos_says_so(tvc_only: Stack) -> None:
    await tvc_only.grant(100)
    attachment = tvc_only.discord.make_attachment(png(), "cat.png", width=64, height=64)
    handle = await tvc_only.discord.invoke_slash("sora", {"prompt": "A cat", "image": attachment})
    assert "no video provider set up for videos from an image" in await refused(tvc_only, handle)
