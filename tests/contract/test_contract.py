"""The one contract every adapter keeps, run against each vendor's fake on 127.0.0.1 (``cases.py``).

What is the same for every vendor is tested here once: the lifecycle, the shared call discipline of
``bot.providers.adapter`` (no answer, an unreadable answer, a create without an id, an unknown
status word, a create never repeated), rejected keys, the registry and the capability flags. A
vendor's own suite keeps only what its protocol does differently. Retry sleeps are recorded, not
slept (``conftest.http``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.errors import InvalidRequest
from bot.providers.base import (
    ApiKey,
    ProviderError,
    RemoteTask,
    TaskSnapshot,
    TaskState,
    VideoProvider,
    VideoSource,
)
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProfileError
from bot.providers.registry import PROVIDER_KINDS, build_provider
from tests.contract.cases import CASES, VendorCase
from tests.contract.support import RecordedSleep, closed_port

MAX_POLLS = 50
GATEWAY_PAGE = "<html>Bad Gateway</html>"


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> VendorCase:
    chosen: VendorCase = request.param
    return chosen


@pytest.fixture
async def fake(case: VendorCase) -> AsyncIterator[Any]:
    """The case's fake; at teardown its exchanges must keep the vendor's published spec, if any."""
    async with case.open() as running:
        yield running
    problems = case.spec_problems(running)
    assert not problems, "\n".join(problems)


@pytest.fixture
def provider(case: VendorCase, fake: Any, http: VendorHttp) -> VideoProvider:
    built: VideoProvider = case.provider(fake, http)
    return built


def shown(snap: TaskSnapshot, expected: dict[str, Any] | Any) -> dict[str, Any]:
    """The fields of ``snap`` that ``expected`` names, to compare with it."""
    return {name: getattr(snap, name) for name in expected}


async def run_to_end(
    provider: VideoProvider, case: VendorCase, key: ApiKey
) -> tuple[RemoteTask, TaskSnapshot]:
    task = await provider.submit(case.request, key)
    assert task.remote_id, "the remote id is known as soon as the create returns"
    snap = task.snapshot
    for _ in range(MAX_POLLS):
        if snap is not None and snap.state in (TaskState.SUCCEEDED, TaskState.FAILED):
            return task, snap
        snap = await provider.poll(task, key)
    raise AssertionError(f"no terminal state after {MAX_POLLS} polls")


async def raises(coro: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await coro
    return info.value


# --------------------------------------------------------------------------- the lifecycle


async def test_success_ends_with_a_video_url(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.script_success(fake)
    _, snap = await run_to_end(provider, case, key)
    assert snap.state is TaskState.SUCCEEDED
    source = await provider.open_result(snap, key)
    assert source.url.startswith("http://127.0.0.1:")


async def test_failure_is_a_failed_snapshot_not_an_exception(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.script_failure(fake)
    _, snap = await run_to_end(provider, case, key)
    assert snap.state is TaskState.FAILED
    assert snap.error is not None and snap.error.message


async def test_unfinished_task_keeps_running(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    snaps = [await provider.poll(task, key) for _ in range(5)]
    assert shown(snaps[0], case.first_poll) == case.first_poll
    assert all(s.state in (TaskState.QUEUED, TaskState.RUNNING) for s in snaps)


async def test_completion_in_the_create_response(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.script_immediate(fake)

    task = await provider.submit(case.request, key)

    snap = task.snapshot
    assert snap is not None and snap.state is TaskState.SUCCEEDED
    assert snap.video_url == case.video_url(fake, task.remote_id)
    asked = len(fake.requests)
    source = await provider.open_result(snap, key)
    assert isinstance(source, VideoSource) and source.url == snap.video_url
    assert case.calls(fake, "status") == 0 and len(fake.requests) == asked  # nothing more to ask


@pytest.mark.parametrize("state", [TaskState.QUEUED, TaskState.RUNNING, TaskState.FAILED])
async def test_open_result_needs_a_finished_video(
    provider: VideoProvider, key: ApiKey, state: TaskState
) -> None:
    err = await raises(provider.open_result(TaskSnapshot(state=state), key))
    assert err.code == "NO_VIDEO"


async def test_an_unknown_status_word_counts_as_running_and_is_logged(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    fake.force("status", body=case.status_saying(fake, task.remote_id, "upscaling"))

    snap = await provider.poll(task, key)

    assert snap.state is TaskState.RUNNING
    assert f"task {task.remote_id} has unknown status 'upscaling'" in caplog.text


# --------------------------------------------------------------------------- faults at create


async def test_auth_error_at_submit_is_the_operators_and_final(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.auth_error_at_submit(fake)
    err = await raises(provider.submit(case.request, key))
    assert err.blame == "operator" and not err.retryable
    assert "admin" in err.user_message.lower()
    assert case.calls(fake, case.create_route) == 1


async def test_a_rejected_key_is_the_operators_at_create_and_at_poll(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    stale = ApiKey(name="stale", secret=SecretStr("revoked-key-0000"))

    at_create = await raises(provider.submit(case.request, stale))
    task = await provider.submit(case.request, key)
    at_poll = await raises(provider.poll(task, stale))

    for err in (at_create, at_poll):
        assert (err.code, err.blame, err.retryable, err.http_status) == (
            case.codes["auth"],
            "operator",
            False,
            401,
        )
        assert "API key" in err.user_message and "admin" in err.user_message
    assert fake.calls(case.create_route)[0].key_name is None


async def test_rate_limit_at_submit_is_flagged_for_the_scheduler(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.rate_limit_at_submit(fake)
    err = await raises(provider.submit(case.request, key))
    assert err.rate_limited and err.retryable
    assert case.calls(fake, case.create_route) == 1  # never retried blindly


@pytest.mark.parametrize("status", [500, 503])
async def test_a_server_error_at_create_is_never_repeated(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, sleeps: RecordedSleep, status: int
) -> None:
    fake.fail_next(case.create_route, status=status, times=3)

    err = await raises(provider.submit(case.request, key))

    assert (err.code, err.blame, err.retryable, err.http_status) == (
        case.codes["server"],
        "vendor",
        True,
        status,
    )
    assert case.calls(fake, case.create_route) == 1 and sleeps.delays == []
    assert case.jobs(fake) == {}


async def test_an_unreadable_create_is_final(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    # A 200 we cannot read may still have started (and billed) a video.
    fake.malformed_next(case.create_route, text="not json at all")

    err = await raises(provider.submit(case.request, key))

    assert (err.code, err.blame, err.retryable) == ("MALFORMED_RESPONSE", "vendor", False)
    assert case.calls(fake, case.create_route) == 1


async def test_a_create_answer_without_an_id_is_final(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    fake.force(case.create_route, body=dict(case.created_without_id))

    err = await raises(provider.submit(case.request, key))

    assert (err.code, err.blame, err.retryable) == ("MALFORMED_RESPONSE", "vendor", False)


async def test_a_slow_create_is_never_repeated(
    case: VendorCase, fake: Any, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    provider = case.provider(fake, http, request_timeout=0.2)
    fake.slow_next(case.create_route, 1.0)

    err = await raises(provider.submit(case.request, key))

    assert (err.code, err.retryable) == ("NO_RESPONSE", False)
    assert case.calls(fake, case.create_route) == 1 and sleeps.delays == []


async def test_an_unreachable_vendor_is_retryable_and_even_a_create_is_tried_again(
    case: VendorCase, fake: Any, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    provider = case.provider(fake, http, base_url=f"http://127.0.0.1:{closed_port()}")

    err = await raises(provider.submit(case.request, key))

    assert (err.code, err.retryable, err.blame) == ("UNREACHABLE", True, "vendor")
    assert len(sleeps.delays) == 2  # never sent, so the create itself was safe to repeat


# --------------------------------------------------------------------------- faults while polling


@pytest.mark.parametrize("status", [502, 503])
async def test_server_errors_on_poll_are_retried(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, sleeps: RecordedSleep, status: int
) -> None:
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    fake.fail_next("status", status=status, times=2)

    snap = await provider.poll(task, key)  # two 5xx absorbed by the idempotent retry

    assert shown(snap, case.first_poll) == case.first_poll
    assert [c.status for c in fake.calls("status")] == [status, status, 200]
    assert len(sleeps.delays) == 2


async def test_a_gateway_error_on_poll_after_all_attempts_is_retryable(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    task = await provider.submit(case.request, key)
    fake.malformed_next("status", status=502, text=GATEWAY_PAGE, times=3)

    err = await raises(provider.poll(task, key))

    assert (err.code, err.blame, err.retryable) == (case.codes["gateway"], "vendor", True)
    assert case.calls(fake, "status") == 3


async def test_an_unreadable_poll_is_retryable_and_the_next_one_reads_again(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey
) -> None:
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    fake.malformed_next("status")

    err = await raises(provider.poll(task, key))

    assert (err.code, err.blame, err.retryable) == ("MALFORMED_RESPONSE", "vendor", True)
    assert case.calls(fake, "status") == 1
    assert shown(await provider.poll(task, key), case.first_poll) == case.first_poll


async def test_a_slow_poll_is_retried(
    case: VendorCase, fake: Any, http: VendorHttp, key: ApiKey, sleeps: RecordedSleep
) -> None:
    provider = case.provider(fake, http, request_timeout=0.2)
    case.script_never(fake)
    task = await provider.submit(case.request, key)
    fake.slow_next("status", 1.0)

    assert shown(await provider.poll(task, key), case.first_poll) == case.first_poll
    assert case.calls(fake, "status") == 2 and len(sleeps.delays) == 1


# --------------------------------------------------------------------------- capabilities, registry


async def test_unknown_model_is_refused_naming_the_field(provider: VideoProvider, case: VendorCase) -> None:
    bad = case.request.model_copy(update={"model": "no-such-model"})
    with pytest.raises(InvalidRequest) as info:
        provider.capabilities.validate_request(bad)
    assert info.value.field == "model"


def test_the_image_flag_says_who_downloads_the_image(provider: VideoProvider, case: VendorCase) -> None:
    assert provider.capabilities.image_by_url is case.image_by_url


def test_prices_cover_every_combination_a_member_can_ask_for(provider: VideoProvider) -> None:
    missing = [p for s in provider.capabilities.specs for p in s.price_points() if p not in s.prices]
    assert not missing, missing


def test_the_registry_builds_the_adapter(case: VendorCase, fake: Any, http: VendorHttp) -> None:
    assert PROVIDER_KINDS[case.kind] is case.adapter
    provider = build_provider(case.profile(fake, name="team-profile"), http)
    assert isinstance(provider, case.adapter) and provider.name == "team-profile"
    with pytest.raises(ProfileError, match="kind"):
        build_provider(case.profile(fake, kind="sora-by-carrier-pigeon"), http)


# --------------------------------------------------------------------------- secrets


async def test_secrets_never_leave_the_adapter(
    provider: VideoProvider, case: VendorCase, fake: Any, key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = key.secret.get_secret_value()
    case.auth_error_at_submit(fake)
    err = await raises(provider.submit(case.request, key))
    assert secret not in str(err) and secret not in err.user_message
    assert all(secret not in r.getMessage() for r in caplog.records)
