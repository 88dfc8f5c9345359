"""Every query a member's command, the caps, the metrics and the start-up run uses an index.

Why traced, not listed: the SQL is collected by running the real code paths (``Credits``,
``member_jobs``, ``Admission.precheck``, the metrics collector, the start-up scans) against a real
database with SQLite's trace hook on every connection, then each statement is asked for its
``EXPLAIN QUERY PLAN``. A new query on a member's path, or an index that stops matching (a partial
index is used only when the query spells its condition the same way), fails here rather than in
production at a million rows. Member paths may only SEARCH; the start-up and metrics may scan an
index but never a table. (``doctor`` checks the whole ledger by design and is not held to this.)
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest

from bot.engine import member_jobs
from bot.engine.admission import Quote
from bot.engine.credits import Credits
from bot.engine.engine import Engine
from bot.metrics import JobStateCollector
from bot.providers.base import TextToVideo
from bot.providers.http import VendorHttp
from bot.providers.registry import build_provider
from storage import guilds, jobs, ledger
from storage.db import Database
from storage.states import JobState
from tests.fakes.nanophoto import FakeNanophoto
from tests.unit.conftest import insert_job

pytestmark = pytest.mark.sqlite_only(
    "SQLite's own query plans (EXPLAIN QUERY PLAN) of what its trace hook saw"
)

GUILD, ALICE = 7, 70
REQUEST = TextToVideo(prompt="a cat", duration=4, model="sora-2").model_dump_json()
MEMBER_PATH = re.compile(r"^SCAN (?!CONSTANT ROW)|TEMP B-TREE|AUTOMATIC")
TABLE_SCAN = re.compile(r"^SCAN \S+$|AUTOMATIC")
NARROW = {  # member paths, and the index that keeps each independent of how much history there is
    "balance": "jobs_active_by_member",  # held: only the member's jobs in progress
    "history": "ledger_by_member",
    "history, next page": "ledger_by_member (guild_id=? AND user_id=? AND id<?)",
    "/jobs list": "jobs_by_member_id",
    "/jobs list all": "jobs_by_guild",
    "caps and credits before deferring": "jobs_active_by_member",
    "export, a page": "ledger_by_guild_time",
    "grant notice, every command": "grant_notices_by_member",
    "grant notice, taken": "grant_notices_by_member",
}
SKIP = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|PRAGMA|CREATE TABLE IF NOT EXISTS)\b", re.IGNORECASE)


class Traced:
    """The statements every connection of ``db`` ran, collected while a block of code runs."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[str] = []

    async def start(self) -> None:
        for conn in self.db.connections:
            await conn._execute(lambda c: c.set_trace_callback(self.seen.append))

    async def run(self, call: Callable[[], Awaitable[object]]) -> list[str]:
        self.seen.clear()
        await call()
        return [s for s in self.seen if not SKIP.match(s)]


@pytest.fixture
async def traced(tmp_path: Path) -> AsyncIterator[tuple[Traced, Engine, Path]]:
    path = tmp_path / "plans.db"
    db = await Database.open(path)
    async with db.transaction() as tx:
        await ledger.grant(tx, GUILD, ALICE, 500, actor_id=None, reason="seed")
        for state in (JobState.QUEUED, JobState.SUCCEEDED, JobState.FAILED):
            job_id = await insert_job(
                tx, guild_id=GUILD, user_id=ALICE, cost=5, message_id=1, request_json=REQUEST
            )
            await ledger.hold(tx, GUILD, ALICE, job_id, 5)
            if state is not JobState.QUEUED:
                await jobs.transition_in(tx, job_id, (JobState.QUEUED,), state)
                await (
                    ledger.capture(tx, job_id)
                    if state is JobState.SUCCEEDED
                    else ledger.release(tx, job_id, "x")
                )
    await guilds.update(
        db, GUILD, max_active_per_member=5, max_active_per_server=50, max_daily_spend_per_member=99
    )
    trace = Traced(db)
    await trace.start()
    try:
        async with FakeNanophoto() as vendor, VendorHttp() as http:  # no call reaches it: a profile is needed
            profile = vendor.profile()
            yield (
                trace,
                Engine(db, {profile.name: profile}, {profile.name: build_provider(profile, http)}),
                path,
            )
    finally:
        await db.close()


