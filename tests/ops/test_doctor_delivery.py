"""``doctor`` on delivery: the live engine processes of a shared database, and the results not posted yet.

What an operator reads: the rows ``render`` prints, from real databases written through the real
repositories (a lease renewed by ``storage.leases``, results claimed and refused by
``storage.outbox``). The processes are PostgreSQL's alone (SQLite has one, ``bot process``), so
those tests run on a PostgreSQL database in both runs; the outbox's run on the suite's backend.
"""

from __future__ import annotations

import re
import time

import pytest

from bot.ops import doctor
from bot.ops.checks import CheckResult, Status
from bot.ops.doctor import run_checks
from bot.ops.doctor_delivery import duration
from storage import jobs, leases, outbox
from storage.db import Database
from tests.backend import open_database
from tests.ops.conftest import Install

WORKER_1 = "worker:box-a:4242:0a1b2c3d"
WORKER_2 = "worker:box-b:77:ffee0011"
GATEWAY = "run:box-a:4100:12ab34cd"


def rows(results: list[CheckResult], check: str) -> list[CheckResult]:
    return [r for r in results if r.check == check]


def lines(results: list[CheckResult], check: str) -> list[str]:
    """The table's lines for ``check``, as ``render`` prints them (column padding squeezed)."""
    return [
        re.sub(r"\s{2,}", "  ", line)
        for line in doctor.render(results).splitlines()
        if line.startswith(check + " ")
    ]


@pytest.fixture
def shared(install: Install, pg_url: str) -> Install:
    """The installation on a PostgreSQL database, which several processes may share."""
    install.values["DATABASE_URL"] = pg_url
    return install


async def _open(install: Install) -> Database:
    if "DATABASE_URL" in install.values:
        return await Database.open(install.values["DATABASE_URL"], folder=install.root)
    return await open_database(install.db_path)


async def _job(db: Database, **extra: object) -> int:
    async with db.transaction() as tx:
        return await jobs.insert(
            tx,
            guild_id=1,
            channel_id=2,
            user_id=3,
            profile="alpha",
            kind="text",
            model="sora-2",
            duration=4,
            request_json="{}",
            cost=1,
            **extra,
        )


# ---- engine processes ------------------------------------------------------------------------


async def test_live_processes_are_counted_by_role_and_each_shows_its_lease(shared: Install) -> None:
    now = time.time()
    db = await _open(shared)
    try:
        await leases.renew(db, GATEWAY, "run", now=now - 3600, until=now + 10, load=12)  # up an hour
        await leases.renew(db, WORKER_1, "worker", now=now - 2, until=now + 8)
        await leases.renew(db, WORKER_2, "worker", now=now - 30, until=now + 10)
        await leases.renew(db, "worker:gone:1:deadbeef", "worker", now=now - 60, until=now - 50)  # lapsed
    finally:
        await db.close()
    results = await run_checks(shared.settings, env=shared.env)
    assert lines(results, "engine processes") == [
        "engine processes  OK  3 live on this database: 1 run, 2 worker"
    ]
    shown = lines(results, "run process") + lines(results, "worker process")
    assert len(shown) == 3 and not any("gone" in line for line in shown)
    assert re.fullmatch(
        rf"run process  OK  {GATEWAY}: drives 12 job\(s\), lease renewed 0\.\ds ago, up 60 min", shown[0]
    )
    assert re.fullmatch(
        rf"worker process  OK  {WORKER_1}: drives 0 job\(s\), lease renewed 2\.\ds ago, up 2\.\ds", shown[1]
    )
    assert re.fullmatch(
        rf"worker process  OK  {WORKER_2}: drives 0 job\(s\), lease renewed 0\.\ds ago, up 30s", shown[2]
    )
    assert doctor.exit_code(results) == 0


async def test_a_process_late_to_renew_is_a_warning(shared: Install) -> None:
    now = time.time()
    db = await _open(shared)
    try:
        # A 10 s lease renewed 8 s ago: two renewals (every 3.3 s) were missed.
        await leases.renew(db, WORKER_1, "worker", now=now - 8, until=now + 2)
    finally:
        await db.close()
    results = await run_checks(shared.settings, env=shared.env)
    [late] = rows(results, "worker process")
    assert late.status is Status.WARN
    assert re.fullmatch(
        rf"{WORKER_1}: drives 0 job\(s\), lease renewed 8\.\ds ago, up 8\.\ds; it renews every 3\.3s and is late: it is "
        r"paused or slow to reach the database, and its jobs go to another process if the lease lapses "
        r"\(LEASE_SECONDS=10\)",
        late.detail,
    )
    assert doctor.exit_code(results) == 0  # a warning, not a failure


async def test_no_live_process_warns_only_when_jobs_wait(shared: Install) -> None:
    results = await run_checks(shared.settings, env=shared.env)
    assert lines(results, "engine processes") == [
        "engine processes  OK  none is live on this database (no job is in flight)"
    ]
    db = await _open(shared)
    try:
        await _job(db)
    finally:
        await db.close()
    results = await run_checks(shared.settings, env=shared.env)
    [row] = rows(results, "engine processes")
    assert row.status is Status.WARN
    assert row.detail == (
        "none is live on this database, and 1 job(s) in flight wait: start a `python -m bot run` or "
        "`python -m bot worker` process and it takes them over"
    )


