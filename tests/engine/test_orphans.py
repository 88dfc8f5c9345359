"""A job whose profile left the configuration is kept (never failed for it), listed by the start-up
log and ``doctor`` with what to do, released cleanly by ``/jobs cancel``, and resumed when the
profile comes back."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import load_settings
from bot.engine import member_jobs
from bot.engine.engine import Engine
from bot.ops.checks import Context, Status
from bot.ops.doctor_runtime import check_orphans
from bot.providers.base import TextToVideo
from bot.providers.profiles import Timing
from storage import jobs, ledger
from storage.states import JobState
from tests.engine.conftest import GUILD, MEMBER, Harness, settle
from tests.fakes.nanophoto import TaskScript

TIMING = Timing(expected=0.02, first_poll=0.01, poll_interval=0.02, timeout=30, backoff_max=0.05)


async def two_running(h: Harness, engine: Engine) -> list[int]:
    await h.grant(20)
    h.fake.script_next(TaskScript(outcome="never"), TaskScript(outcome="never"))
    made = [(await engine.admission.enqueue(h.origin, TextToVideo(prompt=f"clip {i}"))).id for i in range(2)]
    async with asyncio.timeout(5):
        while True:
            rows = [await jobs.get(h.db, i) for i in made]
            if all(r is not None and r.state == "running" and r.polls > 0 for r in rows):
                return made
            await asyncio.sleep(0.01)


async def test_jobs_of_a_removed_profile_wait_are_listed_cancelled_and_resumed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    first, _ = await h.make(h.fake.profile(timing=TIMING))
    cancelled, resumed = await two_running(h, first)
    await first.stop()

    # The operator renames the profile: `nano` is gone.
    without, recorder = await h.make(h.fake.profile("renamed", timing=TIMING))
    await without.start()
    await asyncio.sleep(0.2)
    states = [(await jobs.get(h.db, i)).state for i in (cancelled, resumed)]  # type: ignore[union-attr]
    assert states == [JobState.RUNNING, JobState.RUNNING]  # kept, not failed
    assert "2 job(s) wait for profile `nano`" in caplog.text and "/jobs cancel" in caplog.text

    settings = load_settings(env={"DISCORD_TOKEN": "a.b.c", "DATABASE_PATH": str(h.path)})
    ctx = Context(settings, profiles=dict(without.catalog.profiles()), db=h.db, db_current=True)
    (row,) = await check_orphans(ctx)
    assert row.status is Status.WARN and f"#{cancelled}, #{resumed}" in row.detail
    assert "put the profile back" in row.detail and "/jobs cancel" in row.detail

    view = await without.job(cancelled)
    assert view is not None
    outcome = await member_jobs.cancel(without, view)
    assert outcome.cancelled and outcome.message.key == "jobs.cancel.orphan_done"
    assert (await jobs.get(h.db, cancelled)).state is JobState.CANCELLED  # type: ignore[union-attr]
    kinds = [
        r["kind"]
        for r in await h.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id = $1", (cancelled,))
    ]
    assert kinds == ["hold", "release"]
    assert any(e.job.id == cancelled and e.terminal for e in recorder.events)  # the card says so
    await without.stop()

    # The profile comes back: the other job is resumed and finishes.
    back, _ = await h.make(h.fake.profile(timing=TIMING))
    row_before = await jobs.get(h.db, resumed)
    assert row_before is not None and row_before.remote_id is not None
    h.fake.finish(row_before.remote_id)
    await back.start()
    await settle(back)
    assert (await jobs.get(h.db, resumed)).state is JobState.SUCCEEDED  # type: ignore[union-attr]
    assert await ledger.balance(h.db, GUILD, MEMBER) == 20 - 4
    assert await ledger.invariant_violations(h.db) == []
