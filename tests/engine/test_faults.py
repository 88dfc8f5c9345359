"""Faults a vendor or the host throws at the engine: every job still ends true, every balance exact."""

from __future__ import annotations

import asyncio
import random

from bot.engine.admission import JobOrigin
from bot.providers.base import TextToVideo
from bot.providers.profiles import Timing
from storage import jobs, ledger
from tests.engine.conftest import GUILD, Harness, settle
from tests.fakes.nanophoto import RATE_LIMIT_BODY, TaskScript

MEMBERS = [1000 + i for i in range(5)]
FAST = Timing(
    expected=0.05, first_poll=0.01, poll_interval=0.02, timeout=10, backoff_max=0.05, rate_limit_cooldown=0.05
)


async def grant_all(h: Harness, amount: int) -> None:
    async with h.db.transaction() as tx:
        for member in MEMBERS:
            await ledger.grant(tx, GUILD, member, amount, actor_id=None, reason="test")


async def assert_books_exact(h: Harness, start: int) -> None:
    """Every job settled once, and each balance = start − what its succeeded jobs cost."""
    rows = await h.db.fetchall("SELECT id, user_id, state, cost FROM jobs")
    for row in rows:
        kinds = [
            r["kind"]
            for r in await h.db.fetchall(
                "SELECT kind FROM ledger_entries WHERE job_id = $1 ORDER BY id", (row["id"],)
            )
        ]
        expected = ["hold", "capture"] if row["state"] == "succeeded" else ["hold", "release"]
        assert kinds == expected, (row["id"], row["state"], kinds)
    for member in MEMBERS:
        spent = sum(r["cost"] for r in rows if r["user_id"] == member and r["state"] == "succeeded")
        assert await ledger.balance(h.db, GUILD, member) == start - spent
    assert await ledger.invariant_violations(h.db) == []


async def test_bot_killed_with_50_jobs_in_flight_and_started_again(harness: Harness) -> None:
    h = harness
    await grant_all(h, 200)
    rng = random.Random(7)
    h.fake.rate_limit = None
    h.fake.script_next(
        *[
            TaskScript(
                stages=("queuing", "generating"),
                outcome="failed" if i % 7 == 0 else "completed",
                advance="time",
                stage_seconds=rng.uniform(0.05, 0.3),
            )
            for i in range(50)
        ]
    )
    profile = h.fake.profile(keys=(h.fake.api_key(),), max_concurrent=12, timing=FAST)
    engine, _ = await h.make(profile)
    for i in range(50):
        origin = JobOrigin(guild_id=GUILD, channel_id=1, user_id=MEMBERS[i % len(MEMBERS)])
        await engine.admission.enqueue(origin, TextToVideo(prompt=f"shot {i}"))
    await asyncio.sleep(0.15)
    states = [r["state"] for r in await h.db.fetchall("SELECT state FROM jobs")]
    assert "queued" in states and "running" in states  # the kill lands mid-flight
    await engine.stop()  # the bot dies: tasks gone, only the database remains

    restarted, _ = await h.make(profile)
    await restarted.start()
    await settle(restarted)

    rows = await h.db.fetchall("SELECT id, state, remote_id, error_code FROM jobs")
    assert len(rows) == 50
    for row in rows:
        assert row["state"] in ("succeeded", "failed"), dict(row)
        if row["remote_id"] is not None:  # the vendor knows it: our state must be the vendor's
            vendor_state = h.fake.task(row["remote_id"]).state
            assert row["state"] == {"completed": "succeeded", "failed": "failed"}[vendor_state], dict(row)
        else:
            assert row["error_code"] == "UNCONFIRMED"
    await assert_books_exact(h, 200)


async def test_a_429_storm_delays_jobs_but_fails_none(harness: Harness) -> None:
    h = harness
    await grant_all(h, 100)
    h.fake.force("generate", status=429, body=RATE_LIMIT_BODY, times=6)
    h.fake.force("status", status=429, body=RATE_LIMIT_BODY, times=15)
    engine, _ = await h.make(h.fake.profile(timing=FAST))
    for i in range(10):
        await engine.admission.enqueue(
            JobOrigin(guild_id=GUILD, channel_id=1, user_id=MEMBERS[i % 5]), TextToVideo(prompt="x")
        )
    await settle(engine)
    states = [r["state"] for r in await h.db.fetchall("SELECT state FROM jobs")]
    assert states == ["succeeded"] * 10
    await assert_books_exact(h, 100)


async def test_server_errors_and_garbage_never_fail_a_running_job(harness: Harness) -> None:
    h = harness
    await grant_all(h, 100)
    h.fake.fail_next("status", status=502, times=10)
    h.fake.malformed_next("status", times=3)
    h.fake.slow_next("status", 3.0)  # longer than the profile's request timeout
    engine, _ = await h.make(h.fake.profile(timing=FAST, request_timeout=0.5))
    for i in range(5):
        await engine.admission.enqueue(
            JobOrigin(guild_id=GUILD, channel_id=1, user_id=MEMBERS[i]), TextToVideo(prompt="x")
        )
    await settle(engine)
    assert [r["state"] for r in await h.db.fetchall("SELECT state FROM jobs")] == ["succeeded"] * 5
    await assert_books_exact(h, 100)
    assert await jobs.count(h.db) == 5
