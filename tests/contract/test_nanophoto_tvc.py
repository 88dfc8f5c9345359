"""The nanophoto TVC adapter against the fake TVC server (docs/vendors.md, "nanophoto TVC").

Only what TVC does differently is here — three steps, the storyboard, ``recordId`` — what every
adapter does is in ``test_contract.py``, what every nanophoto kind does in
``test_nanophoto_family.py``. Everything runs against a real aiohttp server on 127.0.0.1; retry
sleeps are recorded, not slept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.engine.events import JobEvent
from bot.engine.pricing import PriceUnknown
from bot.errors import InvalidRequest
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Options,
    Orientation,
    ProviderError,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    TvcRequest,
    VideoProvider,
)
from bot.providers.http import USER_AGENT, RetryPolicy, VendorHttp
from bot.providers.nanophoto_tvc import TVC_PRICES, NanophotoTvc, TvcCapabilities
from bot.providers.profiles import ProfileError
from tests.backend import open_database
from tests.contract.support import RecordedSleep, point_cost, poll_until_done
from tests.fakes.nanophoto_tvc import (
    RATE_LIMIT_BODY,
    STEP_NAMES,
    FakeClock,
    FakeNanophotoTvc,
    TvcScript,
    storyboard_prompt_for,
)

THEME = "Nike running shoes"
IMAGE = "https://cdn.example.com/attachments/1/2/shoe.png"
VOICEOVER = "Just do it. Run further than yesterday."


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeNanophotoTvc]:
    async with FakeNanophotoTvc(clock=clock) as server:
        yield server


@pytest.fixture
def provider(fake: FakeNanophotoTvc, http: VendorHttp) -> NanophotoTvc:
    return NanophotoTvc(fake.profile(), http)


def steps(snaps: list[TaskSnapshot]) -> list[tuple[Any, ...]]:
    return [
        (s.state, s.step, s.step_count, s.step_name, s.storyboard_prompt is not None, s.storyboard_image_url)
        for s in snaps
    ]


# --------------------------------------------------------------------------- happy paths


async def test_three_steps_in_order_then_the_video(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, http: VendorHttp
) -> None:
    fake.script_next(TvcScript(generation_time=180))
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)
    snaps = await poll_until_done(provider, task, key)

    record = fake.record(task.remote_id)
    assert task.remote_id.startswith("tvc_")
    assert task.extra == {"taskId": record.task_id}
    assert task.snapshot is not None
    assert (task.snapshot.state, task.snapshot.step, task.snapshot.step_count) == (TaskState.RUNNING, 1, 3)
    assert task.snapshot.storyboard_prompt is None and task.snapshot.storyboard_image_url is None

    image = fake.storyboard_image_url(task.remote_id)
    assert steps(snaps) == [
        (TaskState.RUNNING, 1, 3, "Generating Storyboard Prompt", False, None),
        (TaskState.RUNNING, 2, 3, "Generating Storyboard", True, None),
        (TaskState.RUNNING, 3, 3, "Generating Ad Video", True, image),
        (TaskState.SUCCEEDED, 3, 3, "Completed", True, image),
    ]
    assert [s.stage for s in snaps[:3]] == [None, None, "generating"]
    assert all(s.progress_pct is None for s in snaps)
    assert snaps[1].storyboard_prompt == storyboard_prompt_for(THEME)
    assert snaps[1].storyboard_prompt.startswith("SC1:") and "SC9:" in snaps[1].storyboard_prompt
    done = snaps[-1]
    assert done.video_url == fake.video_url(task.remote_id)
    assert done.raw["generationTime"] == 180 and done.vendor_seconds == 180  # the vendor's own timing

    (generate,) = fake.calls("generate")
    assert generate.json == {"adTheme": THEME, "videoDuration": "10", "aspectRatio": "portrait"}
    assert generate.key_name == key.name and generate.user_agent == USER_AGENT
    assert generate.content_type == "application/json"
    assert [c.json for c in fake.calls("status")] == [{"recordId": task.remote_id}] * 4

    source = await provider.open_result(done, key)
    video = await http.get_bytes(source.url, timeout_s=2.0, max_bytes=1 << 20)
    assert (video.status, video.content_type, len(video.body), video.body[4:8]) == (
        200,
        "video/mp4",
        2048,
        b"ftyp",
    )
    png = await http.get_bytes(image, timeout_s=2.0, max_bytes=1 << 20)
    assert (png.status, png.content_type, png.body[:8]) == (200, "image/png", b"\x89PNG\r\n\x1a\n")


async def test_optional_fields_are_sent_only_when_given(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    await provider.submit(
        TvcRequest(
            ad_theme=THEME,
            reference_image_url=IMAGE,
            voiceover=VOICEOVER,
            duration=15,
            orientation=Orientation.LANDSCAPE,
        ),
        key,
    )
    await provider.submit(TvcRequest(ad_theme=THEME, voiceover="   "), key)

    full, bare = (c.json for c in fake.calls("generate"))
    assert full == {
        "adTheme": THEME,
        "referenceImageUrl": IMAGE,
        "voiceoverScript": VOICEOVER,
        "videoDuration": "15",
        "aspectRatio": "landscape",
    }
    assert bare == {"adTheme": THEME, "videoDuration": "10", "aspectRatio": "portrait"}
    assert "null" not in fake.calls("generate")[1].text


@pytest.mark.parametrize(("duration", "wire"), [(10, "10"), (15, "15")])
async def test_duration_goes_out_as_a_string(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, duration: int, wire: str
) -> None:
    await provider.submit(TvcRequest(ad_theme=THEME, duration=duration, model="tvc"), key)

    (call,) = fake.calls("generate")
    assert call.json["videoDuration"] == wire and isinstance(call.json["videoDuration"], str)
    assert call.status == 200


async def test_storyboard_in_the_create_response_is_shown_at_once_and_kept(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, http: VendorHttp
) -> None:
    fake.script_next(TvcScript(storyboard="early"))

    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    image = fake.storyboard_image_url(task.remote_id)
    snap = task.snapshot
    assert snap is not None
    assert (snap.state, snap.step, snap.step_count) == (TaskState.RUNNING, 1, 3)
    assert snap.storyboard_prompt == storyboard_prompt_for(THEME) and snap.storyboard_image_url == image
    assert task.extra["storyboardImageUrl"] == image
    assert (await http.get_bytes(image, timeout_s=2.0, max_bytes=4096)).status == 200

    # The step-1 status body has no storyboard fields; what the create said is not blanked out.
    stored = RemoteTask(remote_id=task.remote_id, extra=task.extra)  # as the engine reloads it
    snaps = await poll_until_done(provider, stored, key)
    assert steps(snaps) == [
        (TaskState.RUNNING, 1, 3, "Generating Storyboard Prompt", True, image),
        (TaskState.RUNNING, 2, 3, "Generating Storyboard", True, image),
        (TaskState.RUNNING, 3, 3, "Generating Ad Video", True, image),
        (TaskState.SUCCEEDED, 3, 3, "Completed", True, image),
    ]
    assert {c.json["recordId"] for c in fake.calls("status")} == {task.remote_id}


async def test_create_with_only_success_and_record_id_is_enough(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.script_next(TvcScript(storyboard="null", task_id_in_create=False))

    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    assert task.extra == {}
    assert task.snapshot is not None and task.snapshot.storyboard_prompt is None
    fake.force("generate", body={"success": True, "recordId": 12345})
    bare = await provider.submit(TvcRequest(ad_theme=THEME), key)
    assert bare.remote_id == "12345" and bare.extra == {}
    assert bare.snapshot is not None and bare.snapshot.state is TaskState.RUNNING


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"success": True, "status": "processing", "taskId": "video_task_1"}, "recordId"),
        ({"status": "processing", "recordId": "tvc_1"}, "success"),
        ({"success": True, "recordId": ""}, "recordId"),
    ],
)
async def test_create_without_success_or_record_id_is_malformed_and_final(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, body: dict[str, Any], missing: str
) -> None:
    fake.force("generate", body=body)

    with pytest.raises(ProviderError) as info:
        await provider.submit(TvcRequest(ad_theme=THEME), key)

    err = info.value
    assert (err.code, err.blame, err.retryable) == ("MALFORMED_RESPONSE", "vendor", False)
    assert missing in err.detail


async def test_completion_in_the_create_response_shows_the_last_step_and_the_storyboard(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.script_next(TvcScript(immediate=True))

    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    snap = task.snapshot
    assert snap is not None and snap.state is TaskState.SUCCEEDED
    assert (snap.step, snap.step_name) == (3, "Completed")
    assert snap.storyboard_image_url == fake.storyboard_image_url(task.remote_id)


async def test_steps_advancing_by_time(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, clock: FakeClock
) -> None:
    fake.script_next(
        TvcScript(advance="time", seconds_per_step=(30, 30, 60), video_progress=("queued", "generating"))
    )
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    seen = []
    for advance in (0, 10, 25, 30, 30, 35, 30):
        clock.advance(advance)
        snap = await provider.poll(task, key)
        seen.append((snap.state, snap.step, snap.stage))

    assert seen == [
        (TaskState.RUNNING, 1, None),
        (TaskState.RUNNING, 1, None),
        (TaskState.RUNNING, 2, None),
        (TaskState.RUNNING, 3, "queued"),
        (TaskState.RUNNING, 3, "generating"),
        (TaskState.SUCCEEDED, 3, None),
        (TaskState.SUCCEEDED, 3, None),
    ]


async def test_several_polls_per_step_and_video_progress_words(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.script_next(TvcScript(polls_per_step=(2, 0, 3), video_progress=("queued", "generating")))
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    snaps = await poll_until_done(provider, task, key)

    assert [(s.step, s.stage) for s in snaps] == [
        (1, None),
        (1, None),
        (3, "queued"),
        (3, "generating"),
        (3, "generating"),
        (3, None),
    ]


async def test_a_record_that_never_finishes_stays_at_its_step(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.script_next(TvcScript(outcome="never", at_step=2))
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    snaps = [await provider.poll(task, key) for _ in range(6)]

    assert [s.step for s in snaps] == [1, 2, 2, 2, 2, 2]
    assert {s.state for s in snaps} == {TaskState.RUNNING}
    fake.finish(task.remote_id)
    assert (await provider.poll(task, key)).state is TaskState.SUCCEEDED


async def test_status_by_task_id_is_accepted_by_the_fake(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, http: VendorHttp
) -> None:
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)
    resp = await http.request_json(
        "POST",
        fake.base_url + "/api/sora-2-tvc/check-status",
        key=key,
        json_body={"taskId": task.extra["taskId"]},
        timeout_s=2.0,
        idempotent=True,
    )
    assert resp.data == {
        "success": True,
        "status": "processing",
        "recordId": task.remote_id,
        "currentStep": 1,
        "stepName": "Generating Storyboard Prompt",
    }


# --------------------------------------------------------------------------- failures


async def test_failed_at_step_2_is_a_failed_snapshot(
    clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with FakeNanophotoTvc(clock=clock, credits=10) as fake:
        provider, key = NanophotoTvc(fake.profile(), http), fake.api_key()
        fake.script_next(TvcScript(outcome="failed", at_step=2))
        task = await provider.submit(TvcRequest(ad_theme=THEME), key)
        assert fake.credits == 2

        snaps = await poll_until_done(provider, task, key)

        assert [(s.state, s.step) for s in snaps] == [
            (TaskState.RUNNING, 1),
            (TaskState.RUNNING, 2),
            (TaskState.FAILED, None),
        ]
        failed = snaps[-1]
        assert failed.error is not None and failed.error.code == "GENERATION_FAILED"
        assert "refunded" in failed.error.message and "GENERATION_FAILED" not in failed.error.message
        assert failed.raw == {
            "success": False,
            "status": "failed",
            "error": "Video generation failed",
            "errorCode": "GENERATION_FAILED",
            "recordId": task.remote_id,
        }
        # A6: the HTTP 500 carrying status "failed" is an answer; it is not retried.
        assert [c.status for c in fake.calls("status")] == [200, 200, 500]
        assert sleeps.delays == []
        assert fake.credits == 10  # the vendor refunds by itself


async def test_failed_status_on_http_200_and_any_code_is_a_failed_snapshot(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.script_next(
        TvcScript(
            outcome="failed", at_step=1, fail_status=200, fail_code="CONTENT_REJECTED", fail_error="Nope"
        )
    )
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)

    snaps = await poll_until_done(provider, task, key)

    failed = snaps[-1]
    assert failed.state is TaskState.FAILED and failed.error is not None
    assert failed.error.code == "CONTENT_REJECTED"


async def test_a_forced_failure_keeps_an_early_storyboard(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.script_next(TvcScript(storyboard="early", outcome="never"))
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)
    fake.finish(task.remote_id, "failed")

    snap = await provider.poll(task, key)

    assert snap.state is TaskState.FAILED
    assert snap.storyboard_image_url == fake.storyboard_image_url(task.remote_id)


async def test_real_refusals_from_the_fake(clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep) -> None:
    async with FakeNanophotoTvc(clock=clock, credits=12) as fake:
        provider, key = NanophotoTvc(fake.profile(), http), fake.api_key()
        task = await provider.submit(TvcRequest(ad_theme=THEME), key)

        with pytest.raises(ProviderError) as credits:
            await provider.submit(TvcRequest(ad_theme=THEME, duration=15), key)
        with pytest.raises(ProviderError) as other:
            await provider.poll(task, fake.api_key("key-b"))
        with pytest.raises(ProviderError) as unknown:
            await provider.poll(RemoteTask(remote_id="tvc_nope"), key)
        stale = ApiKey(name="stale", secret=SecretStr("np-revoked-key"))
        with pytest.raises(ProviderError) as login:
            await provider.poll(task, stale)

    got = {
        e.value.code: (e.value.http_status, e.value.blame, e.value.retryable)
        for e in (credits, other, unknown, login)
    }
    assert got == {
        "INSUFFICIENT_CREDITS": (402, "operator", False),
        "UNAUTHORIZED": (403, "operator", False),
        "RECORD_NOT_FOUND": (404, "operator", False),
        "LOGIN_REQUIRED": (401, "operator", False),
    }
    assert "requiredCredits=8" in credits.value.detail and "top it up" in credits.value.user_message
    assert "another account" in other.value.user_message
    assert "admin" in unknown.value.user_message and "API key" in login.value.user_message
    assert fake.credits == 4 and sleeps.delays == []


async def test_a_base64_reference_image_is_a_user_fault(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    fake.error_200_next(
        "generate",
        code="REFERENCE_IMAGE_URL_REQUIRED",
        error="API requires referenceImageUrl (a public URL), not base64",
    )

    with pytest.raises(ProviderError) as info:
        await provider.submit(TvcRequest(ad_theme=THEME, reference_image_url=IMAGE), key)

    err = info.value
    assert (err.code, err.blame, err.retryable) == ("REFERENCE_IMAGE_URL_REQUIRED", "user", False)
    assert "publicly reachable" in err.user_message and "base64" in err.detail


async def test_the_429_body_is_the_documented_one(
    clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with FakeNanophotoTvc(clock=clock, rate_limit=1) as fake:
        key = fake.api_key()
        url = fake.base_url + "/api/sora-2-tvc/generate"
        await http.request_json(
            "POST", url, key=key, json_body={"adTheme": THEME}, timeout_s=2, idempotent=False
        )
        resp = await http.request_json(
            "POST", url, key=key, json_body={"adTheme": THEME}, timeout_s=2, idempotent=False
        )
    assert (resp.status, resp.data) == (429, RATE_LIMIT_BODY)
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"


async def test_odd_but_readable_status_bodies(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey
) -> None:
    task = await provider.submit(TvcRequest(ad_theme=THEME), key)
    fake.force("status", body={"success": True, "status": "processing", "currentStep": "2", "stepName": ""})
    fake.force("status", body={"success": True, "status": "warming_up", "currentStep": "soon"})

    string_step = await provider.poll(task, key)
    unknown = await provider.poll(task, key)

    assert (string_step.step, string_step.step_name) == (2, "Generating Storyboard")
    assert (unknown.state, unknown.step, unknown.step_count) == (TaskState.RUNNING, None, 3)


# --------------------------------------------------------------------------- capabilities, prices


async def test_capabilities_and_protocol(provider: NanophotoTvc) -> None:
    as_protocol: VideoProvider = provider
    caps = as_protocol.capabilities
    assert isinstance(caps, TvcCapabilities)
    assert (caps.models, caps.default_model, caps.durations) == (("tvc",), "tvc", (10, 15))
    assert {k.value for k in caps.kinds} == {"tvc"}
    assert caps.specs[0].orientations == (Orientation.PORTRAIT, Orientation.LANDSCAPE)
    assert caps.resolve_model(TvcRequest(ad_theme=THEME)) == "tvc"
    assert as_protocol.name == "nano-tvc"


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (TvcRequest(ad_theme="   "), "theme"),
        (TvcRequest(ad_theme="x" * 2001), "theme"),
        (TvcRequest(ad_theme=THEME, duration=12), "duration"),
        (TvcRequest(ad_theme=THEME, model="sora2"), "model"),
        (TvcRequest(ad_theme=THEME, options=Options(watermark=False)), "watermark"),
        (
            TvcRequest(ad_theme=THEME, reference_image_url="data:image/png;base64,iVBORw0KGgo="),
            "reference_image",
        ),
        (TvcRequest(ad_theme=THEME, reference_image_url="iVBORw0KGgoAAAANSUhEUg"), "reference_image"),
        (TvcRequest(ad_theme=THEME, voiceover="v" * 2001), "voiceover"),
        (TextToVideo(prompt="a cat"), "kind"),
        (ImageToVideo(prompt="a cat", image_url=IMAGE), "kind"),
    ],
)
async def test_invalid_requests_name_the_field_before_any_call(
    fake: FakeNanophotoTvc, provider: NanophotoTvc, key: ApiKey, req: Any, field: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(req)
    assert info.value.field == field
    assert f"`{field}`" in info.value.message

    with pytest.raises(InvalidRequest):
        await provider.submit(req, key)
    assert fake.requests == []


async def test_a_profile_narrows_the_durations(fake: FakeNanophotoTvc, http: VendorHttp) -> None:
    provider = NanophotoTvc(fake.profile(models=("tvc",), durations=(15,)), http)

    assert provider.capabilities.durations == (15,)
    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(TvcRequest(ad_theme=THEME))
    assert info.value.field == "duration"
    with pytest.raises(ProfileError, match="models"):
        NanophotoTvc(fake.profile(models=("sora2",)), http)
    with pytest.raises(ProfileError, match="durations"):
        NanophotoTvc(fake.profile(durations=(10, 25)), http)


async def test_prices_and_overrides(fake: FakeNanophotoTvc, http: VendorHttp) -> None:
    assert TVC_PRICES == {("tvc", 10): 8, ("tvc", 15): 8}
    profile = fake.profile(prices={"tvc:15": 12})
    provider = NanophotoTvc(profile, http)
    assert point_cost(provider, profile, "tvc", 10) == 8
    assert point_cost(provider, profile, "tvc", 15) == 12
    with pytest.raises(PriceUnknown):
        point_cost(provider, profile, "tvc", 25)


def test_the_fake_profile_is_of_the_tvc_kind(fake: FakeNanophotoTvc) -> None:
    profile = fake.profile()
    assert (profile.kind, profile.name, profile.base_url) == ("nanophoto_tvc", "nano-tvc", fake.base_url)
    assert STEP_NAMES[3] == "Generating Ad Video"


# --------------------------------------------------------------------------- the fake is strict

GEN = "/api/sora-2-tvc/generate"
STATUS = "/api/sora-2-tvc/check-status"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (GEN, {}, 400, "INVALID_INPUT"),
        (GEN, {"adTheme": "  "}, 400, "INVALID_INPUT"),
        (GEN, {"adTheme": THEME, "videoDuration": 10}, 400, "INVALID_INPUT"),
        (GEN, {"adTheme": THEME, "videoDuration": "12"}, 400, "INVALID_INPUT"),
        (GEN, {"adTheme": THEME, "aspectRatio": "square"}, 400, "INVALID_INPUT"),
        (GEN, {"adTheme": THEME, "voiceoverScript": 7}, 400, "INVALID_INPUT"),
        (
            GEN,
            {"adTheme": THEME, "referenceImageUrl": "data:image/png;base64,AAAA"},
            400,
            "REFERENCE_IMAGE_URL_REQUIRED",
        ),
        (GEN, {"adTheme": THEME, "referenceImageUrl": "iVBORw0KGgo"}, 400, "REFERENCE_IMAGE_URL_REQUIRED"),
        (GEN, {"adTheme": THEME, "referenceImageBase64": "AAAA"}, 400, "REFERENCE_IMAGE_URL_REQUIRED"),
        (STATUS, {}, 400, "INVALID_INPUT"),
        (STATUS, {"recordId": ""}, 400, "INVALID_INPUT"),
        (STATUS, {"recordId": "tvc_nope"}, 404, "RECORD_NOT_FOUND"),
        (STATUS, {"taskId": "video_task_nope"}, 404, "RECORD_NOT_FOUND"),
    ],
)
async def test_the_fake_refuses_what_the_vendor_refuses(
    fake: FakeNanophotoTvc,
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
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"
    assert fake.records == {}


async def test_the_fake_needs_a_known_bearer_key_and_owns_records(
    fake: FakeNanophotoTvc, http: VendorHttp, key: ApiKey
) -> None:
    anonymous = await http.request_json(
        "POST", fake.base_url + GEN, key=None, json_body={"adTheme": THEME}, timeout_s=2.0, idempotent=False
    )
    assert anonymous.status == 401
    assert anonymous.data == {"error": "Authentication required", "errorCode": "LOGIN_REQUIRED"}

    created = await http.request_json(
        "POST", fake.base_url + GEN, key=key, json_body={"adTheme": THEME}, timeout_s=2.0, idempotent=False
    )
    assert created.data == {
        "success": True,
        "status": "processing",
        "taskId": fake.record(created.data["recordId"]).task_id,
        "recordId": created.data["recordId"],
    }
    theirs = await http.request_json(
        "POST",
        fake.base_url + STATUS,
        key=fake.api_key("key-b"),
        json_body={"recordId": created.data["recordId"]},
        timeout_s=2.0,
        idempotent=True,
    )
    assert (theirs.status, theirs.data["errorCode"]) == (403, "UNAUTHORIZED")
    missing = await http.get_bytes(fake.video_url(created.data["recordId"]), timeout_s=2.0, max_bytes=64)
    image = await http.get_bytes(
        fake.storyboard_image_url(created.data["recordId"]), timeout_s=2.0, max_bytes=64
    )
    assert (missing.status, image.status) == (404, 404)  # nothing made yet


async def test_out_of_credits_body_is_the_documented_402(clock: FakeClock, http: VendorHttp) -> None:
    async with FakeNanophotoTvc(clock=clock, credits=7) as fake:
        resp = await http.request_json(
            "POST",
            fake.base_url + GEN,
            key=fake.api_key(),
            json_body={"adTheme": THEME, "videoDuration": "15"},
            timeout_s=2.0,
            idempotent=False,
        )
    assert (resp.status, resp.data) == (
        402,
        {"error": "Insufficient credits", "errorCode": "INSUFFICIENT_CREDITS", "requiredCredits": 8},
    )


# --------------------------------------------------------------------------- through the real engine


async def test_the_engine_shows_each_step_and_the_early_storyboard(
    tmp_path: Path, fake: FakeNanophotoTvc
) -> None:
    from bot.engine.admission import JobOrigin
    from bot.engine.engine import Engine
    from storage import ledger

    db = await open_database(tmp_path / "tvc.db")
    seen: list[JobEvent] = []

    class Recorder:
        async def on_job_event(self, event: JobEvent) -> None:
            seen.append(event)

    try:
        async with VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01)) as http:
            profile = fake.profile()
            engine = Engine(db, {profile.name: profile}, {profile.name: NanophotoTvc(profile, http)})
            engine.subscribe(Recorder())
            async with db.transaction() as tx:
                await ledger.grant(tx, 1, 2, 20, actor_id=None, reason="test")
            fake.script_next(TvcScript(storyboard="early"))
            try:
                job = await engine.admission.enqueue(
                    JobOrigin(guild_id=1, channel_id=3, user_id=2), TvcRequest(ad_theme=THEME)
                )
                assert job.cost == 8
                async with asyncio.timeout(5):
                    await engine.wait_idle()
            finally:
                await engine.stop()
        mine = [e.job for e in seen if e.job.id == job.id]
        assert mine[-1].state == "succeeded"
        assert mine[-1].video_url == fake.video_url(mine[-1].remote_id or "")
        running = [j for j in mine if j.state == "running" and j.step]
        assert [j.step for j in running] == sorted(j.step for j in running)
        assert {j.step for j in running} == {1, 2, 3}
        image = fake.storyboard_image_url(mine[-1].remote_id or "")
        assert all(j.storyboard_image_url == image for j in running)  # shown from the create on
        assert await ledger.balance(db, 1, 2) == 12
        assert {c.json["recordId"] for c in fake.calls("status")} == {mine[-1].remote_id}
    finally:
        await db.close()
