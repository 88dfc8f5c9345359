"""A job's deadline counts the time the bot was up: an outage is credited back at the next start,
once, to running jobs only (``storage.engine_state``, ``bot.engine.uptime``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.engine.clock import SystemClock
from bot.engine.db_retry import DbHealth
from bot.engine.uptime import Uptime
from bot.providers.base import TextToVideo
from bot.providers.profiles import Timing
from storage import engine_state, jobs
from storage.states import JobState
from tests.engine.conftest import Harness, settle
from tests.fakes.nanophoto import TaskScript
from tests.unit.conftest import insert_job

PROMPT = TextToVideo(prompt="snow falling on a quiet street")
SHORT = Timing(expected=0.02, first_poll=0.01, poll_interval=0.02, timeout=3.0, backoff_max=0.05)


async def alive_at(h: Harness) -> float | None:
    row = await h.db.fetchone("SELECT alive_at FROM engine_alive WHERE id = 1")
    return float(row["alive_at"]) if row else None


async def test_the_downtime_moves_running_deadlines_once(harness: Harness) -> None:
    h = harness
    async with h.db.transaction() as tx:
        running = await insert_job(tx, guild_id=1, user_id=2, cost=1, state="running", deadline_at=1_100.0)
        queued = await insert_job(tx, guild_id=1, user_id=2, cost=1, state="queued")
        ended = await insert_job(tx, guild_id=1, user_id=2, cost=1, state="timed_out", deadline_at=1_100.0)
    assert await engine_state.credit_downtime(h.db, 1_000.0) == (0.0, 0)  # a first start: nothing known
    assert await engine_state.credit_downtime(h.db, 1_600.0) == (600.0, 1)  # down 600 s since then
    assert await engine_state.credit_downtime(h.db, 1_601.0) == (1.0, 1)  # not credited twice
    rows = {i: await jobs.get(h.db, i) for i in (running, queued, ended)}
    assert rows[running].deadline_at == 1_701.0  # type: ignore[union-attr]
    assert rows[queued].deadline_at is None  # type: ignore[union-attr]
    assert rows[ended].deadline_at == 1_100.0  # type: ignore[union-attr]


async def test_the_heartbeat_keeps_the_last_alive_time_current(harness: Harness) -> None:
    h = harness
    uptime = Uptime(h.db, SystemClock(), DbHealth(SystemClock()), every=0.02)
    await uptime.resume()
    first = await alive_at(h)
    await asyncio.sleep(0.1)
    second = await alive_at(h)
    await uptime.stop()
    assert first is not None and second is not None and second > first


async def wait_for(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(5):
        while not await check():  # noqa: ASYNC110 - bounded
            await asyncio.sleep(0.01)


async def test_after_an_outage_longer_than_the_timeout_the_job_is_polled_and_finishes(
    harness: Harness,
) -> None:
    h = harness
    await h.grant(10)
    h.fake.script_next(TaskScript(outcome="never"))
    engine, _ = await h.make(h.fake.profile(timing=SHORT))
    await engine.start()
    job = await engine.admission.enqueue(h.origin, PROMPT)

    async def polled() -> bool:
        row = await jobs.get(h.db, job.id)
        return row is not None and row.state == "running" and row.polls > 0

    await wait_for(polled)
    await engine.stop()
    # An hour passes (20 × the timeout) while the bot is down; the vendor finishes the video.
    async with h.db.transaction() as tx:
        await tx.execute(
            "UPDATE jobs SET deadline_at = deadline_at - 3600, submitted_at = submitted_at - 3600"
        )
        await tx.execute("UPDATE engine_alive SET alive_at = alive_at - 3600")
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.remote_id is not None
    h.fake.finish(row.remote_id)
    polls = h.fake.count(route="status")

    again, _ = await h.make(h.fake.profile(timing=SHORT))
    await again.start()
    await settle(again)
    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state is JobState.SUCCEEDED
    assert h.fake.count(route="status") > polls
