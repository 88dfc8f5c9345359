"""The nanophoto Sora 2 adapter against the fake nanophoto server (docs/vendors.md, "nanophoto Sora 2").

Only what Sora 2 does differently is here: what every adapter does is in ``test_contract.py``, what
every nanophoto kind does in ``test_nanophoto_family.py``. Everything runs against a real aiohttp
server on 127.0.0.1; retry sleeps are recorded, not slept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.engine.pricing import PriceUnknown
from bot.errors import InvalidRequest
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Orientation,
    ProviderError,
    Shot,
    StoryboardRequest,
    TaskState,
    TextToVideo,
    TvcRequest,
)
from bot.providers.http import USER_AGENT, VendorHttp
from bot.providers.nanophoto import NANOPHOTO_ERRORS, NANOPHOTO_PRICES, NanophotoSora
from bot.providers.profiles import ProfileError
from tests.contract.support import RecordedSleep, point_cost, poll_until_done
from tests.fakes.nanophoto import FakeClock, FakeNanophoto, TaskScript

PROMPT = "A golden retriever running on a beach at sunset, cinematic light"
IMAGE = "https://cdn.example.com/attachments/1/2/cat.png"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeNanophoto]:
    async with FakeNanophoto(clock=clock) as server:
        yield server


@pytest.fixture
def provider(fake: FakeNanophoto, http: VendorHttp) -> NanophotoSora:
    return NanophotoSora(fake.profile(), http)


# --------------------------------------------------------------------------- happy paths


async def test_text_to_video_goes_through_stage_words_to_a_video(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey, http: VendorHttp
) -> None:
    fake.script_next(TaskScript(stages=("queued", "generating"), outcome="completed"))

    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    snaps = await poll_until_done(provider, task, key)

    assert task.remote_id.startswith("task_")
    assert task.snapshot is not None and task.snapshot.state is TaskState.RUNNING
    assert [(s.state, s.stage, s.progress_pct) for s in snaps[:2]] == [
        (TaskState.RUNNING, "queued", None),
        (TaskState.RUNNING, "generating", None),
    ]
    done = snaps[-1]
    assert done.state is TaskState.SUCCEEDED
    assert done.video_url == fake.video_url(task.remote_id)
    assert done.raw["creditsUsed"] == 4

    (generate,) = fake.calls("generate")
    assert generate.json == {
        "prompt": PROMPT,
        "mode": "textToVideo",
        "modelTier": "sora2",
        "aspectRatio": "portrait",
        "videoDuration": "10",
    }
    assert generate.key_name == key.name
    assert generate.user_agent == USER_AGENT and USER_AGENT.startswith("soracord/")
    assert generate.content_type == "application/json"
    assert [c.json for c in fake.calls("status")] == [{"taskId": task.remote_id}] * 3

    source = await provider.open_result(done, key)
    assert source.url == done.video_url
    video = await http.get_bytes(source.url, timeout_s=2.0, max_bytes=1 << 20)
    assert (video.status, video.content_type, len(video.body)) == (200, "video/mp4", 2048)
    assert video.body[4:8] == b"ftyp"


async def test_image_to_video_sends_exactly_one_public_url(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    req = ImageToVideo(
        prompt="Make the cat blink", image_url=IMAGE, duration=15, orientation=Orientation.LANDSCAPE
    )
    await provider.submit(req, key)

    assert fake.calls("generate")[0].json == {
        "prompt": "Make the cat blink",
        "mode": "imageToVideo",
        "modelTier": "sora2",
        "aspectRatio": "landscape",
        "videoDuration": "15",
        "imageUrls": [IMAGE],
    }


@pytest.mark.parametrize(("duration", "wire"), [(10, "10"), (15, "15")])
@pytest.mark.parametrize("tier", ["sora2", "sora2-pro-standard", "sora2-pro-high"])
async def test_duration_and_tier_go_out_as_strings(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey, duration: int, wire: str, tier: str
) -> None:
    await provider.submit(TextToVideo(prompt=PROMPT, duration=duration, model=tier), key)

    body = fake.calls("generate")[0].json
    assert body["videoDuration"] == wire and isinstance(body["videoDuration"], str)
    assert body["modelTier"] == tier
    assert fake.calls("generate")[0].status == 200


async def test_stages_advancing_by_time(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey, clock: FakeClock
) -> None:
    fake.script_next(TaskScript(stages=("queued", "generating"), advance="time", stage_seconds=30))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    first = await provider.poll(task, key)
    again = await provider.poll(task, key)
    clock.advance(30)
    later = await provider.poll(task, key)
    clock.advance(30)
    done = await provider.poll(task, key)

    assert (first.stage, again.stage, later.stage) == ("queued", "queued", "generating")
    assert done.state is TaskState.SUCCEEDED


async def test_a_task_that_never_finishes_stays_running(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    fake.script_next(TaskScript(stages=("generating",), outcome="never"))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    snaps = [await provider.poll(task, key) for _ in range(6)]

    assert {(s.state, s.stage) for s in snaps} == {(TaskState.RUNNING, "generating")}


# --------------------------------------------------------------------------- failures


async def test_generation_failed_is_a_failed_snapshot_not_an_exception(
    clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with FakeNanophoto(clock=clock, credits=10) as fake:
        provider, key = NanophotoSora(fake.profile(), http), fake.api_key()
        fake.script_next(TaskScript(stages=("generating",), outcome="failed"))
        task = await provider.submit(TextToVideo(prompt=PROMPT), key)
        assert fake.credits == 6

        snaps = await poll_until_done(provider, task, key)

        failed = snaps[-1]
        assert failed.state is TaskState.FAILED
        assert failed.error is not None
        assert failed.error.code == "GENERATION_FAILED"
        assert "refunded" in failed.error.message and "GENERATION_FAILED" not in failed.error.message
        assert failed.raw["error"] == "Video generation failed"
        # A6: the HTTP 500 carrying status "failed" is an answer; it is not retried.
        assert [c.status for c in fake.calls("status")] == [200, 500]
        assert sleeps.delays == []
        assert fake.credits == 10  # the vendor refunds by itself
        assert NANOPHOTO_ERRORS["GENERATION_FAILED"].vendor_refunds


async def test_failed_status_on_http_200_is_also_a_failed_snapshot(
    clock: FakeClock, http: VendorHttp
) -> None:
    async with FakeNanophoto(clock=clock) as fake:
        provider, key = NanophotoSora(fake.profile(), http), fake.api_key()
        fake.script_next(TaskScript(stages=(), outcome="failed", fail_status=200))
        task = await provider.submit(TextToVideo(prompt=PROMPT), key)

        snap = await provider.poll(task, key)

        assert snap.state is TaskState.FAILED and snap.error is not None
        assert snap.error.code == "GENERATION_FAILED"


async def test_out_of_credits_at_submit_blames_the_operator(clock: FakeClock, http: VendorHttp) -> None:
    async with FakeNanophoto(clock=clock, credits=3) as fake:
        provider = NanophotoSora(fake.profile(), http)

        with pytest.raises(ProviderError) as info:
            await provider.submit(TextToVideo(prompt=PROMPT), fake.api_key())

        err = info.value
        assert (err.code, err.blame, err.retryable, err.http_status) == (
            "INSUFFICIENT_CREDITS",
            "operator",
            False,
            402,
        )
        assert "requiredCredits=4" in err.detail
        assert "top it up" in err.user_message and "admin" in err.user_message
        assert fake.calls("generate")[0].status == 402
        assert fake.credits == 3 and fake.tasks == {}


async def test_error_envelope_on_http_200_is_an_error(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    fake.error_200_next(
        "generate", code="INSUFFICIENT_CREDITS", error="Insufficient credits", requiredCredits=8
    )

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT, duration=15), key)

    assert info.value.code == "INSUFFICIENT_CREDITS" and info.value.blame == "operator"


async def test_another_keys_task_is_not_found(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    with pytest.raises(ProviderError) as info:
        await provider.poll(task, fake.api_key("key-b"))

    assert (info.value.code, info.value.http_status, info.value.retryable) == ("TASK_NOT_FOUND", 404, False)


# --------------------------------------------------------------------------- capabilities


async def test_capabilities(provider: NanophotoSora) -> None:
    caps = provider.capabilities
    assert caps.models == ("sora2", "sora2-pro-standard", "sora2-pro-high")
    assert caps.default_model == "sora2" and caps.durations == (10, 15)
    assert {k.value for k in caps.kinds} == {"text", "image"}


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (TextToVideo(prompt=PROMPT, model="sora3-ultra"), "model"),
        (TextToVideo(prompt=PROMPT, duration=12), "duration"),
        (ImageToVideo(prompt=PROMPT, image_url=IMAGE, duration=25), "duration"),
        (TextToVideo(prompt="   "), "prompt"),
        (TvcRequest(ad_theme="Nike running shoes"), "kind"),
        (StoryboardRequest(shots=(Shot(scene="a", duration=10),)), "kind"),
    ],
)
async def test_invalid_requests_are_refused_before_any_call(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey, req: Any, field: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(req)
    assert info.value.field == field

    with pytest.raises(InvalidRequest):
        await provider.submit(req, key)
    assert fake.requests == []


async def test_a_profile_narrows_the_capabilities(fake: FakeNanophoto, http: VendorHttp) -> None:
    provider = NanophotoSora(fake.profile(models=("sora2-pro-standard",), durations=(15,)), http)

    assert provider.capabilities.default_model == "sora2-pro-standard"
    provider.capabilities.validate_request(TextToVideo(prompt=PROMPT, duration=15))
    with pytest.raises(InvalidRequest) as tier:
        provider.capabilities.validate_request(TextToVideo(prompt=PROMPT, duration=15, model="sora2"))
    with pytest.raises(InvalidRequest) as duration:
        provider.capabilities.validate_request(TextToVideo(prompt=PROMPT, duration=10))
    assert (tier.value.field, duration.value.field) == ("model", "duration")

    await provider.submit(TextToVideo(prompt=PROMPT, duration=15), fake.api_key())
    assert fake.calls("generate")[0].json["modelTier"] == "sora2-pro-standard"


async def test_a_profile_naming_an_unknown_tier_is_a_config_error(
    fake: FakeNanophoto, http: VendorHttp
) -> None:
    with pytest.raises(ProfileError, match="sora3"):
        NanophotoSora(fake.profile(models=("sora2", "sora3")), http)
    with pytest.raises(ProfileError, match="durations"):
        NanophotoSora(fake.profile(durations=(10, 20)), http)


async def test_prices_and_overrides(fake: FakeNanophoto, http: VendorHttp) -> None:
    assert NANOPHOTO_PRICES == {
        ("sora2", 10): 4,
        ("sora2", 15): 8,
        ("sora2-pro-standard", 10): 60,
        ("sora2-pro-standard", 15): 100,
        ("sora2-pro-high", 10): 120,
        ("sora2-pro-high", 15): 240,
    }
    profile = fake.profile(prices={"sora2:10": 5})
    provider = NanophotoSora(profile, http)
    assert point_cost(provider, profile, "sora2", 10) == 5
    assert point_cost(provider, profile, "sora2-pro-high", 15) == 240
    with pytest.raises(PriceUnknown):
        point_cost(provider, profile, "sora2", 25)


# --------------------------------------------------------------------------- the fake is strict


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/sora-2/generate", {"mode": "textToVideo"}, 400, "PROMPT_REQUIRED"),
        ("/api/sora-2/generate", {"prompt": "x", "mode": "videoToVideo"}, 400, "INVALID_INPUT"),
        (
            "/api/sora-2/generate",
            {"prompt": "x", "mode": "textToVideo", "videoDuration": 10},
            400,
            "INVALID_INPUT",
        ),
        (
            "/api/sora-2/generate",
            {"prompt": "x", "mode": "textToVideo", "videoDuration": "12"},
            400,
            "INVALID_INPUT",
        ),
        (
            "/api/sora-2/generate",
            {"prompt": "x", "mode": "textToVideo", "modelTier": "sora3"},
            400,
            "INVALID_INPUT",
        ),
        (
            "/api/sora-2/generate",
            {"prompt": "x", "mode": "textToVideo", "aspectRatio": "square"},
            400,
            "INVALID_INPUT",
        ),
        ("/api/sora-2/generate", {"prompt": "x", "mode": "imageToVideo"}, 400, "IMAGE_REQUIRED"),
        (
            "/api/sora-2/generate",
            {"prompt": "x", "mode": "imageToVideo", "imageUrls": ["data:image/png;base64,AAAA"]},
            400,
            "IMAGE_URLS_REQUIRED",
        ),
        (
            "/api/sora-2/generate",
            {"prompt": "x", "mode": "imageToVideo", "imageBase64": "AAAA"},
            400,
            "IMAGE_URLS_REQUIRED",
        ),
        ("/api/sora-2/check-status", {}, 400, "TASK_ID_REQUIRED"),
        ("/api/sora-2/check-status", {"taskId": "task_nope"}, 404, "TASK_NOT_FOUND"),
    ],
)
async def test_the_fake_refuses_what_the_vendor_refuses(
    fake: FakeNanophoto,
    http: VendorHttp,
    key: ApiKey,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    resp = await http.request_json(
        "POST", fake.base_url + path, key=key, json_body=body, timeout_s=2.0, idempotent=False
    )
    assert (resp.status, resp.data["errorCode"]) == (status, code)
    assert fake.tasks == {}


async def test_the_fake_needs_a_known_bearer_key(fake: FakeNanophoto, http: VendorHttp) -> None:
    resp = await http.request_json(
        "POST",
        fake.base_url + "/api/sora-2/generate",
        key=None,
        json_body={"prompt": "x", "mode": "textToVideo"},
        timeout_s=2.0,
        idempotent=False,
    )
    assert resp.status == 401 and resp.data == {
        "error": "Authentication required",
        "errorCode": "LOGIN_REQUIRED",
    }
