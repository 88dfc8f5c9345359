"""The nanophoto Veo 3.1 adapter against the fake Veo server (docs/vendors.md, "nanophoto Veo 3.1").

Only what Veo does differently is here — shots, the ``taskIds`` pairs, resolutions, the joined
video, the cadence by size — what every adapter does is in ``test_contract.py``, what every nanophoto
kind does in ``test_nanophoto_family.py``. Retry sleeps are recorded, not slept.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.errors import InvalidRequest
from bot.providers.base import (
    ApiKey,
    ImageToVideo,
    Kind,
    Orientation,
    ProviderError,
    ReferenceToVideo,
    RemoteTask,
    Shot,
    StoryboardRequest,
    TaskState,
    TextToVideo,
)
from bot.providers.capabilities import PricePoint
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.nanophoto_veo import VEO_TIMING, NanophotoVeo
from bot.providers.profiles import ProfileError, ProviderProfile, Timing
from bot.providers.registry import build_provider
from storage import jobs, ledger
from tests.backend import open_database
from tests.contract.support import poll_until_done, vendor_cost
from tests.fakes.nanophoto_veo import FakeNanophotoVeo, VeoScript

PROMPT = "A golden retriever running on a beach at sunset, cinematic lighting"
FIRST = "https://cdn.example.com/attachments/1/2/first.png"
LAST = "https://cdn.example.com/attachments/1/2/last.png"
REFS = tuple(f"https://cdn.example.com/attachments/1/2/ref{n}.png" for n in range(1, 5))


def board(count: int, *, prompt: str = "", **fields: Any) -> StoryboardRequest:
    shots = tuple(Shot(scene=f"Scene {n}", duration=8) for n in range(1, count + 1))
    return StoryboardRequest(shots=shots, duration=8 * count, prompt=prompt, **fields)


@pytest.fixture
async def fake() -> AsyncIterator[FakeNanophotoVeo]:
    async with FakeNanophotoVeo() as server:
        yield server


@pytest.fixture
def provider(fake: FakeNanophotoVeo, http: VendorHttp) -> NanophotoVeo:
    return NanophotoVeo(fake.profile(), http)


# --------------------------------------------------------------------------- wire bodies


async def test_text_to_video_is_one_shot_and_its_own_video(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
    snaps = await poll_until_done(provider, task, key)

    (created,) = fake.calls("generate")
    assert created.json == {
        "shots": [
            {"id": "shot-1", "prompt": PROMPT, "generationType": "TEXT_2_VIDEO", "aspectRatio": "9:16"}
        ],
        "resolution": "720p",
    }
    pair = {"shotId": "shot-1", "taskId": task.remote_id}
    assert [c.json for c in fake.calls("status")] == [{"taskIds": [pair], "resolution": "720p"}] * 2
    assert [s.state for s in snaps] == [TaskState.RUNNING, TaskState.SUCCEEDED]
    assert snaps[-1].video_url == fake.video_url(task.remote_id)  # the shot's own video (V10)
    assert snaps[0].step is None  # one shot: no step counter
    assert task.extra == {"taskIds": json.dumps([pair]), "resolution": "720p"}


@pytest.mark.parametrize(
    ("req", "shot"),
    [
        (
            ImageToVideo(prompt=PROMPT, image_url=FIRST, duration=8, orientation=Orientation.LANDSCAPE),
            {"generationType": "FIRST_AND_LAST_FRAMES_2_VIDEO", "aspectRatio": "16:9", "imageUrls": [FIRST]},
        ),
        (
            ImageToVideo(prompt=PROMPT, image_url=FIRST, end_image_url=LAST, duration=8),
            {
                "generationType": "FIRST_AND_LAST_FRAMES_2_VIDEO",
                "aspectRatio": "9:16",
                "imageUrls": [FIRST, LAST],
            },
        ),
        (
            ReferenceToVideo(prompt=PROMPT, image_urls=REFS[:3], duration=8),
            {"generationType": "REFERENCE_2_VIDEO", "aspectRatio": "9:16", "imageUrls": list(REFS[:3])},
        ),
    ],
    ids=["first-frame", "first-and-last-frame", "three-references"],
)
async def test_image_modes_send_their_type_and_pictures(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey, req: Any, shot: dict[str, Any]
) -> None:
    task = await provider.submit(req, key)
    assert fake.calls("generate")[0].json == {
        "shots": [{"id": "shot-1", "prompt": PROMPT, **shot}],
        "resolution": "720p",
    }
    assert (await poll_until_done(provider, task, key))[-1].state is TaskState.SUCCEEDED


@pytest.mark.parametrize("resolution", ["1080p", "4k"])
async def test_a_high_resolution_goes_to_generate_and_to_every_status_check(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey, resolution: str
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=8, resolution=resolution), key)
    await poll_until_done(provider, task, key)

    assert fake.calls("generate")[0].json["resolution"] == resolution  # V7: lowercase 4k
    assert fake.job_of(task.remote_id).resolutions_asked == [resolution, resolution]  # V4
    assert (
        vendor_cost(provider, TextToVideo(prompt=PROMPT, duration=8, resolution=resolution))
        == {
            "1080p": 14,
            "4k": 30,
        }[resolution]
    )


async def test_a_storyboard_sends_numbered_shots_with_the_prompt_and_one_ratio(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    req = board(3, prompt="Film noir, rain", orientation=Orientation.LANDSCAPE)
    task = await provider.submit(req, key)

    shots = fake.calls("generate")[0].json["shots"]
    assert [s["id"] for s in shots] == ["shot-1", "shot-2", "shot-3"]  # V5
    assert [s["prompt"] for s in shots] == [f"Film noir, rain\nScene {n}" for n in (1, 2, 3)]  # V8
    assert {s["aspectRatio"] for s in shots} == {"16:9"} and {s["generationType"] for s in shots} == {
        "TEXT_2_VIDEO"
    }
    assert all("imageUrls" not in s for s in shots)
    pairs = json.loads(task.extra["taskIds"])
    assert [p["shotId"] for p in pairs] == ["shot-1", "shot-2", "shot-3"]
    assert fake.calls("status") == [] and vendor_cost(provider, req) == 30


async def test_shots_run_one_after_another_and_the_joined_video_is_delivered(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    fake.script_next(VeoScript(polls_per_shot=2))
    task = await provider.submit(board(3), key)
    snaps = await poll_until_done(provider, task, key)

    assert [(s.state, s.step, s.step_count) for s in snaps[:-1]] == [
        (TaskState.RUNNING, k, 3) for k in (1, 1, 2, 2, 3, 3)
    ]
    assert (snaps[-1].step, snaps[-1].step_count) == (3, 3)
    assert snaps[-1].video_url == fake.video_url(fake.job_of(task.remote_id).job_id)  # the joined one


async def test_per_shot_results_are_found_under_another_key(http: VendorHttp) -> None:
    async with FakeNanophotoVeo(result_key="results", shot_status_key="state") as fake:
        provider, key = NanophotoVeo(fake.profile(), http), fake.api_key()
        fake.script_next(VeoScript(polls_per_shot=1))
        task = await provider.submit(board(2), key)
        snaps = await poll_until_done(provider, task, key)
        assert [s.step for s in snaps] == [1, 2, 2]  # finished shots counted by their video
        single = await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
        assert (await poll_until_done(provider, single, key))[-1].video_url == fake.video_url(
            single.remote_id
        )


async def test_shots_without_a_joined_video_are_the_video_in_parts_in_request_order(
    http: VendorHttp,
) -> None:
    async with FakeNanophotoVeo(joined_key=None) as fake:
        provider, key = NanophotoVeo(fake.profile(), http), fake.api_key()
        task = await provider.submit(board(3), key)
        snaps = await poll_until_done(provider, task, key)  # completed: three shot links, none joined

    done = snaps[-1]
    assert done.state is TaskState.SUCCEEDED and done.video_url is None
    assert done.video_parts == tuple(fake.shot_url(task.remote_id, n) for n in (1, 2, 3))
    source = await provider.open_result(done, key)
    assert (source.url, source.parts) == (None, done.video_parts)  # what the runner stores


async def test_parts_come_in_request_order_whatever_order_the_body_lists_them(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    task = await provider.submit(board(3), key)
    pairs = json.loads(task.extra["taskIds"])
    shots = [
        {**p, "status": "completed", "videoUrl": f"https://cdn.example/{p['shotId']}.mp4"} for p in pairs
    ]
    fake.force("status", body={"success": True, "status": "completed", "shots": shots[::-1]})
    done = await provider.poll(task, key)
    assert done.video_parts == tuple(f"https://cdn.example/shot-{n}.mp4" for n in (1, 2, 3))


async def test_a_joined_video_wins_over_the_parts(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    task = await provider.submit(board(2), key)
    snaps = await poll_until_done(provider, task, key)  # the fake joins by default, and lists the shots
    assert snaps[-1].video_url == fake.video_url(fake.job_of(task.remote_id).job_id)
    assert snaps[-1].video_parts == ()


async def test_a_completion_missing_a_shots_link_is_asked_again(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    task = await provider.submit(board(2), key)
    pairs = json.loads(task.extra["taskIds"])
    shots = [{**pairs[0], "videoUrl": "https://cdn.example/1.mp4"}, {**pairs[1], "status": "completed"}]
    fake.force("status", body={"success": True, "status": "completed", "shots": shots})
    with pytest.raises(ProviderError) as info:
        await provider.poll(task, key)  # never one shot passed off as the whole, nor half the parts
    assert info.value.retryable


async def test_a_completion_in_the_create_answer_is_seen_at_once(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    fake.script_next(VeoScript(immediate=True))
    task = await provider.submit(board(2), key)
    assert task.snapshot is not None and task.snapshot.state is TaskState.SUCCEEDED
    assert task.snapshot.video_url == fake.video_url(fake.job_of(task.remote_id).job_id)


async def test_a_restarted_bot_polls_from_the_stored_extra(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey, http: VendorHttp
) -> None:
    task = await provider.submit(board(2), key)
    stored = json.loads(
        json.dumps({"remote_id": task.remote_id, "extra": task.extra})
    )  # as the job row keeps it
    assert all(isinstance(v, str) for v in stored["extra"].values())

    again = NanophotoVeo(fake.profile(), http)
    snaps = await poll_until_done(again, RemoteTask(**stored), key)

    assert snaps[-1].state is TaskState.SUCCEEDED
    assert {json.dumps(c.json, sort_keys=True) for c in fake.calls("status")} == {
        json.dumps({"taskIds": json.loads(task.extra["taskIds"]), "resolution": "720p"}, sort_keys=True)
    }


# --------------------------------------------------------------------------- failures


async def test_a_shot_that_fails_fails_the_job_where_it_stopped(http: VendorHttp) -> None:
    async with FakeNanophotoVeo(credits=100) as fake:
        provider, key = NanophotoVeo(fake.profile(), http), fake.api_key()
        fake.script_next(VeoScript(outcome="failed", fail_at_shot=2))
        task = await provider.submit(board(3), key)
        assert fake.credits == 70
        snaps = await poll_until_done(provider, task, key)
        assert fake.credits == 100  # refunded by the vendor

    failed = snaps[-1]
    assert (failed.state, failed.step, failed.step_count) == (TaskState.FAILED, 2, 3)
    assert failed.error is not None and failed.error.code == "GENERATION_FAILED"


async def test_a_generate_answer_saying_failed_did_not_start(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    fake.force(
        "generate", body={"success": True, "status": "failed", "shots": [{"shotId": "shot-1", "taskId": "t"}]}
    )
    with pytest.raises(ProviderError) as info:
        await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
    assert (info.value.code, info.value.retryable, info.value.vendor_refunds) == (
        "GENERATION_FAILED",
        False,
        True,
    )


@pytest.mark.parametrize(
    "shots",
    [
        [],
        [{"shotId": "shot-1"}],
        [{"shotId": "shot-1", "taskId": "t1"}],
        [{"taskId": "t1"}, {"taskId": "t2"}],
    ],
    ids=["none", "no-task-id", "one-of-two", "no-shot-id"],
)
async def test_a_generate_answer_missing_a_shots_task_is_final(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey, shots: list[dict[str, str]]
) -> None:
    fake.force("generate", body={"success": True, "status": "processing", "shots": shots})
    with pytest.raises(ProviderError) as info:
        await provider.submit(board(2), key)
    assert (info.value.code, info.value.retryable) == ("MALFORMED_RESPONSE", False)


@pytest.mark.parametrize(
    ("route", "code", "status", "blame"),
    [
        ("generate", "SHOTS_REQUIRED", 400, "operator"),
        ("generate", "INVALID_IMAGE_COUNT", 400, "user"),
        ("status", "TASK_IDS_REQUIRED", 400, "operator"),
    ],
)
async def test_veos_own_codes(
    fake: FakeNanophotoVeo,
    provider: NanophotoVeo,
    key: ApiKey,
    route: str,
    code: str,
    status: int,
    blame: str,
) -> None:
    task = await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key) if route == "status" else None
    fake.fail_next(route, status=status, code=code, error="vendor words")  # type: ignore[arg-type]
    call = provider.poll(task, key) if task else provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
    with pytest.raises(ProviderError) as info:
        await call
    assert (info.value.code, info.value.blame, info.value.retryable) == (code, blame, False)
    assert code not in info.value.user_message


async def test_a_model_no_longer_served_is_its_own_error(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey
) -> None:
    running = await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
    fake.stop_serving()

    with pytest.raises(ProviderError) as at_create:
        await provider.submit(TextToVideo(prompt=PROMPT, duration=8), key)
    with pytest.raises(ProviderError) as at_poll:
        await provider.poll(running, key)  # raised, not a failed snapshot: the engine sees the flag

    for err in (at_create.value, at_poll.value):
        assert (err.code, err.model_unavailable, err.blame, err.retryable) == (
            "MODEL_NOT_AVAILABLE",
            True,
            "vendor",
            False,
        )
        assert err.vendor_refunds and "no longer offers" in err.user_message
    assert fake.count(route="status") == 1  # never retried


# --------------------------------------------------------------------------- refused before any call


@pytest.mark.parametrize(
    ("req", "field", "allowed"),
    [
        (board(2, resolution="1080p"), "resolution", "720p"),
        (board(22), "shots", "1 to 21 shots"),
        (ReferenceToVideo(prompt=PROMPT, image_urls=REFS, duration=8), "reference", "1 to 3 pictures"),
        (ReferenceToVideo(prompt=PROMPT, image_urls=(), duration=8), "reference", "1 to 3 pictures"),
        (TextToVideo(prompt=PROMPT, duration=10), "duration", "8 s"),
        (TextToVideo(prompt=PROMPT, duration=8, resolution="4K"), "resolution", "720p, 1080p, 4k"),
        (TextToVideo(prompt="x" * 1001, duration=8), "prompt", "at most 1000 characters"),
        (board(2, prompt="p" * 995), "shot 1", "at most 4 characters, with the storyboard's prompt before each shot"),
        (StoryboardRequest(shots=(Shot(scene="a", duration=8),), duration=16), "duration", "8 s per shot"),
    ],
    ids=["1080p-two-shots", "22-shots", "4-references", "no-reference", "10-s", "upper-4K", "long-prompt",
         "prompt-plus-scene", "wrong-total"],
)  # fmt: skip
async def test_invalid_requests_are_refused_naming_what_is_allowed(
    fake: FakeNanophotoVeo, provider: NanophotoVeo, key: ApiKey, req: Any, field: str, allowed: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        await provider.submit(req, key)
    assert (info.value.field, info.value.allowed) == (field, allowed)
    assert fake.requests == []


def test_capabilities_and_prices(provider: NanophotoVeo) -> None:
    caps = provider.capabilities
    spec = caps.spec("veo-3.1")
    assert (spec.label, spec.family, caps.image_by_url, spec.end_frame, spec.max_references) == (
        "Veo 3.1",
        "veo",
        True,
        True,
        3,
    )
    assert {k.value for k in spec.kinds} == {"text", "image", "reference", "storyboard"}
    assert spec.prices[PricePoint("veo-3.1", 168, "720p")] == 210
    assert PricePoint("veo-3.1", 16, "1080p") not in spec.price_points()  # single shot only
    assert caps.allows("veo-3.1", Kind.TEXT, resolution="4k")
    assert not caps.allows("veo-3.1", Kind.STORYBOARD, resolution="4k", shots=2)
    assert vendor_cost(provider, board(21)) == 210


def test_a_profile_narrows_veo_or_is_refused(fake: FakeNanophotoVeo, http: VendorHttp) -> None:
    short = NanophotoVeo(fake.profile(durations=(8, 16, 24)), http)
    assert short.capabilities.spec("veo-3.1").shots is not None
    assert short.capabilities.spec("veo-3.1").shots.max_shots == 3  # type: ignore[union-attr]
    with pytest.raises(ProfileError, match="durations"):
        NanophotoVeo(fake.profile(durations=(10,)), http)
    with pytest.raises(ProfileError, match="models"):
        NanophotoVeo(fake.profile(models=("veo-3.0",)), http)
    assert build_provider(fake.profile(retired=("veo-3.1",)), http).capabilities.live_models == ()


# --------------------------------------------------------------------------- cadence by size (V1, V2)


@pytest.mark.parametrize(
    ("count", "first", "every", "timeout"),
    [
        (1, 90, 20, 16),
        (2, 120, 20, 22),
        (3, 120, 60, 28),
        (8, 120, 60, 58),
        (9, 120, 120, 64),
        (21, 120, 120, 136),
    ],
)
def test_the_cadence_grows_with_the_shots(
    fake: FakeNanophotoVeo, http: VendorHttp, count: int, first: float, every: float, timeout: float
) -> None:
    unset = ProviderProfile(name="veo", kind="nanophoto_veo", base_url=fake.base_url, keys=fake.api_keys())
    provider = NanophotoVeo(unset, http)  # no [timing] table: V1/V2 as they are (VEO_TIMING for one shot)
    timing = provider.timing_for(board(count) if count > 1 else TextToVideo(prompt=PROMPT, duration=8))
    assert (timing.first_poll, timing.poll_interval, timing.timeout / 60) == pytest.approx(
        (first, every, timeout)
    )
    assert timing.expected == pytest.approx(VEO_TIMING.expected * count)


def test_a_profiles_own_timing_is_scaled_and_capped(fake: FakeNanophotoVeo, http: VendorHttp) -> None:
    own = Timing(expected=10, first_poll=9, poll_interval=2, timeout=160, backoff_max=1)
    provider = NanophotoVeo(fake.profile(timing=own), http)
    one, many = provider.timing_for(TextToVideo(prompt=PROMPT, duration=8)), provider.timing_for(board(21))
    assert one == own.model_copy(update={"backoff_max": 2})
    assert (many.first_poll, many.poll_interval, many.timeout) == pytest.approx((12, 12, 1360))  # x 136/16


async def test_the_fake_refuses_what_the_vendor_refuses(
    fake: FakeNanophotoVeo, http: VendorHttp, key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    base = {"id": "shot-1", "prompt": "x", "generationType": "TEXT_2_VIDEO", "aspectRatio": "16:9"}
    for body, code in [
        ({"shots": [base], "resolution": "4K"}, "INVALID_INPUT"),
        ({"shots": [base, {**base, "id": "shot-2"}], "resolution": "1080p"}, "INVALID_INPUT"),
        ({"shots": [base, base]}, "INVALID_INPUT"),
        ({"shots": [{**base, "imageUrls": [FIRST]}]}, "INVALID_IMAGE_COUNT"),
        (
            {"shots": [{**base, "generationType": "REFERENCE_2_VIDEO", "imageUrls": list(REFS)}]},
            "INVALID_IMAGE_COUNT",
        ),
        (
            {"shots": [{**base, "generationType": "REFERENCE_2_VIDEO", "imageUrls": ["data:x"]}]},
            "IMAGE_URLS_REQUIRED",
        ),
        ({"shots": []}, "SHOTS_REQUIRED"),
        ({"shots": [{**base, "prompt": " "}]}, "PROMPT_REQUIRED"),
    ]:
        resp = await http.request_json(
            "POST",
            fake.base_url + "/api/veo-3/generate",
            key=key,
            json_body=body,
            timeout_s=2,
            idempotent=False,
        )
        assert resp.data["errorCode"] == code, body  # type: ignore[index]
    assert fake.jobs == {}


# --------------------------------------------------------------------------- through the real engine


async def test_the_engine_gives_a_storyboard_the_time_its_shots_need(
    tmp_path: Path, fake: FakeNanophotoVeo
) -> None:
    db = await open_database(tmp_path / "veo.db")
    seen: list[JobEvent] = []

    class Recorder:
        async def on_job_event(self, event: JobEvent) -> None:
            seen.append(event)

    try:
        async with VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01)) as http:
            profile = fake.profile()
            provider = NanophotoVeo(profile, http)
            engine = Engine(db, {profile.name: profile}, {profile.name: provider})
            engine.subscribe(Recorder())
            async with db.transaction() as tx:
                await ledger.grant(tx, 1, 2, 50, actor_id=None, reason="test")
            try:
                req = board(2, prompt="Neon city")
                job = await engine.admission.enqueue(JobOrigin(guild_id=1, channel_id=3, user_id=2), req)
                assert job.cost == 20
                async with asyncio.timeout(10):
                    await engine.wait_idle()
            finally:
                await engine.stop()
        row = await jobs.get(db, job.id)
        assert row is not None and row.state.value == "succeeded"
        assert row.deadline_at is not None and row.submitted_at is not None
        assert row.deadline_at - row.submitted_at == pytest.approx(provider.timing_for(req).timeout)
        assert provider.timing_for(req).timeout == pytest.approx(profile.timing.timeout * 22 / 16)  # V2
        assert row.video_url == fake.video_url(fake.job_of(row.remote_id or "").job_id)
        steps = [(e.job.step, e.job.step_count) for e in seen if e.job.state == "running" and e.job.step]
        assert steps[0] == (1, 2) and steps[-1][0] == 2
        assert await ledger.balance(db, 1, 2) == 30
    finally:
        await db.close()
