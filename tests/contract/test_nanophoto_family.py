"""What every nanophoto kind does alike (``bot.providers.nanophoto_base``), run against each kind's fake.

The family shares one envelope (A5), one error table, failed tasks as answers (A6) and one hourly
budget per key (docs/vendors.md, "nanophoto: common rules"); each kind's own suite keeps only its
bodies and steps. Retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.providers.base import ApiKey, ProviderError, TaskState, VideoProvider
from bot.providers.http import VendorHttp
from tests.contract.cases import NANOPHOTO_CASES, VendorCase
from tests.contract.support import RecordedSleep, closed_port, vendor_cost
from tests.fakes.nanophoto import RATE_LIMIT_BODY
from tests.fakes.vendor import FakeClock

# Every documented code of every kind, with its HTTP status, who can fix it and whether a poll may
# try again (docs/vendors.md, "nanophoto Sora 2" and "nanophoto TVC").
DOCUMENTED = {
    "LOGIN_REQUIRED": (401, "operator", False),
    "API_KEY_RATE_LIMIT_EXCEEDED": (429, "operator", True),
    "INSUFFICIENT_CREDITS": (402, "operator", False),
    "INVALID_INPUT": (400, "operator", False),
    "PROMPT_REQUIRED": (400, "user", False),
    "IMAGE_REQUIRED": (400, "user", False),
    "IMAGE_URLS_REQUIRED": (400, "user", False),
    "REFERENCE_IMAGE_URL_REQUIRED": (400, "user", False),
    "GENERATION_FAILED": (500, "vendor", False),
    "TASK_ID_REQUIRED": (400, "operator", False),
    "TASK_NOT_FOUND": (404, "operator", False),
    "RECORD_NOT_FOUND": (404, "operator", False),
    "UNAUTHORIZED": (403, "operator", False),
    "INTERNAL_ERROR": (500, "vendor", True),
}


@pytest.fixture(params=NANOPHOTO_CASES, ids=[c.name for c in NANOPHOTO_CASES])
def case(request: pytest.FixtureRequest) -> VendorCase:
    chosen: VendorCase = request.param
    return chosen


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(case: VendorCase, clock: FakeClock) -> AsyncIterator[Any]:
    async with case.open(clock=clock) as running:
        yield running


@pytest.fixture
def provider(case: VendorCase, fake: Any, http: VendorHttp) -> VideoProvider:
    built: VideoProvider = case.provider(fake, http)
    return built


async def raises(coro: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await coro
    return info.value


def price(provider: VideoProvider, case: VendorCase) -> int:
    """The vendor credits ``case.request`` costs."""
    return vendor_cost(provider, case.request)


# --------------------------------------------------------------------------- the envelope (A5)


@pytest.mark.parametrize("code", sorted(DOCUMENTED))
async def test_every_documented_code_is_mapped_at_create(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, sleeps: RecordedSleep, code: str
) -> None:
    status, blame, retryable = DOCUMENTED[code]
    fake.fail_next("generate", status=status, code=code, error="vendor words")

    err = await raises(provider.submit(case.request, key))

    assert (err.code, err.blame, err.retryable, err.http_status) == (code, blame, retryable, status)
    assert err.detail == "vendor words"
    assert code not in err.user_message and err.user_message.endswith(".")
    assert case.calls(fake, "generate") == 1 and sleeps.delays == []  # a create is never repeated


@pytest.mark.parametrize("code", sorted(set(DOCUMENTED) - {"GENERATION_FAILED"}))
async def test_every_documented_code_is_mapped_at_poll(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, code: str
) -> None:
    status, blame, retryable = DOCUMENTED[code]
    task = await provider.submit(case.request, key)
    fake.fail_next("status", status=status, code=code, error="vendor words", times=3)

    err = await raises(provider.poll(task, key))

    assert (err.code, err.blame, err.retryable, err.http_status) == (code, blame, retryable, status)
    assert case.calls(fake, "status") == (3 if status >= 500 else 1)


async def test_an_unknown_error_code_keeps_the_raw_code(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    task = await provider.submit(case.request, key)
    fake.error_200_next("status", code="MODEL_OVERLOADED", error="Upstream model is overloaded")

    err = await raises(provider.poll(task, key))

    assert err.code == "MODEL_OVERLOADED" and "Upstream model is overloaded" in err.detail
    assert "MODEL_OVERLOADED" not in err.user_message and "unexpected" in err.user_message
    assert (err.blame, err.http_status) == ("vendor", 200)


async def test_success_false_without_a_code_is_an_error(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    fake.force("generate", body={"success": False, "error": "Something broke", "recordId": "tvc_x"})

    err = await raises(provider.submit(case.request, key))

    assert err.code == "HTTP_200" and "Something broke" in err.detail


async def test_a_completion_without_its_video_is_asked_again(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    fake.force("status", body={"success": True, "status": "completed", "recordId": task.remote_id})

    err = await raises(provider.poll(task, key))

    assert (err.code, err.retryable) == ("MALFORMED_RESPONSE", True)
    assert (await provider.poll(task, key)).state is TaskState.RUNNING


# --------------------------------------------------------------------------- the retry rule (A6)


async def test_5xx_and_internal_errors_on_poll_are_retried(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, sleeps: RecordedSleep
) -> None:
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    fake.fail_next("status", status=503)
    fake.fail_next("status", status=500, code="INTERNAL_ERROR")

    snap = await provider.poll(task, key)

    assert {name: getattr(snap, name) for name in case.first_poll} == case.first_poll
    assert [c.status for c in fake.calls("status")] == [503, 500, 200]
    assert len(sleeps.delays) == 2


# --------------------------------------------------------------------------- the hourly budget


async def test_rate_limit_is_retryable_and_counts_creates_and_polls(
    case: VendorCase, clock: FakeClock, http: VendorHttp, sleeps: RecordedSleep
) -> None:
    async with case.open(clock=clock, rate_limit=2) as fake:
        provider, key = case.provider(fake, http), fake.api_key()
        case.script_never(fake)
        task = await provider.submit(case.request, key)
        await provider.poll(task, key)

        err = await raises(provider.poll(task, key))

        assert err.rate_limited and err.retryable and err.retry_after is None
        assert (err.code, err.http_status, err.blame) == ("API_KEY_RATE_LIMIT_EXCEEDED", 429, "operator")
        assert err.detail == RATE_LIMIT_BODY["error"]
        assert fake.calls("status")[-1].status == 429 and case.calls(fake, "status") == 2
        assert sleeps.delays == []  # a 429 is left to the engine's budget, not retried here
        # The other key has its own budget; the window slides with the clock.
        await provider.submit(case.request, fake.api_key("key-b"))
        clock.advance(3600)
        assert (await provider.poll(task, key)).state is TaskState.RUNNING
        assert fake.calls_per_key == {"key-a": 4, "key-b": 1}


# --------------------------------------------------------------------------- secrets


async def test_the_key_never_appears_in_errors_or_logs(
    case: VendorCase, clock: FakeClock, http: VendorHttp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []
    async with case.open(clock=clock, rate_limit=2) as fake:
        key = fake.api_key()
        secret = key.secret.get_secret_value()
        provider = case.provider(fake, http, request_timeout=0.2)
        fake.credits = price(provider, case)  # enough for exactly one video
        task = await provider.submit(case.request, key)
        # The vendor (or a proxy) echoing the key back must not leak it either.
        fake.fail_next("status", status=400, code="WEIRD", error=f"bad token {secret}")
        fake.malformed_next("status", text=f"<html>Bearer {secret}</html>")
        fake.force("status", status=500, body={"status": "failed", "error": f"key {secret} refused"})
        fake.slow_next("generate", 1.0)
        fake.fail_next("status", status=503, times=3)
        errors.append(await raises(provider.poll(task, key)))
        errors.append(await raises(provider.poll(task, key)))
        failed = await provider.poll(task, key)  # the A6 failed body echoing the key
        for call in (
            provider.submit(case.request, key),  # slow: no answer in time
            provider.poll(task, key),  # 503 x3
            provider.submit(case.request, key),  # 402: the credits are spent
            provider.poll(task, key),  # 429: forced answers do not count, the 402 did
        ):
            errors.append(await raises(call))
    unreachable = case.provider(fake, http, base_url=f"http://127.0.0.1:{closed_port()}")
    errors.append(await raises(unreachable.poll(task, key)))

    assert [e.code for e in errors] == [
        "WEIRD",
        "MALFORMED_RESPONSE",
        "NO_RESPONSE",
        "INTERNAL_ERROR",
        "INSUFFICIENT_CREDITS",
        "API_KEY_RATE_LIMIT_EXCEEDED",
        "UNREACHABLE",
    ]
    assert failed.state is TaskState.FAILED and failed.raw["error"] == "key *** refused"
    texts: list[str] = [repr(failed), failed.model_dump_json()]
    for e in errors:
        texts += [str(e), repr(e), *map(str, e.args), *(str(v) for v in vars(e).values())]
    texts += [r.getMessage() for r in caplog.records] + [str(r.exc_text) for r in caplog.records]
    assert caplog.records, "the failures above should have been logged"
    assert not [t for t in texts if secret in t]
    assert secret not in caplog.text
    assert all(r.key_name == "key-a" for r in fake.calls())  # the key was sent, just never echoed
