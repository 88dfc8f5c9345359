"""The one contract every adapter keeps, run against each vendor's fake on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.errors import InvalidRequest
from bot.providers.base import ProviderError, RemoteTask, TaskSnapshot, TaskState, VideoProvider
from bot.providers.http import RetryPolicy, VendorHttp
from tests.contract.cases import CASES, VendorCase

MAX_POLLS = 50


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> VendorCase:
    chosen: VendorCase = request.param
    return chosen


@pytest.fixture
async def fake(case: VendorCase) -> AsyncIterator[Any]:
    async with case.open() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[VendorHttp]:
    async with VendorHttp(retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002)) as client:
        yield client


@pytest.fixture
def provider(case: VendorCase, fake: Any, http: VendorHttp) -> VideoProvider:
    built: VideoProvider = case.provider(fake, http)
    return built


async def run_to_end(provider: VideoProvider, case: VendorCase, fake: Any) -> tuple[RemoteTask, TaskSnapshot]:
    key = case.profile(fake).keys[0]
    task = await provider.submit(case.request, key)
    assert task.remote_id, "the remote id is known as soon as the create returns"
    snap = task.snapshot
    for _ in range(MAX_POLLS):
        if snap is not None and snap.state in (TaskState.SUCCEEDED, TaskState.FAILED):
            return task, snap
        snap = await provider.poll(task, key)
    raise AssertionError(f"no terminal state after {MAX_POLLS} polls")


async def test_success_ends_with_a_video_url(provider: VideoProvider, case: VendorCase, fake: Any) -> None:
    case.script_success(fake)
    _, snap = await run_to_end(provider, case, fake)
    assert snap.state is TaskState.SUCCEEDED
    source = await provider.open_result(snap, case.profile(fake).keys[0])
    assert source.url.startswith("http://127.0.0.1:")


async def test_failure_is_a_failed_snapshot_not_an_exception(
    provider: VideoProvider, case: VendorCase, fake: Any
) -> None:
    case.script_failure(fake)
    _, snap = await run_to_end(provider, case, fake)
    assert snap.state is TaskState.FAILED
    assert snap.error is not None and snap.error.message


async def test_unfinished_task_keeps_running(provider: VideoProvider, case: VendorCase, fake: Any) -> None:
    case.script_never(fake)
    key = case.profile(fake).keys[0]
    task = await provider.submit(case.request, key)
    for _ in range(5):
        snap = await provider.poll(task, key)
        assert snap.state in (TaskState.QUEUED, TaskState.RUNNING)


async def test_auth_error_at_submit_is_the_operators_and_final(
    provider: VideoProvider, case: VendorCase, fake: Any
) -> None:
    case.auth_error_at_submit(fake)
    with pytest.raises(ProviderError) as info:
        await provider.submit(case.request, case.profile(fake).keys[0])
    assert info.value.blame == "operator" and not info.value.retryable
    assert "admin" in info.value.user_message.lower()
    assert case.submit_calls(fake) == 1


async def test_rate_limit_at_submit_is_flagged_for_the_scheduler(
    provider: VideoProvider, case: VendorCase, fake: Any
) -> None:
    case.rate_limit_at_submit(fake)
    with pytest.raises(ProviderError) as info:
        await provider.submit(case.request, case.profile(fake).keys[0])
    assert info.value.rate_limited and info.value.retryable
    assert case.submit_calls(fake) == 1  # never retried blindly


async def test_server_errors_on_poll_are_retried(
    provider: VideoProvider, case: VendorCase, fake: Any
) -> None:
    case.script_success(fake)
    key = case.profile(fake).keys[0]
    task = await provider.submit(case.request, key)
    case.server_error_on_poll(fake, 2)
    snap = await provider.poll(task, key)  # two 503s absorbed by the idempotent retry
    assert snap.state in (TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCEEDED)


async def test_unknown_model_is_refused_naming_the_field(provider: VideoProvider, case: VendorCase) -> None:
    bad = case.request.model_copy(update={"model": "no-such-model"})
    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(bad)
    assert info.value.field == case.unknown_model_field


async def test_secrets_never_leave_the_adapter(
    provider: VideoProvider, case: VendorCase, fake: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = case.profile(fake).keys[0].secret.get_secret_value()
    case.auth_error_at_submit(fake)
    with pytest.raises(ProviderError) as info:
        await provider.submit(case.request, case.profile(fake).keys[0])
    assert secret not in str(info.value) and secret not in info.value.user_message
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_prices_cover_every_model_and_duration(provider: VideoProvider) -> None:
    caps = provider.capabilities
    missing = [(m, d) for m in caps.models for d in caps.durations if (m, d) not in provider.default_prices]
    assert not missing or all(d == 25 for _, d in missing), missing
