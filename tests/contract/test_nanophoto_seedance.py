"""The nanophoto SeeDance 1.5 Pro adapter against the fake SeeDance server (docs/vendors.md,
"nanophoto SeeDance 1.5 Pro").

Only what SeeDance does differently is here — its generate body (S1, S2, S5, S7), the price table
(S3, S4), the unpublished status body (S8) and the cadence by clip length; what every adapter does is
in ``test_contract.py``, what every nanophoto kind does in ``test_nanophoto_family.py``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.errors import InvalidRequest
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Options,
    Orientation,
    ProviderError,
    TaskState,
    TextToVideo,
)
from bot.providers.capabilities import PricePoint
from bot.providers.http import VendorHttp
from bot.providers.nanophoto_seedance import SEEDANCE_TIMING, NanophotoSeedance
from bot.providers.profiles import ProfileError, ProviderProfile, Timing
from bot.providers.registry import build_provider
from tests.contract.support import poll_until_done, vendor_cost
from tests.fakes.nanophoto_seedance import FakeNanophotoSeedance, TaskScript

PROMPT = "A golden retriever running on a beach at sunset, cinematic lighting"
IMAGE = "https://cdn.example.com/attachments/1/2/dog.png"
LAST = "https://cdn.example.com/attachments/1/2/last.png"


@pytest.fixture
async def fake() -> AsyncIterator[FakeNanophotoSeedance]:
    async with FakeNanophotoSeedance() as server:
        yield server


@pytest.fixture
def provider(fake: FakeNanophotoSeedance, http: VendorHttp) -> NanophotoSeedance:
    return NanophotoSeedance(fake.profile(), http)


# --------------------------------------------------------------------------- wire bodies


async def test_text_to_video_sends_every_field_and_polls_by_task_id(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey
) -> None:
    fake.script_next(TaskScript(stages=("queued", "generating")))
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
    snaps = await poll_until_done(provider, task, key)

    assert fake.calls("generate")[0].json == {
        "prompt": PROMPT,
        "mode": "textToVideo",
        "aspectRatio": "portrait",  # S1
        "resolution": "720p",  # S7: the default, sent
        "duration": "8",  # S2
        "generateAudio": False,
        "fixedLens": False,
    }
    assert [c.json for c in fake.calls("status")] == [{"taskId": task.remote_id}] * 3
    assert [(s.state, s.stage) for s in snaps] == [
        (TaskState.RUNNING, "queued"),  # A7: a stage word, the state is `processing`
        (TaskState.RUNNING, "generating"),
        (TaskState.SUCCEEDED, None),
    ]
    assert snaps[-1].video_url == fake.video_url(task.remote_id)
    assert fake.task(task.remote_id).price == 8


async def test_image_to_video_with_every_choice(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey
) -> None:
    req = ImageToVideo(
        prompt=PROMPT,
        image_url=IMAGE,
        duration=12,
        resolution="1080p",
        orientation=Orientation.LANDSCAPE,
        options=Options(audio=True, fixed_lens=True),
    )
    task = await provider.submit(req, key)

    assert fake.calls("generate")[0].json == {
        "prompt": PROMPT,
        "mode": "imageToVideo",
        "imageUrls": [IMAGE],  # S5: exactly one
        "aspectRatio": "landscape",
        "resolution": "1080p",
        "duration": "12",
        "generateAudio": True,
        "fixedLens": True,
    }
    assert fake.task(task.remote_id).price == 44 == vendor_cost(provider, req)  # S3, S4: 22 x 2


@pytest.mark.parametrize(
    ("resolution", "seconds", "audio", "credits"),
    [
        ("480p", 4, False, 2),
        ("480p", 12, True, 12),
        ("720p", 8, True, 16),
        ("1080p", 12, False, 22),
        ("1080p", 8, True, 32),
    ],
)
def test_prices_come_from_the_table(
    provider: NanophotoSeedance, resolution: str, seconds: int, audio: bool, credits: int
) -> None:
    req = TextToVideo(
        prompt=PROMPT, duration=seconds, resolution=resolution, options=Options(audio=audio or None)
    )
    assert vendor_cost(provider, req) == credits
    spec = provider.capabilities.spec("seedance-1.5-pro")
    assert spec.prices[PricePoint("seedance-1.5-pro", seconds, resolution, audio)] == credits
    assert len(spec.price_points()) == 18  # 3 resolutions x 3 lengths x audio or not


# --------------------------------------------------------------------------- the status body (S8)


async def test_a_server_that_wants_task_ids_is_asked_that_way_from_then_on(
    http: VendorHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with FakeNanophotoSeedance(status_form="taskIds") as fake:
        provider, key = NanophotoSeedance(fake.profile(), http), fake.api_key()
        fake.script_next(TaskScript(stages=("generating", "generating")))
        task = await provider.submit(TextToVideo(prompt=PROMPT, duration=4), key)
        snaps = await poll_until_done(provider, task, key)

    assert snaps[-1].state is TaskState.SUCCEEDED
    assert [c.json for c in fake.calls("status")] == [{"taskId": task.remote_id}] + [
        {"taskIds": [task.remote_id]}
    ] * 3
    assert fake.calls("status")[0].status == 400
    assert "check-status takes {taskIds}, not {taskId}" in caplog.text


async def test_once_a_form_works_a_400_is_not_second_guessed(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey
) -> None:
    fake.script_next(TaskScript(outcome="never"))
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=4), key)
    await provider.poll(task, key)
    fake.fail_next("status", status=400, code="TASK_IDS_REQUIRED", error="taskIds is required")

    with pytest.raises(ProviderError) as info:
        await provider.poll(task, key)

    assert info.value.code == "TASK_IDS_REQUIRED" and fake.count(route="status") == 2
    assert provider.status_form == "taskId"


async def test_a_task_that_fails_is_a_failed_snapshot(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey
) -> None:
    fake.script_next(TaskScript(outcome="failed"))
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=4), key)
    snaps = await poll_until_done(provider, task, key)
    assert snaps[-1].state is TaskState.FAILED
    assert snaps[-1].error is not None and snaps[-1].error.code == "GENERATION_FAILED"


async def test_a_model_no_longer_served_is_its_own_error(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey
) -> None:
    running = await provider.submit(TextToVideo(prompt=PROMPT, duration=4), key)
    fake.stop_serving(code="SERVICE_UNAVAILABLE", error="Model seedance-1.5-pro has been retired", status=503)

    errors = []
    for call in (provider.submit(TextToVideo(prompt=PROMPT, duration=4), key), provider.poll(running, key)):
        with pytest.raises(ProviderError) as info:
            await call
        errors.append(info.value)

    assert [(e.model_unavailable, e.retryable, e.blame) for e in errors] == [(True, False, "vendor")] * 2
    assert all(e.code == "SERVICE_UNAVAILABLE" for e in errors)


async def test_a_temporarily_unavailable_model_is_not_a_retirement(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey
) -> None:
    fake.fail_next("generate", status=503, code="SERVICE_UNAVAILABLE", error="Model temporarily unavailable")
    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT, duration=4), key)
    assert not info.value.model_unavailable and info.value.retryable


# --------------------------------------------------------------------------- refused before any call


@pytest.mark.parametrize(
    ("req", "field", "allowed"),
    [
        (TextToVideo(prompt=PROMPT, duration=5), "duration", "4 s, 8 s, 12 s"),
        (TextToVideo(prompt="x" * 1200, duration=8), "prompt", "at most 1000 characters"),
        (TextToVideo(prompt=PROMPT, duration=8, resolution="4k"), "resolution", "480p, 720p, 1080p"),
        (ImageToVideo(prompt=PROMPT, image_url=IMAGE, end_image_url=LAST, duration=8), "end_image", "one picture (the first frame) only"),
        (TextToVideo(prompt=PROMPT, duration=8, options=Options(watermark=False)), "watermark", "audio, fixed_lens"),
    ],
    ids=["5-s", "1200-chars", "4k", "last-frame", "watermark"],
)  # fmt: skip
async def test_invalid_requests_are_refused_naming_what_is_allowed(
    fake: FakeNanophotoSeedance, provider: NanophotoSeedance, key: ApiKey, req: Any, field: str, allowed: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await provider.submit(req, key)
    assert (info.value.field, info.value.allowed) == (field, allowed)
    assert fake.requests == []


def test_capabilities(provider: NanophotoSeedance) -> None:
    caps = provider.capabilities
    spec = caps.spec("seedance-1.5-pro")
    assert (spec.label, spec.family, spec.default_resolution, caps.image_by_url) == (
        "SeeDance 1.5 Pro",
        "seedance",
        "720p",
        True,
    )
    assert spec.switches == {"audio", "fixed_lens"} and {k.value for k in spec.kinds} == {"text", "image"}


def test_a_profile_narrows_seedance_or_is_refused(fake: FakeNanophotoSeedance, http: VendorHttp) -> None:
    assert NanophotoSeedance(fake.profile(durations=(4,)), http).capabilities.durations == (4,)
    with pytest.raises(ProfileError, match="durations"):
        NanophotoSeedance(fake.profile(durations=(10,)), http)
    assert build_provider(fake.profile(retired=("seedance-1.5-pro",)), http).capabilities.kinds == frozenset()


@pytest.mark.parametrize(("seconds", "first"), [(4, 45), (8, 60), (12, 90)])
def test_the_first_check_waits_for_the_clip_length(
    fake: FakeNanophotoSeedance, http: VendorHttp, seconds: int, first: float
) -> None:
    unset = ProviderProfile(
        name="sd", kind="nanophoto_seedance", base_url=fake.base_url, keys=fake.api_keys()
    )
    timing = NanophotoSeedance(unset, http).timing_for(TextToVideo(prompt=PROMPT, duration=seconds))
    assert (timing.first_poll, timing.poll_interval, timing.timeout) == (first, 15, 600)
    own = Timing(first_poll=2, poll_interval=1, timeout=30)
    scaled = NanophotoSeedance(fake.profile(timing=own), http).timing_for(
        TextToVideo(prompt=PROMPT, duration=seconds)
    )
    assert (scaled.first_poll, scaled.timeout) == (2 * first / SEEDANCE_TIMING.first_poll, 30)


async def test_the_fake_refuses_what_the_published_body_forbids(
    fake: FakeNanophotoSeedance, http: VendorHttp, key: ApiKey
) -> None:
    good = {
        "prompt": "x",
        "mode": "textToVideo",
        "aspectRatio": "landscape",
        "resolution": "720p",
        "duration": "8",
    }
    for body, code in [
        ({**good, "duration": 8}, "INVALID_INPUT"),
        ({**good, "aspectRatio": "16:9"}, "INVALID_INPUT"),
        ({k: v for k, v in good.items() if k != "resolution"}, "INVALID_INPUT"),
        ({**good, "prompt": "x" * 1001}, "INVALID_INPUT"),
        ({**good, "generateAudio": "yes"}, "INVALID_INPUT"),
        ({**good, "mode": "imageToVideo"}, "IMAGE_REQUIRED"),
        (
            {**good, "mode": "imageToVideo", "imageUrls": ["data:image/png;base64,AAAA"]},
            "IMAGE_URLS_REQUIRED",
        ),
    ]:
        resp = await http.request_json(
            "POST",
            fake.base_url + "/api/seedance-1-5-pro/generate",
            key=key,
            json_body=body,
            timeout_s=2,
            idempotent=False,
        )
        assert resp.data["errorCode"] == code, body  # type: ignore[index]
    assert fake.tasks == {}
