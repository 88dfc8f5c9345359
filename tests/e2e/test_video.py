"""``/video`` and ``/storyboard`` on the live models: Veo 3.1 and SeeDance 1.5 Pro on nanophoto.

The bot as members use it (fake Discord ↔ discord.py ↔ engine ↔ fake Veo and SeeDance servers):
what the vendor receives for each mode, what the member sees, what it costs, what autocomplete
offers after each earlier choice, and the refusals that must come before any charge.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage import jobs, ledger
from storage.states import JobState
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto_seedance import FakeNanophotoSeedance
from tests.fakes.nanophoto_veo import FakeNanophotoVeo
from tests.fakes.pictures import encode

PROMPT = "A golden retriever running on a beach at sunset"
VEO = "nano-veo/veo-3.1"
SEEDANCE = "nano-seedance/seedance-1.5-pro"


@pytest.fixture
async def veo() -> AsyncIterator[FakeNanophotoVeo]:
    async with FakeNanophotoVeo() as fake:
        yield fake


@pytest.fixture
async def seedance() -> AsyncIterator[FakeNanophotoSeedance]:
    async with FakeNanophotoSeedance() as fake:
        yield fake


@pytest.fixture
async def live(
    tmp_path: Path, fake_discord: FakeDiscord, veo: FakeNanophotoVeo, seedance: FakeNanophotoSeedance
) -> AsyncIterator[Stack]:
    """Veo is the server's default model; SeeDance is the other one on offer."""
    async for stack in make_stack(tmp_path, fake_discord, veo, extra_profiles=[seedance.profile()]):
        await stack.grant(500)
        yield stack


def picture(fake: FakeDiscord, name: str) -> dict[str, Any]:
    return fake.make_attachment(encode("PNG", (64, 36)), name, width=64, height=36)


async def refusal(fake: FakeDiscord, handle: FakeInteraction) -> str:
    message: StoredMessage = await fake.wait_for_message(
        lambda m: m.interaction_id == handle.id and m.ephemeral and not m.deleted and bool(m.content)
    )
    return message.content


async def offered(fake: FakeDiscord, command: str, options: dict[str, Any], focused: str) -> list[Any]:
    handle = await fake.invoke_autocomplete(command, options, focused=focused)
    await fake.wait_for_ack(handle)
    assert handle.response_data is not None
    return [c["value"] for c in handle.response_data["choices"]]


async def spent(stack: Stack, job_id: int) -> int:
    entries = await ledger.entries(stack.db, stack.guild_id, stack.member_id)
    return -sum(e.amount for e in entries if e.job_id == job_id)


# --------------------------------------------------------------------------- Veo


async def test_video_on_veo_from_text_is_one_eight_second_shot(live: Stack, veo: FakeNanophotoVeo) -> None:
    handle = await live.discord.invoke_slash("video", {"prompt": PROMPT})
    job = await live.settle(handle)
    assert job.state is JobState.SUCCEEDED, job.error_message
    (sent,) = [c.json for c in veo.calls("generate")]
    assert sent["resolution"] == "720p" and len(sent["shots"]) == 1
    shot = sent["shots"][0]
    assert (shot["generationType"], shot["aspectRatio"], shot["prompt"]) == ("TEXT_2_VIDEO", "9:16", PROMPT)
    assert "imageUrls" not in shot
    assert (job.duration, job.cost, await spent(live, job.id)) == (8, 10, 10)
    card = live.discord.original_message(handle)
    assert "Veo 3.1 · 8 s" in str(card.embeds)  # the card names the model that made it
    result = await live.discord.wait_for_message(lambda m: f"(job #{job.id} · Veo 3.1)" in m.content)
    assert result.mentions == [live.member_id]


async def test_video_on_veo_from_a_first_and_a_last_frame(live: Stack, veo: FakeNanophotoVeo) -> None:
    fake = live.discord
    first, last = picture(fake, "first.png"), picture(fake, "last.png")
    options = {"prompt": PROMPT, "image": first, "end_image": last, "aspect": "landscape"}
    job = await live.settle(await fake.invoke_slash("video", options))
    assert job.state is JobState.SUCCEEDED, job.error_message
    shot = veo.calls("generate")[0].json["shots"][0]
    assert shot["generationType"] == "FIRST_AND_LAST_FRAMES_2_VIDEO" and shot["aspectRatio"] == "16:9"
    assert shot["imageUrls"] == [first["url"], last["url"]]


