"""The freesoragenerator sora-pro adapter against the fake FSG server (docs/vendors.md,
"freesoragenerator sora-pro").

Only what this vendor does differently is here — tiers and wire models, the ``{code, message,
data}`` envelope, VIP, inline images — what every adapter does is in ``test_contract.py``.
Everything runs against a real aiohttp server on 127.0.0.1; retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.errors import InvalidRequest
from bot.media import sniff
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Kind,
    Options,
    Orientation,
    ProviderError,
    RemoteTask,
    Shot,
    StoryboardRequest,
    TaskState,
    TextToVideo,
    TvcRequest,
)
from bot.providers.freesora import FreeSoraCapabilities, FreeSoraPro, freesora_error
from bot.providers.freesora_capabilities import FREESORA_PRICES
from bot.providers.http import USER_AGENT, VendorHttp
from bot.providers.profiles import ProfileError
from tests.contract.support import RecordedSleep, closed_port, poll_until_done, vendor_cost
from tests.fakes.freesora import PNG_1X1, FakeClock, FakeFreeSora, TaskScript

PROMPT = "A golden retriever running on a beach at sunset, cinematic light"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
STORY = (Shot(scene="A door opens", duration=4), Shot(scene="A cat walks in", duration=6))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeFreeSora]:
    async with FakeFreeSora(clock=clock) as server:
        yield server


@pytest.fixture
def provider(fake: FakeFreeSora, http: VendorHttp, clock: FakeClock) -> FreeSoraPro:
    return FreeSoraPro(fake.profile(), http, clock=clock)


async def raises(coro: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await coro
    return info.value


# --------------------------------------------------------------------------- happy paths


async def test_text_to_video_from_pending_to_a_video(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey, http: VendorHttp
) -> None:
    fake.script_next(TaskScript(steps=(("pending", 0), ("running", 45)), outcome="succeeded"))
    before = fake.credits

    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    snaps = await poll_until_done(provider, task, key)

    assert task.snapshot is None  # the create answer says only the taskId
    assert [(s.state, s.progress_pct) for s in snaps] == [
        (TaskState.QUEUED, 0),
        (TaskState.RUNNING, 45),
        (TaskState.SUCCEEDED, 100),
    ]
    assert snaps[0].video_url is None and snaps[1].video_url is None
    done = snaps[-1]
    assert done.video_url == fake.video_url(task.remote_id)
    assert done.raw["result_urls"] == [done.video_url]
    assert before is not None and fake.credits == before - 100

    (create,) = fake.calls("create")
    assert create.json == {
        "model": "sora-2-text-to-video",
        "prompt": PROMPT,
        "aspectRatio": "portrait",
        "nFrames": "10",
        "removeWatermark": True,
    }
    assert create.key_name == key.name and create.user_agent == USER_AGENT
    assert create.content_type == "application/json" and create.code == 0
    assert [c.json for c in fake.calls("status")] == [{"taskId": task.remote_id}] * 3
    assert fake.count("credits") == 0  # VIP is asked only for private videos

    source = await provider.open_result(done, key)
    video = await http.get_bytes(source.url, timeout_s=2.0, max_bytes=1 << 20)
    assert (video.status, video.content_type, len(video.body)) == (200, "video/mp4", 2048)


@pytest.mark.parametrize(
    ("tier", "kind", "duration", "model", "extra"),
    [
        ("sora-2", Kind.TEXT, 10, "sora-2-text-to-video", {"removeWatermark": True}),
        ("sora-2", Kind.IMAGE, 15, "sora-2-image-to-video", {"removeWatermark": True}),
        ("sora-2-stable", Kind.TEXT, 15, "sora-2-text-to-video-stable", {}),
        ("sora-2-stable", Kind.IMAGE, 10, "sora-2-image-to-video-stable", {}),
        (
            "sora-2-pro",
            Kind.TEXT,
            15,
            "sora-2-pro-text-to-video",
            {"size": "standard", "removeWatermark": True},
        ),
        (
            "sora-2-pro",
            Kind.IMAGE,
            10,
            "sora-2-pro-image-to-video",
            {"size": "standard", "removeWatermark": True},
        ),
        ("sora-2-pro", Kind.STORYBOARD, 10, "sora-2-pro-storyboard", {}),
        (None, Kind.STORYBOARD, 15, "sora-2-pro-storyboard", {}),
    ],
)
async def test_tier_and_kind_give_the_wire_model_and_only_its_fields(
    fake: FakeFreeSora,
    provider: FreeSoraPro,
    key: ApiKey,
    tier: str | None,
    kind: Kind,
    duration: int,
    model: str,
    extra: dict[str, Any],
) -> None:
    req: Any
    if kind is Kind.TEXT:
        req = TextToVideo(prompt=PROMPT, model=tier, duration=duration)
    elif kind is Kind.IMAGE:
        req = ImageToVideo(prompt=PROMPT, model=tier, duration=duration, image_url=fake.add_image())
    else:
        shots = (Shot(scene="Wide shot", duration=duration - 5), Shot(scene="Close-up", duration=5))
        req = StoryboardRequest(shots=shots, model=tier, duration=duration, prompt="ignored upstream")

    await provider.submit(req, key)

    body = fake.calls("create")[0].json
    assert body["model"] == model
    assert body["nFrames"] == str(duration) and isinstance(body["nFrames"], str)
    assert body["aspectRatio"] == "portrait"
    assert {k: body[k] for k in ("size", "removeWatermark") if k in body} == extra
    assert "isPublic" not in body
    assert ("prompt" in body) is (kind is not Kind.STORYBOARD)
    assert ("imageData" in body) is (kind is Kind.IMAGE) and "imageUrl" not in body
    assert fake.calls("create")[0].code == 0


async def test_storyboard_wire_format(fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey) -> None:
    shots = (Shot(scene="Dawn over the city", duration=12.5), Shot(scene="A train leaves", duration=12.5))
    req = StoryboardRequest(shots=shots, duration=25, orientation=Orientation.LANDSCAPE)

    await provider.submit(req, key)

    assert fake.calls("create")[0].json == {
        "model": "sora-2-pro-storyboard",
        "aspectRatio": "landscape",
        "nFrames": "25",
        "shots": [
            {"Scene": "Dawn over the city", "duration": 12.5},
            {"Scene": "A train leaves", "duration": 12.5},
        ],
    }
    assert '"Scene"' in fake.calls("create")[0].text and '"scene"' not in fake.calls("create")[0].text
    assert provider.capabilities.resolve_model(req) == "sora-2-pro"


async def test_image_goes_as_a_data_url_with_a_sniffed_type_and_no_key_to_the_image_host(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    png_url = fake.add_image("a.bin", PNG_1X1, content_type="application/octet-stream")
    jpg_url = fake.add_image("b", JPEG, content_type="text/plain")

    await provider.submit(ImageToVideo(prompt="Blink", image_url=png_url), key)
    await provider.submit(ImageToVideo(prompt="Blink", image_url=jpg_url, model="sora-2-pro"), key)

    first, second = (c.json["imageData"] for c in fake.calls("create"))
    assert first == "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()
    assert second == "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert [c.authorization for c in fake.calls("image")] == [None, None]


async def test_image_url_transport_when_the_profile_kind_says_so(
    fake: FakeFreeSora, http: VendorHttp, key: ApiKey
) -> None:
    url = fake.add_image()
    by_kind = FreeSoraPro(fake.profile(kind="freesora-url"), http)
    by_arg = FreeSoraPro(fake.profile(), http, image_transport="url")

    await by_kind.submit(ImageToVideo(prompt="Blink", image_url=url), key)
    await by_arg.submit(ImageToVideo(prompt="Blink", image_url=url), key)

    assert [c.json.get("imageUrl") for c in fake.calls("create")] == [url, url]
    assert all("imageData" not in c.json for c in fake.calls("create"))
    assert fake.count("image") == 0


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        (
            lambda f: f.add_image("x.gif", b"GIF89a" + bytes(20), content_type="image/gif"),
            "not PNG/JPEG/WebP",
        ),
        (lambda f: f"{f.base_url}/images/missing.png", "HTTP 404"),
        (lambda f: f"http://127.0.0.1:{closed_port()}/x.png", "download failed"),
    ],
)
async def test_an_unusable_image_fails_before_the_create(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey, setup: Any, detail: str
) -> None:
    err = await raises(provider.submit(ImageToVideo(prompt="Blink", image_url=setup(fake)), key))

    assert (err.code, err.blame, err.retryable) == ("IMAGE_UNUSABLE", "user", False)
    assert detail in err.detail
    assert fake.count("create") == 0


def test_the_image_type_is_sniffed_from_its_first_bytes() -> None:
    assert sniff(PNG_1X1) == "image/png"
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"<html>") is None


@pytest.mark.parametrize(
    ("options", "model", "expected"),
    [
        (Options(high_quality=True), "sora-2-pro", {"size": "high", "removeWatermark": True}),
        (Options(high_quality=False), "sora-2-pro", {"size": "standard", "removeWatermark": True}),
        (Options(watermark=True), "sora-2", {"removeWatermark": False}),
        (Options(watermark=False), "sora-2-pro", {"size": "standard", "removeWatermark": True}),
    ],
)
async def test_options_on_the_wire(
    fake: FakeFreeSora,
    provider: FreeSoraPro,
    key: ApiKey,
    options: Options,
    model: str,
    expected: dict[str, Any],
) -> None:
    await provider.submit(TextToVideo(prompt=PROMPT, model=model, options=options), key)

    body = fake.calls("create")[0].json
    assert {k: body[k] for k in ("size", "removeWatermark") if k in body} == expected


async def test_private_asks_for_vip_once_then_sends_is_public_false(
    clock: FakeClock, http: VendorHttp
) -> None:
    async with FakeFreeSora(clock=clock, is_vip=True, credits=5000) as fake:
        provider, key = FreeSoraPro(fake.profile(), http, clock=clock), fake.api_key()
        private = TextToVideo(prompt=PROMPT, options=Options(private=True))

        await provider.submit(private, key)
        await provider.submit(private, key)
        clock.advance(61)  # the VIP answer is cached for a minute
        await provider.submit(private, key)

        assert [c.json.get("isPublic") for c in fake.calls("create")] == [False] * 3
        assert fake.count("credits") == 2
        assert fake.calls("credits")[0].json == {}
        assert await provider.account(key) == (5000 - 300, True)


async def test_private_without_vip_is_refused_before_anything_is_billed(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    before = fake.credits

    err = await raises(provider.submit(TextToVideo(prompt=PROMPT, options=Options(private=True)), key))

    assert (err.code, err.blame, err.retryable) == ("VIP_REQUIRED", "user", False)
    assert "VIP" in err.user_message and "without the private option" in err.user_message
    assert fake.count("credits") == 1 and fake.count("create") == 0
    assert fake.credits == before and fake.tasks == {}


async def test_vip_lost_after_the_cache_is_a_vip_error_from_the_vendor(
    clock: FakeClock, http: VendorHttp
) -> None:
    async with FakeFreeSora(clock=clock, is_vip=True) as fake:
        provider, key = FreeSoraPro(fake.profile(), http, clock=clock), fake.api_key()
        assert await provider.account(key) == (100_000, True)
        fake.is_vip = False

        err = await raises(provider.submit(TextToVideo(prompt=PROMPT, options=Options(private=True)), key))

        assert (err.code, err.blame, err.retryable, err.http_status) == ("VIP_REQUIRED", "user", False, 200)
        assert "vendor code 1010" in err.detail and "VIP membership" in err.detail
        assert fake.calls("create")[0].json["isPublic"] is False


async def test_account_reports_credits_and_vip(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    fake.credits = 1234
    assert await provider.account(key) == (1234, False)
    fake.force("credits", body={"code": 0, "message": "ok", "data": {"left_credits": 5}})
    err = await raises(provider.account(key))
    assert err.code == "MALFORMED_RESPONSE"


async def test_task_id_falls_back_to_data_id(fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey) -> None:
    fake.script_next(TaskScript(task_id_field="id"))

    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert task.remote_id in fake.tasks
    assert (await provider.poll(task, key)).state is TaskState.QUEUED


async def test_success_is_code_zero_whatever_the_message(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    fake.force("create", body={"code": 0, "message": "Something odd", "data": {"taskId": "t-1"}})
    fake.force("create", body={"code": 7, "message": "ok", "data": {"taskId": "t-2"}})

    assert (await provider.submit(TextToVideo(prompt=PROMPT), key)).remote_id == "t-1"
    err = await raises(provider.submit(TextToVideo(prompt=PROMPT), key))
    assert err.code == "7" and "ok" in err.detail


async def test_a_failure_in_the_create_response(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    fake.script_next(TaskScript(immediate=True, outcome="failed"))

    failed = await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert failed.snapshot is not None and failed.snapshot.state is TaskState.FAILED
    assert fake.count("status") == 0


async def test_result_urls_is_the_fallback(fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey) -> None:
    fake.script_next(TaskScript(steps=(), urls="result_urls"))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    snap = await provider.poll(task, key)

    assert snap.raw["result_url"] == "" and snap.video_url == fake.video_url(task.remote_id)


async def test_a_url_before_success_is_not_trusted(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    data = {"status": "running", "progress": "30", "result_url": "https://placeholder.example/x.mp4"}
    fake.force("status", body={"code": 0, "message": "Success", "data": data})
    fake.force(
        "status", body={"code": 0, "message": "Success", "data": {"status": "succeeded", "result_url": ""}}
    )

    snap = await provider.poll(RemoteTask(remote_id="t"), key)
    assert (snap.state, snap.progress_pct, snap.video_url) == (TaskState.RUNNING, 30, None)
    err = await raises(provider.poll(RemoteTask(remote_id="t"), key))
    assert (err.code, err.retryable) == ("MALFORMED_RESPONSE", True)


async def test_unknown_status_words_count_as_running_and_are_logged(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script_next(TaskScript(steps=(("upscaling", 80),), outcome="never"))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    snaps = [await provider.poll(task, key) for _ in range(3)]

    assert {(s.state, s.progress_pct) for s in snaps} == {(TaskState.RUNNING, 80)}
    assert "unknown status 'upscaling'" in caplog.text


async def test_progress_by_time(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey, clock: FakeClock
) -> None:
    fake.script_next(TaskScript(steps=(("pending", 0), ("running", 60)), advance="time", step_seconds=30))
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    first = await provider.poll(task, key)
    clock.advance(30)
    later = await provider.poll(task, key)
    clock.advance(30)
    done = await provider.poll(task, key)

    assert (first.state, later.state, later.progress_pct) == (TaskState.QUEUED, TaskState.RUNNING, 60)
    assert done.state is TaskState.SUCCEEDED


async def test_a_failed_task_is_a_failed_snapshot_and_the_vendor_refunds(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    fake.script_next(TaskScript(steps=(("running", 10),), outcome="failed", failure_reason="Content policy"))
    before = fake.credits
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=15), key)
    assert before is not None and fake.credits == before - 150

    snaps = await poll_until_done(provider, task, key)

    failed = snaps[-1]
    assert failed.state is TaskState.FAILED and failed.error is not None
    assert failed.error.code == "GENERATION_FAILED"
    assert "Content policy" in failed.error.message and "refunded" in failed.error.message
    assert failed.raw["credits_refunded"] is True and failed.raw["refund_trans_no"]
    assert fake.credits == before


# --------------------------------------------------------------------------- errors at create


async def test_out_of_credits_on_http_200_blames_the_operator(clock: FakeClock, http: VendorHttp) -> None:
    async with FakeFreeSora(clock=clock, credits=120) as fake:
        provider = FreeSoraPro(fake.profile(), http)

        err = await raises(provider.submit(TextToVideo(prompt=PROMPT, duration=15), fake.api_key()))

        assert (err.code, err.blame, err.retryable, err.http_status) == (
            "INSUFFICIENT_CREDITS",
            "operator",
            False,
            200,
        )
        assert "top it up" in err.user_message
        assert "vendor code 1020" in err.detail and "Insufficient credits" in err.detail
        assert fake.credits == 120 and fake.tasks == {}


async def test_the_concurrency_limit_is_rate_limited_and_retryable(
    clock: FakeClock, http: VendorHttp
) -> None:
    async with FakeFreeSora(clock=clock, max_concurrent=2) as fake:
        provider, key = FreeSoraPro(fake.profile(), http), fake.api_key()
        fake.default_script = TaskScript(outcome="never")
        first = await provider.submit(TextToVideo(prompt=PROMPT), key)
        await provider.submit(TextToVideo(prompt=PROMPT), key)

        err = await raises(provider.submit(TextToVideo(prompt=PROMPT), key))

        assert (err.code, err.retryable, err.rate_limited) == ("CONCURRENCY_LIMIT", True, True)
        assert "not lost" in err.user_message and "vendor code 1029, HTTP 200" in err.detail
        fake.finish(first.remote_id)
        await provider.submit(TextToVideo(prompt=PROMPT), key)
        assert fake.active == 2


async def test_model_temporarily_unavailable(fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey) -> None:
    fake.unavailable.add("sora-2-text-to-video-stable")

    err = await raises(provider.submit(TextToVideo(prompt=PROMPT, model="sora-2-stable"), key))

    assert (err.code, err.blame) == ("MODEL_UNAVAILABLE", "vendor")
    assert "temporarily unavailable" in err.user_message


async def test_unknown_code_keeps_the_raw_code_and_message(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    fake.error_200_next("create", code=4242, message="Prompt rejected by moderation")

    err = await raises(provider.submit(TextToVideo(prompt=PROMPT), key))

    assert err.code == "4242" and "Prompt rejected by moderation" in err.detail
    assert "4242" not in err.user_message and "unexpected" in err.user_message


@pytest.mark.parametrize(
    ("status", "message", "code", "blame", "retryable"),
    [
        (401, "Unauthorized", "UNAUTHORIZED", "operator", False),
        (400, "Missing parameter.", "BAD_REQUEST", "operator", False),
        (500, "Internal Server Error", "INTERNAL_ERROR", "vendor", True),
    ],
)
def test_http_errors_map_by_status(status: int, message: str, code: str, blame: str, retryable: bool) -> None:
    err = freesora_error(status, message, status)
    assert (err.code, err.blame, err.retryable, err.http_status) == (code, blame, retryable, status)
    assert err.user_message.endswith(".") and message in err.detail


@pytest.mark.parametrize(
    ("message", "code", "blame"),
    [
        ("Insufficient credits", "INSUFFICIENT_CREDITS", "operator"),
        ("VIP required", "VIP_REQUIRED", "user"),
        ("Too many concurrent tasks", "CONCURRENCY_LIMIT", "operator"),
        ("Rate limit exceeded", "CONCURRENCY_LIMIT", "operator"),
        ("Model is temporarily unavailable", "MODEL_UNAVAILABLE", "vendor"),
        ("Invalid taskId", "TASK_ID_ERROR", "operator"),
    ],
)
def test_messages_map_heuristically_and_polling_makes_them_retryable(
    message: str, code: str, blame: str
) -> None:
    at_create = freesora_error(99, message, 200)
    while_polling = freesora_error(99, message, 200, polling=True)
    assert (at_create.code, at_create.blame) == (code, blame)
    assert while_polling.code == code and while_polling.retryable
    assert "vendor code 99" in at_create.detail and message in at_create.detail


async def test_an_envelope_without_a_code_at_create_is_final(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    fake.force("create", body={"message": "ok", "data": {"taskId": "x"}})

    err = await raises(provider.submit(TextToVideo(prompt=PROMPT), key))

    assert (err.code, err.retryable) == ("MALFORMED_RESPONSE", False)


# --------------------------------------------------------------------------- errors while polling


async def test_a_non_zero_code_while_polling_is_a_retryable_poll_error(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.error_200_next("status", code=5001, message="Upstream fetch failed")
    fake.error_200_next("status", code=1020, message="Insufficient credits")

    first = await raises(provider.poll(task, key))
    second = await raises(provider.poll(task, key))

    assert (first.code, first.retryable, first.http_status) == ("5001", True, 200)
    assert (second.code, second.retryable) == ("INSUFFICIENT_CREDITS", True)
    assert (await provider.poll(task, key)).state is TaskState.QUEUED  # the task itself is fine


async def test_an_unknown_task_while_polling_is_retryable(provider: FreeSoraPro, key: ApiKey) -> None:
    err = await raises(provider.poll(RemoteTask(remote_id="nope"), key))
    assert (err.code, err.retryable, err.blame) == ("TASK_ID_ERROR", True, "operator")


async def test_missing_parameter_400_while_polling_is_not_retryable(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey, sleeps: RecordedSleep
) -> None:
    err = await raises(provider.poll(RemoteTask(remote_id=""), key))

    assert (err.code, err.retryable, err.http_status) == ("BAD_REQUEST", False, 400)
    assert "Missing parameter." in err.detail and sleeps.delays == []


async def test_an_envelope_without_data_while_polling_is_retryable(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.force("status", body={"code": 0, "message": "ok", "data": None})

    assert (await raises(provider.poll(task, key))).retryable
    assert (await provider.poll(task, key)).state is TaskState.QUEUED


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("req", "field", "allowed"),
    [
        (TextToVideo(prompt=PROMPT, model="sora-3"), "model", "sora-2, sora-2-stable, sora-2-pro"),
        (TextToVideo(prompt="  "), "prompt", "characters"),
        (TextToVideo(prompt=PROMPT, duration=12), "duration", "10 s, 15 s"),
        (TextToVideo(prompt=PROMPT, duration=25), "duration", "10 s, 15 s"),
        (ImageToVideo(prompt=PROMPT, image_url="https://x/y.png", duration=25), "duration", "10 s, 15 s"),
        (
            TextToVideo(prompt=PROMPT, options=Options(high_quality=True)),
            "high_quality",
            "private, watermark",
        ),
        (
            TextToVideo(prompt=PROMPT, model="sora-2-stable", options=Options(high_quality=False)),
            "high_quality",
            "private",
        ),
        (StoryboardRequest(shots=STORY, options=Options(high_quality=True)), "high_quality", "sora-2-pro"),
        (
            TextToVideo(prompt=PROMPT, model="sora-2-stable", options=Options(watermark=True)),
            "watermark",
            "private",
        ),
        (
            StoryboardRequest(shots=STORY, options=Options(watermark=False)),
            "watermark",
            "sora-2 and sora-2-pro",
        ),
        (
            TextToVideo(prompt=PROMPT, options=Options(character_url="https://x")),
            "character",
            "private, watermark",
        ),
        (StoryboardRequest(shots=STORY, model="sora-2"), "model", "Sora 2 Pro"),
        (StoryboardRequest(shots=()), "shots", "1 to 15 shots"),
        (
            StoryboardRequest(shots=(Shot(scene="a", duration=10), Shot(scene="b", duration=0))),
            "shot 2 duration",
            "more than 0 s",
        ),
        (
            StoryboardRequest(shots=(Shot(scene="a", duration=-5), Shot(scene="b", duration=15))),
            "shot 1 duration",
            "more than 0 s",
        ),
        (StoryboardRequest(shots=(Shot(scene=" ", duration=10),)), "shot 1 scene", "description"),
        (
            StoryboardRequest(shots=(Shot(scene="a", duration=5), Shot(scene="b", duration=5)), duration=15),
            "shots",
            "add up to 15 s",
        ),
        (ImageToVideo(prompt=PROMPT, image_url="file:///etc/passwd"), "image", "http"),
        (TvcRequest(ad_theme="Nike running shoes"), "kind", "image, storyboard, text"),
    ],
)
async def test_invalid_requests_are_refused_before_any_call(
    fake: FakeFreeSora, provider: FreeSoraPro, key: ApiKey, req: Any, field: str, allowed: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(req)
    assert info.value.field == field
    assert f"`{field}`" in info.value.message and "Allowed:" in info.value.message
    assert allowed in info.value.allowed

    with pytest.raises(InvalidRequest):
        await provider.submit(req, key)
    assert fake.requests == []


async def test_capabilities(provider: FreeSoraPro) -> None:
    caps = provider.capabilities
    assert isinstance(caps, FreeSoraCapabilities)
    assert caps.models == ("sora-2", "sora-2-stable", "sora-2-pro") and caps.default_model == "sora-2"
    assert caps.kinds == {Kind.TEXT, Kind.IMAGE, Kind.STORYBOARD}
    assert caps.durations == (10, 15, 25)
    assert [s.switches for s in caps.specs] == [
        {"watermark", "private"},
        {"private"},
        {"watermark", "private", "high_quality"},
    ]


async def test_a_profile_narrows_tiers_models_and_durations(fake: FakeFreeSora, http: VendorHttp) -> None:
    only_stable = FreeSoraPro(fake.profile(models=("sora-2-stable",), durations=(15,)), http).capabilities
    assert (only_stable.models, only_stable.default_model) == (("sora-2-stable",), "sora-2-stable")
    assert only_stable.kinds == {Kind.TEXT, Kind.IMAGE} and only_stable.specs[0].switches == {"private"}

    mixed = FreeSoraPro(fake.profile(models=("sora-2", "sora-2-pro-text-to-video")), http).capabilities
    assert mixed.models == ("sora-2", "sora-2-pro") and Kind.STORYBOARD not in mixed.kinds
    mixed.validate_request(TextToVideo(prompt=PROMPT, model="sora-2-pro"))
    with pytest.raises(InvalidRequest) as info:
        mixed.validate_request(ImageToVideo(prompt=PROMPT, model="sora-2-pro", image_url="https://x/y.png"))
    assert (info.value.field, info.value.allowed) == ("model", "Sora 2")

    boards = FreeSoraPro(fake.profile(models=("sora-2-pro-storyboard",)), http).capabilities
    assert boards.kinds == {Kind.STORYBOARD} and boards.models == ("sora-2-pro",)

    with pytest.raises(ProfileError, match="sora-3"):
        FreeSoraPro(fake.profile(models=("sora-2", "sora-3")), http)
    with pytest.raises(ProfileError, match="durations"):
        FreeSoraPro(fake.profile(durations=(10, 20)), http)


async def test_prices_follow_the_tier_the_engine_quotes(fake: FakeFreeSora, http: VendorHttp) -> None:
    assert FREESORA_PRICES == {
        ("sora-2", 10): 100,
        ("sora-2", 15): 150,
        ("sora-2-stable", 10): 100,
        ("sora-2-stable", 15): 150,
        ("sora-2-pro", 10): 375,
        ("sora-2-pro", 15): 675,
        ("sora-2-pro", 25): 875,
    }
    profile = fake.profile(prices={"sora-2:10": 90})
    provider = FreeSoraPro(profile, http)

    def quote(req: Any) -> int:
        return vendor_cost(provider, req, profile)

    board = StoryboardRequest(shots=(Shot(scene="a", duration=20), Shot(scene="b", duration=5)), duration=25)
    assert quote(board) == 875
    assert quote(TextToVideo(prompt=PROMPT)) == 90
    assert (
        quote(ImageToVideo(prompt=PROMPT, image_url="https://x/y.png", model="sora-2-pro", duration=15))
        == 675
    )


# --------------------------------------------------------------------------- secrets


async def test_the_key_never_appears_in_errors_or_logs(
    clock: FakeClock, http: VendorHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []
    async with FakeFreeSora(clock=clock, credits=100) as fake:
        key = fake.api_key()
        secret = key.secret.get_secret_value()
        provider = FreeSoraPro(fake.profile(request_timeout=0.2), http)
        fake.script_next(TaskScript(steps=(), outcome="failed", failure_reason=f"bad token {secret}"))
        task = await provider.submit(TextToVideo(prompt=PROMPT), key)
        failed = await provider.poll(task, key)
        fake.error_200_next("status", code=9, message=f"bad token {secret}")
        fake.malformed_next("status", text=f"<html>Bearer {secret}</html>")
        fake.fail_next("status", status=503, message=f"echo {secret}", times=3)
        fake.slow_next("create", 1.0)
        for call in (
            provider.poll(task, key),
            provider.poll(task, key),
            provider.poll(task, key),
            provider.submit(TextToVideo(prompt=PROMPT), key),
            provider.submit(TextToVideo(prompt=PROMPT, duration=15), key),  # out of credits
            provider.submit(TextToVideo(prompt=PROMPT, options=Options(private=True)), key),  # not VIP
        ):
            errors.append(await raises(call))
    unreachable = FreeSoraPro(fake.profile(base_url=f"http://127.0.0.1:{closed_port()}"), http)
    errors.append(await raises(unreachable.poll(task, key)))

    assert [e.code for e in errors] == [
        "9",
        "MALFORMED_RESPONSE",
        "INTERNAL_ERROR",
        "NO_RESPONSE",
        "INSUFFICIENT_CREDITS",
        "VIP_REQUIRED",
        "UNREACHABLE",
    ]
    texts = [failed.error.message if failed.error else ""]
    for e in errors:
        texts += [str(e), repr(e), *map(str, e.args), *(str(v) for v in vars(e).values())]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records
    assert not [t for t in texts if secret in t]
    assert secret not in caplog.text
    assert all(r.key_name == "key-a" for r in fake.calls())


# --------------------------------------------------------------------------- the fake is strict


TEXT = {"model": "sora-2-text-to-video", "prompt": "x", "nFrames": "10"}
BOARD = {"model": "sora-2-pro-storyboard", "nFrames": "10", "shots": [{"Scene": "a", "duration": 10}]}


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/v1/video/sora-pro", {**TEXT, "model": "sora-3"}, 200, 1002),
        ("/api/v1/video/sora-pro", {"model": "sora-2-text-to-video"}, 200, 1003),
        ("/api/v1/video/sora-pro", {"model": "sora-2-image-to-video", "prompt": "x"}, 200, 1004),
        (
            "/api/v1/video/sora-pro",
            {"model": "sora-2-image-to-video", "prompt": "x", "imageData": "aGVsbG8="},
            200,
            1004,
        ),
        ("/api/v1/video/sora-pro", {**TEXT, "nFrames": 10}, 200, 1001),
        ("/api/v1/video/sora-pro", {**TEXT, "nFrames": "25"}, 200, 1001),
        ("/api/v1/video/sora-pro", {**TEXT, "size": "high"}, 200, 1001),
        (
            "/api/v1/video/sora-pro",
            {**TEXT, "model": "sora-2-text-to-video-stable", "removeWatermark": True},
            200,
            1001,
        ),
        ("/api/v1/video/sora-pro", {**BOARD, "removeWatermark": True}, 200, 1001),
        ("/api/v1/video/sora-pro", {**TEXT, "isPublic": False}, 200, 1010),
        ("/api/v1/video/sora-pro", {**TEXT, "aspect_ratio": "16:9"}, 200, 1001),
        ("/api/v1/video/sora-pro", {**BOARD, "shots": []}, 200, 1005),
        ("/api/v1/video/sora-pro", {**BOARD, "shots": [{"scene": "a", "duration": 10}]}, 200, 1005),
        ("/api/v1/video/sora-pro", {**BOARD, "shots": [{"Scene": "a", "duration": 0}]}, 200, 1005),
        ("/api/v1/video/sora-pro", {**BOARD, "shots": [{"Scene": "a", "duration": 9}]}, 200, 1005),
        ("/api/v1/video/sora-pro", {}, 400, 400),
        ("/api/video-generations/check-result", {}, 400, 400),
        ("/api/video-generations/check-result", {"taskId": "nope"}, 200, 1040),
    ],
)
async def test_the_fake_refuses_what_the_vendor_refuses(
    fake: FakeFreeSora, http: VendorHttp, key: ApiKey, path: str, body: dict[str, Any], status: int, code: int
) -> None:
    resp = await http.request_json(
        "POST", fake.base_url + path, key=key, json_body=body, timeout_s=2.0, idempotent=False
    )
    assert (resp.status, resp.data["code"]) == (status, code)
    assert resp.headers["Content-Type"] == "application/json"
    assert fake.tasks == {} and fake.credits == 100_000


async def test_the_fake_needs_a_known_bearer_key_and_accepts_a_good_storyboard(
    fake: FakeFreeSora, http: VendorHttp, key: ApiKey
) -> None:
    url = fake.base_url + "/api/v1/video/sora-pro"
    denied = await http.request_json("POST", url, key=None, json_body=BOARD, timeout_s=2.0, idempotent=False)
    ok = await http.request_json("POST", url, key=key, json_body=BOARD, timeout_s=2.0, idempotent=False)

    assert (denied.status, denied.data["code"]) == (401, 401)
    assert (ok.status, ok.data["code"], ok.data["message"]) == (200, 0, "ok")
    assert fake.credits == 100_000 - 375
