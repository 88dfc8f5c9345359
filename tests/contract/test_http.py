"""The shared HTTP client (``bot.providers.http``): which calls are repeated, how patiently, and with
what headers — against the fake nanophoto server on 127.0.0.1. Retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.providers.base import ApiKey
from bot.providers.http import USER_AGENT, RetryPolicy, TransportError, VendorHttp
from tests.contract.support import RecordedSleep, closed_port
from tests.fakes.nanophoto import FakeNanophoto


@pytest.fixture
async def fake() -> AsyncIterator[FakeNanophoto]:
    async with FakeNanophoto() as server:
        yield server


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