async def test_video_on_veo_keeps_three_reference_pictures(live: Stack, veo: FakeNanophotoVeo) -> None:
    fake = live.discord
    refs = [picture(fake, f"ref{n}.png") for n in (1, 2, 3)]
    options = {"prompt": PROMPT, "reference_1": refs[0], "reference_2": refs[1], "reference_3": refs[2]}
    job = await live.settle(await fake.invoke_slash("video", options))
    assert job.state is JobState.SUCCEEDED, job.error_message
    shot = veo.calls("generate")[0].json["shots"][0]
    assert shot["generationType"] == "REFERENCE_2_VIDEO"
    assert shot["imageUrls"] == [r["url"] for r in refs]
    assert job.kind == "reference"


async def test_storyboard_on_veo_sends_three_eight_second_shots(live: Stack, veo: FakeNanophotoVeo) -> None:
    fake = live.discord
    handle = await fake.invoke_slash("storyboard", {"model": VEO})
    await fake.wait_for_ack(handle)
    assert handle.modal is not None
    assert "8 s" in handle.modal["title"] and "21" in str(handle.modal["components"])
    scenes = "Establishing shot of a skyline at dusk\n8 | A taxi pulls up in the rain\nClose-up of the driver"
    submitted = await fake.invoke_modal_submit(handle, {"storyboard:shots": scenes, "storyboard:prompt": ""})
    job = await live.settle(submitted)
    assert job.state is JobState.SUCCEEDED, job.error_message
    sent = veo.calls("generate")[0].json
    assert [s["id"] for s in sent["shots"]] == ["shot-1", "shot-2", "shot-3"]
    assert [s["prompt"] for s in sent["shots"]][1] == "A taxi pulls up in the rain"
    assert (job.duration, job.cost) == (24, 30)


# --------------------------------------------------------------------------- SeeDance


async def test_video_on_seedance_from_text_with_audio(live: Stack, seedance: FakeNanophotoSeedance) -> None:
    options = {"prompt": PROMPT, "model": SEEDANCE, "duration": 8, "audio": True, "fixed_lens": True}
    job = await live.settle(await live.discord.invoke_slash("video", options))
    assert job.state is JobState.SUCCEEDED, job.error_message
    sent = seedance.calls("generate")[0].json
    assert sent == {
        "prompt": PROMPT,
        "mode": "textToVideo",
        "aspectRatio": "portrait",
        "resolution": "720p",
        "duration": "8",
        "generateAudio": True,
        "fixedLens": True,
    }
    assert (job.cost, await spent(live, job.id)) == (16, 16)  # 720p, 8 s, with audio


async def test_video_on_seedance_from_an_image(live: Stack, seedance: FakeNanophotoSeedance) -> None:
    fake = live.discord
    image = picture(fake, "cat.png")
    options = {"prompt": PROMPT, "model": SEEDANCE, "image": image, "resolution": "480p", "duration": 4}
    job = await live.settle(await fake.invoke_slash("video", options))
    assert job.state is JobState.SUCCEEDED, job.error_message
    sent = seedance.calls("generate")[0].json
    assert (sent["mode"], sent["imageUrls"], sent["resolution"], sent["duration"]) == (
        "imageToVideo",
        [image["url"]],
        "480p",
        "4",
    )
    assert job.cost == 2


# --------------------------------------------------------------------------- autocomplete


