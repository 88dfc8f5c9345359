"""Database faults while a job is driven, and creates caught by a shutdown: no job fails for them.

A locked database (another process holding the write lock past SQLite's busy timeout), a write that
fails as a full disk fails, a fault where nothing retries it: the job goes on once the database works,
and the log says what was wrong and what to do. At shutdown a create in flight gets a bounded grace
to come back with its remote id.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.engine.engine import Engine
from bot.providers.base import TextToVideo
from bot.providers.profiles import Timing
from storage import jobs
from storage.jobs import JobRow
from tests.engine.conftest import Harness, settle
from tests.fakes.nanophoto import TaskScript

PROMPT = TextToVideo(prompt="a lighthouse in a storm")
TIMING = Timing(expected=0.02, first_poll=0.01, poll_interval=0.02, timeout=30, backoff_max=0.05)


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQLite waits this long for a lock before it says "database is locked" (5 s in production), and
    the retries start sooner (0.25 s in production), so a test sees many retries in a second."""
    monkeypatch.setattr("storage.db.BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr("bot.engine.db_retry.BACKOFF_BASE", 0.02)
    monkeypatch.setattr("bot.engine.db_retry.BACKOFF_CAP", 0.2)
    yield


async def running(h: Harness, engine: Engine) -> JobRow:
    await h.grant(20)
    h.fake.script_next(TaskScript(outcome="never"))
    job = await engine.admission.enqueue(h.origin, PROMPT)
    async with asyncio.timeout(5):
        while True:
            row = await jobs.get(h.db, job.id)
            if row is not None and row.state == "running" and row.polls > 0:
                return row
            await asyncio.sleep(0.01)


async def kinds(h: Harness, job_id: int) -> list[str]:
    rows = await h.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id = $1 ORDER BY id", (job_id,))
    return [r["kind"] for r in rows]


@pytest.mark.sqlite_only("another connection holding SQLite's write lock past its busy timeout")
async def test_a_database_locked_for_many_busy_timeouts_fails_no_job(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    engine, _ = await h.make(h.fake.profile(timing=TIMING))
    job = await running(h, engine)
    other = sqlite3.connect(h.path, isolation_level=None)  # an operator's sqlite3 shell, say
    other.execute("BEGIN EXCLUSIVE")
    try:
        await asyncio.sleep(1.0)  # ten busy timeouts
        assert job.remote_id is not None
        h.fake.finish(job.remote_id)  # the vendor finishes meanwhile
        await asyncio.sleep(0.3)
        row = await jobs.get(h.db, job.id)  # reads go on in WAL mode
        assert row is not None and row.state == "running"
    finally:
        other.execute("ROLLBACK")
        other.close()
    await settle(engine)
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.state == "succeeded"
    assert await kinds(h, job.id) == ["hold", "capture"]
    assert "database is locked" in caplog.text and "another process holds" in caplog.text
    assert "database writes work again" in caplog.text


async def test_writes_failing_as_a_full_disk_does_are_retried_in_place(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """While writes fail the job waits in place (one poll, not one per retry), then goes on."""
    h = harness
    engine, _ = await h.make(h.fake.profile(timing=TIMING))
    job = await running(h, engine)
    real, failures = jobs.update, 6

    async def full(*args: Any, **kwargs: Any) -> bool:
        nonlocal failures
        if failures > 0:
            failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return await real(*args, **kwargs)

    monkeypatch.setattr(jobs, "update", full)
    polls = h.fake.count(route="status")
    await asyncio.sleep(0.05)
    assert job.remote_id is not None
    h.fake.finish(job.remote_id)
    await settle(engine)
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.state == "succeeded" and failures == 0
    assert h.fake.count(route="status") - polls <= 3  # the retries did not poll again
    assert "database or disk is full" in caplog.text and "free space" in caplog.text


async def test_a_fault_nothing_retried_restarts_the_driver_from_the_row(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    engine, _ = await h.make(h.fake.profile(timing=TIMING))
    job = await running(h, engine)
    polls = engine.runner._polls
    real, faults = polls._apply, 2

    async def faulty(job: JobRow, snap: Any) -> None:
        nonlocal faults
        if faults > 0:
            faults -= 1
            raise sqlite3.OperationalError("disk I/O error")
        await real(job, snap)

    monkeypatch.setattr(polls, "_apply", faulty)
    assert job.remote_id is not None
    h.fake.finish(job.remote_id)
    await settle(engine)
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.state == "succeeded" and faults == 0
    assert await kinds(h, job.id) == ["hold", "capture"]


async def test_a_create_in_flight_at_shutdown_finishes_within_the_grace(harness: Harness) -> None:
    h = harness
    await h.grant(20)
    h.fake.script_next(TaskScript(outcome="never"))
    h.fake.slow_next("generate", 1.0)
    engine, _ = await h.make(h.fake.profile(timing=TIMING, request_timeout=10.0))
    job = await engine.admission.enqueue(h.origin, PROMPT)
    async with asyncio.timeout(5):
        while not h.fake.calls("generate"):  # noqa: ASYNC110 - bounded
            await asyncio.sleep(0.01)
    began = time.monotonic()
    await engine.stop(grace=5.0)
    assert 0.5 < time.monotonic() - began < 4.0  # waited for the create, not for the grace
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.state == "running" and row.remote_id in h.fake.tasks


async def test_the_grace_is_a_bound_a_create_that_hangs_is_cut_off(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    await h.grant(20)
    h.fake.slow_next("generate", 8.0)
    engine, _ = await h.make(h.fake.profile(timing=TIMING, request_timeout=10.0))
    job = await engine.admission.enqueue(h.origin, PROMPT)
    async with asyncio.timeout(5):
        while not h.fake.calls("generate"):  # noqa: ASYNC110 - bounded
            await asyncio.sleep(0.01)
    began = time.monotonic()
    with caplog.at_level(logging.WARNING):
        await engine.stop(grace=0.3)
    assert time.monotonic() - began < 2.0
    row = await jobs.get(h.db, job.id)
    assert row is not None and row.state == "submitting"  # the next start reports it unconfirmed
    assert "cut off" in caplog.text