def plans(path: Path, statements: list[str]) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        return {s: [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {s}")] for s in statements}
    finally:
        conn.close()


def offenders(path: Path, statements: list[str], rule: re.Pattern[str]) -> dict[str, list[str]]:
    assert statements, "the path ran no query: the trace missed it"
    return {s: p for s, p in plans(path, statements).items() if any(rule.search(line) for line in p)}


async def test_member_commands_only_search(traced: tuple[Traced, Engine, Path]) -> None:
    trace, engine, path = traced
    credits = Credits(engine.db, engine)
    first = await credits.history(GUILD, ALICE, 0, actor_id=ALICE, is_manager=False)
    span = await credits.export_span(GUILD, None, None, is_manager=True, today=date(2100, 1, 1))
    quote = Quote(profile="p", model="m", cost=1)
    paths: dict[str, Callable[[], Awaitable[object]]] = {
        "balance": lambda: credits.balance(GUILD, ALICE, actor_id=ALICE, is_manager=False),
        "history": lambda: credits.history(GUILD, ALICE, 0, actor_id=ALICE, is_manager=False),
        "history, next page": lambda: credits.history(
            GUILD, ALICE, 1, actor_id=ALICE, is_manager=False, beside=first
        ),
        "history, deep page": lambda: credits.history(GUILD, ALICE, 3, actor_id=ALICE, is_manager=False),
        "/jobs list": lambda: member_jobs.listing(engine, GUILD, ALICE, everyone=False, is_manager=False),
        "/jobs list all": lambda: member_jobs.listing(engine, GUILD, ALICE, everyone=True, is_manager=True),
        "/jobs show": lambda: member_jobs.find(engine, GUILD, 1),
        "caps and credits before deferring": lambda: engine.admission.precheck(GUILD, ALICE, quote),
        "export, checked": lambda: credits.export_span(GUILD, None, None, is_manager=True),
        "export, a page": lambda: ledger.guild_page(
            engine.db, GUILD, span.start, span.end, after=(0.0, 1), limit=10, render=len
        ),
        "grant notice, every command": lambda: credits.has_unseen_grants(GUILD, ALICE),
        "grant notice, taken": lambda: credits.take_unseen_grants(GUILD, ALICE),
    }
    found, used = {}, {}
    for name, call in paths.items():
        statements = await trace.run(call)
        found[name] = offenders(path, statements, MEMBER_PATH)
        used[name] = " ".join(line for p in plans(path, statements).values() for line in p)
    assert {k: v for k, v in found.items() if v} == {}
    # A SEARCH on a prefix may still read a member's whole history: the narrow index must be the one used.
    missing = {name: index for name, index in NARROW.items() if index not in used[name]}
    assert missing == {}


async def test_start_up_and_metrics_scan_no_table(traced: tuple[Traced, Engine, Path]) -> None:
    trace, engine, path = traced
    paths: dict[str, Callable[[], Awaitable[object]]] = {
        "metrics scrape": JobStateCollector(engine.db).refresh,
        "active jobs at start": lambda: jobs.active(engine.db),
        "undelivered at start": lambda: jobs.undelivered(engine.db),
        "estimates seeded at start": lambda: jobs.recent_timings(engine.db, limit=200),
        "jobs in flight (doctor)": lambda: jobs.count_active(engine.db),
    }
    found = {}
    for name, call in paths.items():
        found[name] = offenders(path, await trace.run(call), TABLE_SCAN)
    assert {k: v for k, v in found.items() if v} == {}


async def test_the_trace_sees_what_runs(traced: tuple[Traced, Engine, Path]) -> None:
    """The harness itself: a read through a read connection and a write through the write one."""
    trace, engine, _ = traced
    seen = await trace.run(lambda: ledger.balance(engine.db, GUILD, ALICE))
    assert seen == [f"SELECT balance FROM balances WHERE guild_id = {GUILD} AND user_id = {ALICE}"]
    seen = await trace.run(lambda: jobs.update(engine.db, 1, polls=3))
    assert len(seen) == 1 and seen[0].startswith("UPDATE jobs SET polls = 3")
