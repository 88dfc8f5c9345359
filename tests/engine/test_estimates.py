"""Estimates learn how long the vendor took — its own figure where it gives one, else the middle of
the interval the polls pin the finish to — store it with the job, and a restart learns it again."""

from __future__ import annotations

import pytest

from bot.engine.estimates import key_of
from bot.providers.base import Shot, StoryboardRequest, TextToVideo
from bot.providers.openai_videos_objects import took_seconds
from bot.providers.profiles import Timing
from storage import jobs
from tests.engine.conftest import Harness, settle
from tests.fakes.nanophoto import TaskScript
from tests.fakes.nanophoto_veo import FakeNanophotoVeo

PROMPT = TextToVideo(prompt="a glass of water catching the morning light")


async def test_the_vendors_generation_time_is_learnt_and_outlives_a_restart(harness: Harness) -> None:
    h = harness
    await h.grant(100)
    h.fake.script_next(*[TaskScript(generation_time=s) for s in (40, 42, 44)])
    engine, _ = await h.make()
    made = [await engine.admission.enqueue(h.origin, PROMPT) for _ in range(3)]
    await settle(engine)
    rows = [await jobs.get(h.db, j.id) for j in made]
    # Each job gets the figure of the task its create made; creates on two keys race to the vendor.
    assert sorted(r.generation_seconds or 0 for r in rows if r is not None) == [40.0, 42.0, 44.0]
    assert engine.history.typical(key_of(rows[0]), 1.0) == 42.0  # seconds the vendor took, not ours
    await engine.stop()

    restarted, _ = await h.make()
    await restarted.start()
    assert restarted.history.typical(key_of(rows[0]), 1.0) == 42.0


async def test_without_the_vendors_figure_the_polls_bound_it(harness: Harness) -> None:
    h = harness
    await h.grant(100)
    h.fake.script_next(TaskScript(stages=("queued", "generating"), generation_time=0))  # 0: no figure
    engine, _ = await h.make()
    job = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.submitted_at is not None and row.finished_at is not None
    took = row.generation_seconds
    assert took is not None and 0 < took < row.finished_at - row.submitted_at  # not when we noticed


def test_openai_compatible_timing_is_completed_at_less_created_at() -> None:
    assert took_seconds({"created_at": 1761622232, "completed_at": 1761622412}) == 180.0
    assert took_seconds({"created_at": 1761622232, "completed_at": None}) is None
    assert took_seconds({"created_at": 1761622232, "completed_at": 1761622000}) is None
    assert took_seconds({"created_at": True, "completed_at": 5}) is None


async def test_a_many_shot_jobs_first_estimate_is_its_own_not_one_clips(harness: Harness) -> None:
    """Before any history, a 6-shot Veo storyboard is estimated at six shots' time (the adapter's
    timing for its request), while a one-shot job of the same profile is estimated at one."""
    h = harness
    await h.grant(200)
    async with FakeNanophotoVeo() as veo:
        profile = veo.profile(timing=Timing(expected=30, first_poll=60, poll_interval=60, timeout=900))
        engine, seen = await h.make(profile)
        shots = tuple(Shot(scene=f"scene {n}", duration=8) for n in range(6))
        board = await engine.admission.enqueue(h.origin, StoryboardRequest(shots=shots, duration=48))
        clip = await engine.admission.enqueue(h.origin, TextToVideo(prompt="one shot", duration=8))
        first = {e.job.id: e.eta_seconds for e in reversed(seen.events)}  # each job's first event
        assert first[clip.id] == pytest.approx(30)
        assert first[board.id] == pytest.approx(6 * 30)
        await engine.stop()