@pytest.mark.sqlite_only("one process alone opens the SQLite file; the listing is PostgreSQL's")
async def test_sqlite_lists_no_engine_processes(install: Install) -> None:
    """One process alone opens SQLite: ``bot process`` says which; its lease row is never renewed."""
    db = await _open(install)
    try:
        await leases.renew(db, WORKER_1, "run", now=time.time(), until=time.time() + 10)
    finally:
        await db.close()
    results = await run_checks(install.settings, env=install.env)
    assert rows(results, "engine processes") == [] and rows(results, "run process") == []


# ---- unsent results --------------------------------------------------------------------------


def _nonce(job_id: int) -> str:
    return f"r{job_id}-test"


async def test_no_unsent_results_is_ok(install: Install) -> None:
    db = await _open(install)
    try:
        sent = await _job(db)
        await outbox.claim(db, sent, nonce=lambda: _nonce(sent), now=time.time() - 3600)
        await outbox.mark_sent(db, sent, 555, now=time.time() - 3599)
    finally:
        await db.close()
    results = await run_checks(install.settings, env=install.env)
    assert lines(results, "unsent results") == [
        "unsent results  OK  none: every result claimed for posting has been posted"
    ]


async def test_a_result_being_posted_now_is_ok(install: Install) -> None:
    db = await _open(install)
    try:
        job = await _job(db)
        await outbox.claim(db, job, nonce=lambda: _nonce(job), now=time.time() - 20)
    finally:
        await db.close()
    results = await run_checks(install.settings, env=install.env)
    [row] = rows(results, "unsent results")
    assert row.status is Status.OK
    assert re.fullmatch(r"1 being posted, the oldest for 2\ds", row.detail)


async def test_a_result_waiting_for_minutes_warns_with_what_to_do(install: Install) -> None:
    now = time.time()
    db = await _open(install)
    try:
        old, recent = await _job(db), await _job(db)
        await outbox.claim(db, old, nonce=lambda: _nonce(old), now=now - 12 * 60 - 5)  # its post was cut off
        await outbox.claim(db, recent, nonce=lambda: _nonce(recent), now=now - 5)
    finally:
        await db.close()
    results = await run_checks(install.settings, env=install.env)
    [row] = rows(results, "unsent results")
    assert row.status is Status.WARN
    # Nobody runs: on SQLite no bot holds the file; on PostgreSQL no process holds a lease.
    nobody = (
        "no engine process is live on this database; they are posted once a `run` or `worker` starts"
        if "DATABASE_URL" in install.values
        else "the bot is not running; they are posted when it starts"
    )
    assert row.detail == (
        f"2 not posted yet; the oldest, job #{old}, has waited 12 min after 1 attempt(s): {nobody}"
    )
    assert doctor.exit_code(results) == 0


async def test_a_result_discord_refused_shows_its_answer(install: Install) -> None:
    now = time.time()
    db = await _open(install)
    try:
        job = await _job(db)
        await outbox.claim(db, job, nonce=lambda: _nonce(job), now=now - 3 * 3600)
        await outbox.release(db, job, "403 50013 Missing Permissions")
        await outbox.claim(db, job, nonce=lambda: _nonce(job), now=now - 3 * 3600 + 30)
        await outbox.release(db, job, "403 50013 Missing Permissions")
    finally:
        await db.close()
    results = await run_checks(install.settings, env=install.env)
    assert lines(results, "unsent results") == [
        f"unsent results  WARN  1 not posted yet; the oldest, job #{job}, has waited 3 h 0 min after 2 "
        "attempt(s); Discord's last answer: 403 50013 Missing Permissions. A refused result is tried "
        "again when the bot starts; check that the bot may still post in that job's channel"
    ]


async def test_a_stuck_result_with_a_live_process_points_at_its_logs(shared: Install) -> None:
    now = time.time()
    db = await _open(shared)
    try:
        await leases.renew(db, WORKER_1, "worker", now=now, until=now + 10)
        job = await _job(db)
        await outbox.claim(db, job, nonce=lambda: _nonce(job), now=now - 400)
    finally:
        await db.close()
    results = await run_checks(shared.settings, env=shared.env)
    [row] = rows(results, "unsent results")
    assert row.status is Status.WARN
    assert row.detail == (
        f"1 not posted yet; the oldest, job #{job}, has waited 6 min after 1 attempt(s): live processes "
        f"post a result within seconds: look in their logs for job {job}"
    )


def test_durations_read_as_an_operator_says_them() -> None:
    assert [duration(s) for s in (0.04, 2.44, 45.4, 119, 120, 3599, 7200, 7260 + 59)] == [
        "0.0s",
        "2.4s",
        "45s",
        "119s",
        "2 min",
        "59 min",
        "2 h 0 min",
        "2 h 1 min",
    ]
