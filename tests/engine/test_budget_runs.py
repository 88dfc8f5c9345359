"""Key budgets under load, counted at the fake vendor: one 100/h key, hours of virtual time; and what
spare budget buys when there is some.

Each run is the real engine and adapters against the fake nanophoto servers over loopback HTTP, on
a virtual clock (``tests/engine/budget_runs.py``). What is asserted is what the vendor saw — not a
single 429 — and what members got: every job the vendor finished is delivered as finished, none
timed out.
"""

from __future__ import annotations

import random
from pathlib import Path

from bot.providers.base import TextToVideo, TvcRequest
from tests.engine.budget_runs import HOURS, NANO_TIMING, budget_run, key_as, sora_scripts, tvc_scripts
from tests.fakes.nanophoto_tvc import TvcScript
from tests.fakes.vendor import RecordedRequest

PER_HOUR = 100


async def test_one_key_shared_by_a_sora_and_a_tvc_profile_is_one_budget(tmp_path: Path) -> None:
    async with budget_run(tmp_path) as run:
        sora_fake, tvc_fake = run.fakes
        rng = random.Random(12)
        sora_fake.script_next(*sora_scripts(30, rng, (60, 180)))
        tvc_fake.script_next(*tvc_scripts(30, rng, (120, 300)))
        sora = sora_fake.profile(
            "sora", keys=key_as("SORA_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING
        )
        tvc = tvc_fake.profile("tvc", keys=key_as("TVC_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING)
        engine = await run.start([sora, tvc])
        assert engine.dispatcher.pools["sora"].budget("SORA_KEY") is engine.dispatcher.pools["tvc"].budget(
            "TVC_KEY"
        )

        started = run.clock.now()
        made = await run.enqueue(
            [(TextToVideo(prompt=f"a fox, take {i}"), "sora") for i in range(30)]
            + [(TvcRequest(ad_theme=f"sparkling water, ad {i}"), "tvc") for i in range(30)]
        )
        await run.run_until_ended(made, within=6 * HOURS)

        assert run.rejected() == 0
        rows = await run.rows(made)
        assert [r.state for r in rows] == ["succeeded"] * 60  # none timed out, none failed
        assert run.sent() > PER_HOUR  # every job's create and a look at least: more than one hour holds
        assert run.clock.now() - started > HOURS  # so the one budget made the rest wait their turn


async def test_half_the_status_calls_failing_costs_budget_but_no_job(tmp_path: Path) -> None:
    async with budget_run(tmp_path, flaky=True) as run:
        sora_fake = run.fakes[0]
        sora_fake.script_next(*sora_scripts(40, random.Random(40), (60, 180)))
        sora = sora_fake.profile(
            "sora", keys=key_as("SORA_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING
        )
        await run.start([sora])

        made = await run.enqueue([(TextToVideo(prompt=f"rain on a window, {i}"), "sora") for i in range(40)])
        await run.run_until_ended(made, within=8 * HOURS)

        assert run.rejected() == 0
        assert [r.state for r in await run.rows(made)] == ["succeeded"] * 40
        statuses = [r for r in sora_fake.requests if r.route == "status"]
        assert sum(1 for r in statuses if r.status == 500) >= len(statuses) // 2  # the faults happened
        gaps = retry_gaps(sora_fake.requests)
        assert gaps and min(gaps) >= NANO_TIMING.poll_interval  # a retry never comes sooner


async def test_36_jobs_at_once_on_one_key_none_times_out(tmp_path: Path) -> None:
    async with budget_run(tmp_path) as run:
        sora_fake = run.fakes[0]
        # Slower than the profile expects (180 s): several jobs need more than one look.
        sora_fake.script_next(*sora_scripts(36, random.Random(36), (60, 400)))
        sora = sora_fake.profile(
            "sora", keys=key_as("SORA_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING
        )
        engine = await run.start([sora])

        made = await run.enqueue([(TextToVideo(prompt=f"a lighthouse, {i}"), "sora") for i in range(36)])
        await run.clock.run_until(lambda: False, limit=run.clock.now() + 1)
        positions = [engine.dispatcher.position(j) for j in made]
        assert any(p is not None for p in positions)  # not all fit the hour: the rest wait in line
        await run.run_until_ended(made, within=6 * HOURS)

        assert run.rejected() == 0
        assert [r.state for r in await run.rows(made)] == ["succeeded"] * 36


async def test_a_restart_within_the_hour_remembers_the_calls(tmp_path: Path) -> None:
    async with budget_run(tmp_path) as run:
        sora_fake = run.fakes[0]
        sora_fake.script_next(*sora_scripts(60, random.Random(3), (60, 180)))
        sora = sora_fake.profile(
            "sora", keys=key_as("SORA_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING
        )
        await run.start([sora])
        first = await run.enqueue([(TextToVideo(prompt=f"a paper boat, {i}"), "sora") for i in range(30)])
        await run.clock.run_until(lambda: False, limit=run.clock.now() + 900)  # a quarter of an hour
        sent_before = run.sent()
        assert sent_before >= 45 and run.rejected() == 0

        engine = await run.start([sora])  # the bot restarts: a new process would know only the database
        pool = engine.dispatcher.pools["sora"]
        assert pool.calls_in_window("SORA_KEY") >= sent_before  # the quarter hour's calls still count
        second = await run.enqueue([(TextToVideo(prompt=f"a paper plane, {i}"), "sora") for i in range(30)])
        await run.run_until_ended(first + second, within=6 * HOURS)

        assert run.rejected() == 0
        assert [r.state for r in await run.rows(first + second)] == ["succeeded"] * 60


async def test_spare_budget_shows_every_step_as_it_happens(tmp_path: Path) -> None:
    async with budget_run(tmp_path) as run:
        tvc_fake = run.fakes[1]
        tvc_fake.script_next(
            *[TvcScript(advance="time", seconds_per_step=(40.0, 50.0, 110.0)) for _ in range(3)]
        )
        tvc = tvc_fake.profile("tvc", keys=key_as("TVC_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING)
        await run.start([tvc])
        made = await run.enqueue([(TvcRequest(ad_theme=f"cold brew, ad {i}"), "tvc") for i in range(3)])
        await run.run_until_ended(made, within=HOURS)

        assert [r.state for r in await run.rows(made)] == ["succeeded"] * 3
        for row in await run.rows(made):
            record = tvc_fake.record(row.remote_id or "")
            starts = (record.created_at, record.created_at + 40.0, record.created_at + 90.0)
            for step, began in enumerate(starts, 1):
                seen = run.first_shown(row.id, step)
                assert seen is not None and seen - began <= 30.0, (row.id, step, seen, began)
        assert run.rejected() == 0


async def test_a_tight_key_falls_back_to_the_fewest_calls(tmp_path: Path) -> None:
    async with budget_run(tmp_path) as run:
        tvc_fake = run.fakes[1]
        tvc_fake.script_next(
            *[TvcScript(advance="time", seconds_per_step=(40.0, 50.0, 60.0)) for _ in range(40)]
        )
        tvc = tvc_fake.profile("tvc", keys=key_as("TVC_KEY"), requests_per_hour=PER_HOUR, timing=NANO_TIMING)
        await run.start([tvc])
        made = await run.enqueue([(TvcRequest(ad_theme=f"oat milk, ad {i}"), "tvc") for i in range(40)])
        await run.run_until_ended(made, within=4 * HOURS)

        assert [r.state for r in await run.rows(made)] == ["succeeded"] * 40
        assert run.sent("status") <= 1.5 * 40  # about one look per job, where every step had one each
        assert run.rejected() == 0


def retry_gaps(requests: list[RecordedRequest]) -> list[float]:
    """Seconds between each 500 status answer and the next status call of the same task."""
    gaps, failed_at = [], {}
    for rec in requests:
        if rec.route != "status" or not isinstance(rec.json, dict):
            continue
        task = rec.json.get("taskId")
        if task in failed_at:
            gaps.append(rec.at - failed_at.pop(task))
        if rec.status == 500:
            failed_at[task] = rec.at
    return gaps
