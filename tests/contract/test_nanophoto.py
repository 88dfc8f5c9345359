"""The nanophoto Sora 2 adapter against the fake nanophoto server, and the shared HTTP retry policy.

Everything runs against a real aiohttp server on 127.0.0.1; retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from bot.engine.pricing import PriceUnknown, cost_of
from bot.errors import InvalidRequest
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Orientation,
    ProviderError,
    Shot,
    StoryboardRequest,
    TaskSnapshot,
    TaskState,
    TextToVideo,
    TvcRequest,
)
from bot.providers.http import USER_AGENT, RetryPolicy, TransportError, VendorHttp
from bot.providers.nanophoto import NANOPHOTO_ERRORS, NANOPHOTO_PRICES, NanophotoSora, nanophoto_error
from bot.providers.profiles import ProfileError
from bot.providers.registry import PROVIDER_KINDS, build_provider
from tests.contract.support import RecordedSleep, closed_port, poll_until_done
from tests.fakes.nanophoto import RATE_LIMIT_BODY, FakeClock, FakeNanophoto, TaskScript

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


async def test_completion_in_the_generate_response(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    fake.script_next(TaskScript(immediate=True))

    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert task.snapshot is not None
    assert task.snapshot.state is TaskState.SUCCEEDED
    assert task.snapshot.video_url == fake.video_url(task.remote_id)
    assert fake.count(route="status") == 0
    assert (await provider.open_result(task.snapshot, key)).url == task.snapshot.video_url


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


async def test_a_rejected_key_blames_the_operator(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    stale = ApiKey(name="stale", secret=SecretStr("np-revoked-key"))

    with pytest.raises(ProviderError) as at_submit:
        await provider.submit(TextToVideo(prompt=PROMPT), stale)
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    with pytest.raises(ProviderError) as at_poll:
        await provider.poll(task, stale)

    for err in (at_submit.value, at_poll.value):
        assert (err.code, err.blame, err.retryable, err.http_status) == (
            "LOGIN_REQUIRED",
            "operator",
            False,
            401,
        )
        assert "API key" in err.user_message and "admin" in err.user_message
    assert fake.calls("generate")[0].key_name is None


async def test_rate_limit_is_retryable_and_counts_creates_and_polls(
    clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with FakeNanophoto(clock=clock, rate_limit=2) as fake:
        provider, key = NanophotoSora(fake.profile(), http), fake.api_key()
        fake.script_next(TaskScript(outcome="never"))
        task = await provider.submit(TextToVideo(prompt=PROMPT), key)
        await provider.poll(task, key)

        with pytest.raises(ProviderError) as info:
            await provider.poll(task, key)

        err = info.value
        assert err.rate_limited and err.retryable and err.retry_after is None
        assert err.code == "API_KEY_RATE_LIMIT_EXCEEDED" and err.http_status == 429
        assert err.blame == "operator"
        assert err.detail == RATE_LIMIT_BODY["error"]
        assert sleeps.delays == []  # a 429 is left to the engine's budget, not retried here
        assert fake.count(route="status") == 2
        # The other key has its own budget; the window slides with the clock.
        other = fake.api_key("key-b")
        await provider.submit(TextToVideo(prompt=PROMPT), other)
        clock.advance(3600)
        assert (await provider.poll(task, key)).state is TaskState.RUNNING
        assert fake.calls_per_key == {"key-a": 4, "key-b": 1}


async def test_5xx_on_poll_is_retried_then_succeeds(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey, sleeps: RecordedSleep
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.fail_next("status", status=503, times=1)
    fake.fail_next("status", status=500, code="INTERNAL_ERROR")

    snap = await provider.poll(task, key)

    assert snap.state is TaskState.RUNNING and snap.stage == "generating"
    assert [c.status for c in fake.calls("status")] == [503, 500, 200]
    assert len(sleeps.delays) == 2


async def test_5xx_on_poll_after_all_attempts_is_a_retryable_vendor_error(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.malformed_next("status", status=502, text="<html>Bad Gateway</html>", times=3)

    with pytest.raises(ProviderError) as info:
        await provider.poll(task, key)

    assert (info.value.code, info.value.blame, info.value.retryable) == ("HTTP_502", "vendor", True)
    assert fake.count(route="status") == 3


async def test_5xx_on_submit_is_not_retried(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey, sleeps: RecordedSleep
) -> None:
    fake.fail_next("generate", status=500, code="INTERNAL_ERROR", error="Internal server error")

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert fake.count(route="generate") == 1
    assert sleeps.delays == []
    assert (info.value.code, info.value.blame, info.value.http_status) == ("INTERNAL_ERROR", "vendor", 500)


async def test_malformed_json_on_poll_is_a_retryable_vendor_error(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.malformed_next("status")

    with pytest.raises(ProviderError) as info:
        await provider.poll(task, key)

    err = info.value
    assert (err.code, err.blame, err.retryable) == ("MALFORMED_RESPONSE", "vendor", True)
    assert fake.count(route="status") == 1
    assert (await provider.poll(task, key)).state is TaskState.RUNNING


async def test_malformed_json_on_submit_is_not_to_be_repeated_blindly(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    # A 200 we cannot read may still have started (and billed) a video.
    fake.malformed_next("generate", text="not json at all")

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert (info.value.code, info.value.blame, info.value.retryable) == (
        "MALFORMED_RESPONSE",
        "vendor",
        False,
    )


async def test_unknown_error_code_keeps_the_raw_code(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)
    fake.error_200_next("status", code="MODEL_OVERLOADED", error="Upstream model is overloaded")

    with pytest.raises(ProviderError) as info:
        await provider.poll(task, key)

    err = info.value
    assert err.code == "MODEL_OVERLOADED" and "Upstream model is overloaded" in err.detail
    assert "MODEL_OVERLOADED" not in err.user_message and "unexpected" in err.user_message
    assert err.blame == "vendor" and err.http_status == 200


async def test_error_envelope_on_http_200_is_an_error(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    fake.error_200_next(
        "generate", code="INSUFFICIENT_CREDITS", error="Insufficient credits", requiredCredits=8
    )

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT, duration=15), key)

    assert info.value.code == "INSUFFICIENT_CREDITS" and info.value.blame == "operator"


async def test_success_false_without_code_is_an_error(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    fake.force("generate", body={"success": False, "error": "Something broke"})

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert info.value.code == "HTTP_200" and "Something broke" in info.value.detail


async def test_another_keys_task_is_not_found(
    fake: FakeNanophoto, provider: NanophotoSora, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT), key)

    with pytest.raises(ProviderError) as info:
        await provider.poll(task, fake.api_key("key-b"))

    assert (info.value.code, info.value.http_status, info.value.retryable) == ("TASK_NOT_FOUND", 404, False)


async def test_slow_status_times_out_and_is_retried(
    clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with FakeNanophoto(clock=clock) as fake:
        provider, key = NanophotoSora(fake.profile(request_timeout=0.2), http), fake.api_key()
        task = await provider.submit(TextToVideo(prompt=PROMPT), key)
        fake.slow_next("status", 1.0)

        assert (await provider.poll(task, key)).state is TaskState.RUNNING
        assert fake.count(route="status") == 2 and len(sleeps.delays) == 1


async def test_slow_submit_times_out_and_is_not_retried(
    clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with FakeNanophoto(clock=clock) as fake:
        provider = NanophotoSora(fake.profile(request_timeout=0.2), http)
        fake.slow_next("generate", 1.0)

        with pytest.raises(ProviderError) as info:
            await provider.submit(TextToVideo(prompt=PROMPT), fake.api_key())

        assert (info.value.code, info.value.retryable) == ("NO_RESPONSE", False)
        assert fake.count(route="generate") == 1 and sleeps.delays == []


async def test_unreachable_vendor_at_submit_is_retryable(http: VendorHttp, sleeps: RecordedSleep) -> None:
    async with FakeNanophoto() as fake:
        profile = fake.profile(base_url=f"http://127.0.0.1:{closed_port()}")
        key = fake.api_key()
    provider = NanophotoSora(profile, http)

    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT), key)

    assert (info.value.code, info.value.retryable, info.value.blame) == ("UNREACHABLE", True, "vendor")
    assert len(sleeps.delays) == 2  # never sent, so the create itself was safe to retry


def test_every_documented_code_has_plain_words() -> None:
    documented = {
        "LOGIN_REQUIRED": (401, "operator", False),
        "API_KEY_RATE_LIMIT_EXCEEDED": (429, "operator", True),
        "INSUFFICIENT_CREDITS": (402, "operator", False),
        "INVALID_INPUT": (400, "operator", False),
        "PROMPT_REQUIRED": (400, "user", False),
        "IMAGE_REQUIRED": (400, "user", False),
        "IMAGE_URLS_REQUIRED": (400, "user", False),
        "GENERATION_FAILED": (500, "vendor", False),
        "TASK_ID_REQUIRED": (400, "operator", False),
        "TASK_NOT_FOUND": (404, "operator", False),
        "INTERNAL_ERROR": (500, "vendor", True),
    }
    for code, (status, blame, retryable) in documented.items():
        err = nanophoto_error(code, "vendor words", status)
        assert (err.code, err.blame, err.retryable, err.http_status) == (code, blame, retryable, status)
        assert err.detail == "vendor words" and code not in err.user_message
        assert err.user_message.endswith(".")


# --------------------------------------------------------------------------- secrets


async def test_the_key_never_appears_in_errors_or_logs(
    clock: FakeClock, http: VendorHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    async with FakeNanophoto(clock=clock, credits=4, rate_limit=2) as fake:
        key = fake.api_key()
        secret = key.secret.get_secret_value()
        provider = NanophotoSora(fake.profile(request_timeout=0.2), http)
        task = await provider.submit(TextToVideo(prompt=PROMPT), key)
        # The vendor (or a proxy) echoing the key back must not leak it either.
        fake.fail_next("status", status=400, code="WEIRD", error=f"bad token {secret}")
        fake.malformed_next("status", text=f"<html>Bearer {secret}</html>")
        fake.slow_next("generate", 1.0)
        fake.fail_next("status", status=503, times=3)
        for call in (
            provider.poll(task, key),
            provider.poll(task, key),
            provider.submit(TextToVideo(prompt=PROMPT), key),
            provider.poll(task, key),
            provider.submit(TextToVideo(prompt=PROMPT), key),  # 402: the credits are spent
            provider.poll(task, key),  # 429: forced answers do not count, the 402 did
        ):
            with pytest.raises(ProviderError) as info:
                await call
            errors.append(info.value)
    unreachable = NanophotoSora(fake.profile(base_url=f"http://127.0.0.1:{closed_port()}"), http)
    with pytest.raises(ProviderError) as info:
        await unreachable.poll(task, key)
    errors.append(info.value)

    assert [getattr(e, "code", None) for e in errors] == [
        "WEIRD",
        "MALFORMED_RESPONSE",
        "NO_RESPONSE",
        "INTERNAL_ERROR",
        "INSUFFICIENT_CREDITS",
        "API_KEY_RATE_LIMIT_EXCEEDED",
        "UNREACHABLE",
    ]
    texts: list[str] = []
    for e in errors:
        texts += [str(e), repr(e), *map(str, e.args), *(str(v) for v in vars(e).values())]
    texts += [r.getMessage() for r in caplog.records] + [str(r.exc_text) for r in caplog.records]
    assert caplog.records, "the failures above should have been logged"
    assert not [t for t in texts if secret in t]
    assert secret not in caplog.text
    assert all(r.key_name == "key-a" for r in fake.calls())  # the key was sent, just never echoed


# --------------------------------------------------------------------------- capabilities


async def test_capabilities(provider: NanophotoSora) -> None:
    caps = provider.capabilities
    assert caps.models == ("sora2", "sora2-pro-standard", "sora2-pro-high")
    assert caps.default_model == "sora2" and caps.durations == (10, 15)
    assert {k.value for k in caps.kinds} == {"text", "image"}


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (TextToVideo(prompt=PROMPT, model="sora3-ultra"), "tier"),
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
    assert (tier.value.field, duration.value.field) == ("tier", "duration")

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
    assert NanophotoSora.default_prices == NANOPHOTO_PRICES
    profile = fake.profile(prices={"sora2:10": 5})
    provider = NanophotoSora(profile, http)
    assert cost_of(profile, provider.default_prices, "sora2", 10) == 5
    assert cost_of(profile, provider.default_prices, "sora2-pro-high", 15) == 240
    with pytest.raises(PriceUnknown):
        cost_of(profile, provider.default_prices, "sora2", 25)


async def test_open_result_needs_a_finished_video(provider: NanophotoSora, key: ApiKey) -> None:
    with pytest.raises(ProviderError) as info:
        await provider.open_result(TaskSnapshot(state=TaskState.RUNNING), key)
    assert info.value.code == "NO_VIDEO"


async def test_registry_builds_the_adapter(fake: FakeNanophoto, http: VendorHttp) -> None:
    assert PROVIDER_KINDS["nanophoto"] is NanophotoSora
    provider = build_provider(fake.profile(name="team-nano"), http)
    assert isinstance(provider, NanophotoSora) and provider.name == "team-nano"
    with pytest.raises(ProfileError, match="kind"):
        build_provider(fake.profile(kind="sora-by-carrier-pigeon"), http)


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


# --------------------------------------------------------------------------- http.py retry policy


async def test_idempotent_5xx_is_retried_a_bounded_number_of_times(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    fake.fail_next("status", status=503, times=10)

    resp = await http.request_json(
        "POST",
        fake.base_url + "/api/sora-2/check-status",
        key=key,
        json_body={},
        timeout_s=2.0,
        idempotent=True,
    )

    assert (resp.status, resp.attempts, resp.data["errorCode"]) == (503, 3, "INTERNAL_ERROR")
    assert fake.count(route="status") == 3
    assert len(sleeps.delays) == 2
    assert 0.25 <= sleeps.delays[0] <= 0.5 and 0.5 <= sleeps.delays[1] <= 1.0


async def test_non_idempotent_5xx_is_never_retried(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    fake.fail_next("generate", status=503, times=10)

    resp = await http.request_json(
        "POST", fake.base_url + "/api/sora-2/generate", key=key, json_body={}, timeout_s=2.0, idempotent=False
    )

    assert (resp.status, resp.attempts) == (503, 1)
    assert fake.count(route="generate") == 1 and sleeps.delays == []


async def test_4xx_is_never_retried(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    resp = await http.request_json(
        "POST",
        fake.base_url + "/api/sora-2/check-status",
        key=key,
        json_body={},
        timeout_s=2.0,
        idempotent=True,
    )
    assert (resp.status, resp.attempts) == (400, 1) and sleeps.delays == []


async def test_connection_refused_is_retried_even_for_a_create(
    http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    with pytest.raises(TransportError) as info:
        await http.request_json(
            "POST",
            f"http://127.0.0.1:{closed_port()}/x",
            key=key,
            json_body={},
            timeout_s=1.0,
            idempotent=False,
        )
    assert (info.value.maybe_sent, info.value.attempts) == (False, 3)
    assert len(sleeps.delays) == 2


async def test_a_timeout_is_retried_only_when_idempotent(
    fake: FakeNanophoto, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    fake.slow_next("generate", 1.0, times=2)
    url = fake.base_url + "/api/sora-2/generate"
    body = {"prompt": "x", "mode": "textToVideo"}

    with pytest.raises(TransportError) as info:
        await http.request_json("POST", url, key=key, json_body=body, timeout_s=0.1, idempotent=False)
    assert (info.value.maybe_sent, info.value.attempts) == (True, 1)
    assert sleeps.delays == []

    resp = await http.request_json("POST", url, key=key, json_body=body, timeout_s=0.1, idempotent=True)
    assert (resp.status, resp.attempts) == (200, 2)


async def test_should_retry_can_veto_a_5xx(fake: FakeNanophoto, http: VendorHttp, key: ApiKey) -> None:
    fake.fail_next("status", status=500, times=5)

    resp = await http.request_json(
        "POST",
        fake.base_url + "/api/sora-2/check-status",
        key=key,
        json_body={},
        timeout_s=2.0,
        idempotent=True,
        should_retry=lambda r: False,
    )
    assert resp.attempts == 1


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(attempts=8, base_delay=1.0, max_delay=10.0)
    rng = random.Random(1)
    for retry in range(8):
        cap = min(10.0, 2.0**retry)
        samples = [policy.delay(retry, rng) for _ in range(50)]
        assert all(cap / 2 <= d <= cap for d in samples)
        assert len(set(samples)) > 1
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


async def test_headers_and_session_ownership(fake: FakeNanophoto, key: ApiKey) -> None:
    async with aiohttp.ClientSession() as shared:
        client = VendorHttp(shared)
        assert client.session() is shared
        await client.request_json(
            "POST",
            fake.base_url + "/api/sora-2/check-status",
            key=key,
            json_body={"taskId": "t"},
            timeout_s=2.0,
            idempotent=True,
        )
        await client.close()
        assert not shared.closed  # a passed-in session belongs to the caller
        assert "Authorization" not in shared.headers
    (call,) = fake.calls("status")
    assert call.key_name == key.name and call.user_agent == USER_AGENT

    own = VendorHttp()
    session = own.session()
    await own.close()
    assert session.closed