async def test_autocomplete_offers_exactly_the_chosen_models_values(live: Stack) -> None:
    fake = live.discord
    assert await offered(fake, "video", {}, "model") == [VEO, SEEDANCE]
    assert await offered(fake, "video", {"model": VEO}, "duration") == [8]
    assert await offered(fake, "video", {"model": SEEDANCE}, "duration") == [4, 8, 12]
    assert await offered(fake, "video", {"model": VEO}, "resolution") == ["720p", "1080p", "4k"]
    assert await offered(fake, "video", {"model": SEEDANCE}, "resolution") == ["480p", "720p", "1080p"]
    assert await offered(fake, "video", {"model": SEEDANCE}, "aspect") == ["portrait", "landscape"]
    assert await offered(fake, "video", {"duration": 12}, "model") == [SEEDANCE]  # Veo has no 12 s
    assert await offered(fake, "video", {"audio": True}, "model") == [SEEDANCE]
    assert await offered(fake, "video", {"resolution": "4k"}, "model") == [VEO]
    refs = {"reference_1": picture(fake, "r.png")}
    assert await offered(fake, "video", refs, "model") == [VEO]  # SeeDance takes no references
    assert await offered(fake, "storyboard", {}, "model") == [VEO]
    assert await offered(fake, "storyboard", {"model": VEO}, "duration") == []  # the shots set it
    fake.assert_no_violations()


# --------------------------------------------------------------------------- refused, nothing charged


async def assert_refused(stack: Stack, handle: FakeInteraction, *words: str) -> None:
    text = await refusal(stack.discord, handle)
    for word in words:
        assert word in text, text
    assert await jobs.count(stack.db) == 0
    assert await stack.balance() == 500


async def test_a_first_last_frame_with_a_third_picture_is_refused(live: Stack) -> None:
    fake = live.discord
    options = {
        "prompt": PROMPT,
        "image": picture(fake, "a.png"),
        "end_image": picture(fake, "b.png"),
        "reference_1": picture(fake, "c.png"),
    }
    await assert_refused(live, await fake.invoke_slash("video", options), "`reference_1`", "`end_image`")


async def test_five_seconds_on_seedance_is_refused_naming_its_durations(live: Stack) -> None:
    handle = await live.discord.invoke_slash("video", {"prompt": PROMPT, "model": SEEDANCE, "duration": 5})
    await assert_refused(live, handle, "`duration`", "SeeDance 1.5 Pro", "4 s, 8 s, 12 s")


async def test_a_long_seedance_prompt_is_refused_naming_the_limit(live: Stack) -> None:
    handle = await live.discord.invoke_slash("video", {"prompt": "x" * 1200, "model": SEEDANCE})
    await assert_refused(live, handle, "`prompt`", "1200 characters", "at most 1000")


async def test_1080p_with_two_veo_shots_is_refused_before_any_charge(
    live: Stack, veo: FakeNanophotoVeo
) -> None:
    fake = live.discord
    handle = await fake.invoke_slash("storyboard", {"model": VEO, "resolution": "1080p"})
    await fake.wait_for_ack(handle)
    assert handle.modal is not None
    submitted = await fake.invoke_modal_submit(
        handle, {"storyboard:shots": "a skyline\na taxi", "storyboard:prompt": ""}
    )
    await assert_refused(live, submitted, "`resolution`", "single shot", "720p")
    assert veo.requests == []


async def test_twenty_two_veo_shots_are_refused(live: Stack) -> None:
    fake = live.discord
    handle = await fake.invoke_slash("storyboard", {"model": VEO})
    await fake.wait_for_ack(handle)
    scenes = "\n".join(f"scene {n}" for n in range(22))
    submitted = await fake.invoke_modal_submit(handle, {"storyboard:shots": scenes, "storyboard:prompt": ""})
    await assert_refused(live, submitted, "21", "22")


async def test_a_model_that_cannot_make_storyboards_is_refused_naming_those_that_can(
    tmp_path: Path, fake_discord: FakeDiscord, veo: FakeNanophotoVeo, vendor: Any
) -> None:
    async for stack in make_stack(tmp_path, fake_discord, veo, extra_profiles=[vendor.profile()]):
        handle = await stack.discord.invoke_slash("storyboard", {"model": "nano/sora2"})
        text = await refusal(stack.discord, handle)
        assert "`model`" in text and "Sora 2" in text and "storyboard" in text and "Veo 3.1" in text
        sora = await stack.discord.invoke_slash("sora", {"prompt": PROMPT, "model": VEO})
        assert "`model`" in await refusal(stack.discord, sora)  # /sora is for Sora-family models only
        assert await jobs.count(stack.db) == 0
