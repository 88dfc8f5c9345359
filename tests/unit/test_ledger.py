"""The credit ledger as a member experiences it: what they hold, spend and get back, exactly once.

Every test runs on a real SQLite file (the ``db`` fixture) through ``Database.transaction()``, the
way the engine uses the ledger: the job row and its hold share one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from storage import jobs, ledger
from storage.db import Database
from storage.faults import INTEGRITY_ERRORS
from storage.ledger import NotEnoughCredits
from tests.backend import open_database

NewJob = Callable[..., Awaitable[int]]

GUILD, ALICE, BOB, ADMIN = 10, 501, 502, 900


async def grant(db: Database, user_id: int, amount: int, guild_id: int = GUILD) -> None:
    async with db.transaction() as tx:
        await ledger.grant(tx, guild_id, user_id, amount, actor_id=ADMIN, reason="top-up")


async def enqueue(db: Database, new_job: NewJob, user_id: int, cost: int, guild_id: int = GUILD) -> int:
    """What the engine does: insert the job and hold its cost in ONE transaction."""
    async with db.transaction() as tx:
        job_id = await new_job(tx, guild_id=guild_id, user_id=user_id, cost=cost)
        assert await ledger.hold(tx, guild_id, user_id, job_id, cost) is True
    return job_id


async def settle(db: Database, how: str, job_id: int) -> bool:
    async with db.transaction() as tx:
        if how == "capture":
            return await ledger.capture(tx, job_id)
        if how == "release":
            return await ledger.release(tx, job_id, "failed")
        if how == "hold":
            job = await tx.execute_fetchall(
                "SELECT guild_id, user_id, cost FROM jobs WHERE id = $1", (job_id,)
            )
            g, u, cost = next(iter(job))
            return await ledger.hold(tx, g, u, job_id, cost)
        raise AssertionError(how)


def summary(entries: list[ledger.Entry]) -> list[tuple[str, int, int | None]]:
    return [(e.kind, e.amount, e.job_id) for e in entries]


async def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything the ledger could change, to prove that a no-op changed nothing."""
    balances = [tuple(r) for r in await db.fetchall("SELECT * FROM balances ORDER BY guild_id, user_id")]
    entries = [tuple(r) for r in await db.fetchall("SELECT * FROM ledger_entries ORDER BY id")]
    job_rows = [tuple(r) for r in await db.fetchall("SELECT id FROM jobs ORDER BY id")]
    return balances, entries, job_rows


# --- the happy paths --------------------------------------------------------------------------


async def test_grant_hold_capture_as_a_member_sees_it(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 100)
    assert await ledger.balance(db, GUILD, ALICE) == 100
    assert summary(await ledger.entries(db, GUILD, ALICE)) == [("grant", 100, None)]

    job_id = await enqueue(db, new_job, ALICE, 30)
    assert await ledger.balance(db, GUILD, ALICE) == 100 - 30

    assert await settle(db, "capture", job_id) is True
    assert await ledger.balance(db, GUILD, ALICE) == 70, "a capture spends what was held, no more"
    assert summary(await ledger.entries(db, GUILD, ALICE)) == [
        ("capture", 0, job_id),
        ("hold", -30, job_id),
        ("grant", 100, None),
    ]
    grant_entry = (await ledger.entries(db, GUILD, ALICE))[-1]
    assert (grant_entry.actor_id, grant_entry.reason) == (ADMIN, "top-up")
    assert await ledger.balance(db, GUILD, BOB) == 0, "another member is untouched"
    assert await ledger.entries(db, GUILD, BOB) == []
    assert await ledger.invariant_violations(db) == []


async def test_release_gives_the_hold_back(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 50)
    job_id = await enqueue(db, new_job, ALICE, 20)
    assert await ledger.balance(db, GUILD, ALICE) == 30

    assert await settle(db, "release", job_id) is True
    assert await ledger.balance(db, GUILD, ALICE) == 50
    newest = (await ledger.entries(db, GUILD, ALICE))[0]
    assert (newest.kind, newest.amount, newest.job_id, newest.reason) == ("release", 20, job_id, "failed")
    assert await ledger.invariant_violations(db) == []


async def test_free_job_holds_and_settles_without_a_balance(db: Database, new_job: NewJob) -> None:
    job_id = await enqueue(db, new_job, ALICE, 0)
    assert await settle(db, "capture", job_id) is True
    assert await ledger.balance(db, GUILD, ALICE) == 0
    assert summary(await ledger.entries(db, GUILD, ALICE)) == [("capture", 0, job_id), ("hold", 0, job_id)]
    assert await ledger.invariant_violations(db) == []


async def test_balances_are_per_guild(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 5, guild_id=1)
    await grant(db, ALICE, 7, guild_id=2)
    await enqueue(db, new_job, ALICE, 5, guild_id=1)
    assert await ledger.balance(db, 1, ALICE) == 0
    assert await ledger.balance(db, 2, ALICE) == 7
    with pytest.raises(NotEnoughCredits):
        await enqueue(db, new_job, ALICE, 1, guild_id=1)


# --- replays and double settlement are no-ops -------------------------------------------------


@pytest.mark.parametrize("first", ["capture", "release"])
@pytest.mark.parametrize("replayed", ["hold", "capture", "release"])
async def test_a_replay_or_second_settlement_changes_nothing(
    db: Database, new_job: NewJob, first: str, replayed: str
) -> None:
    await grant(db, ALICE, 10)
    job_id = await enqueue(db, new_job, ALICE, 10)  # the whole balance: a replayed hold must not re-check it
    assert await settle(db, first, job_id) is True
    before = await snapshot(db)

    assert await settle(db, replayed, job_id) is False
    assert await settle(db, replayed, job_id) is False
    assert await snapshot(db) == before
    assert await ledger.balance(db, GUILD, ALICE) == (0 if first == "capture" else 10)
    assert await ledger.invariant_violations(db) == []


@pytest.mark.parametrize("balance_left", [0, 5])
async def test_replayed_hold_before_settlement_is_a_no_op(
    db: Database, new_job: NewJob, balance_left: int
) -> None:
    await grant(db, ALICE, 10 + balance_left)
    job_id = await enqueue(db, new_job, ALICE, 10)
    before = await snapshot(db)
    assert await settle(db, "hold", job_id) is False
    assert await snapshot(db) == before
    assert await ledger.balance(db, GUILD, ALICE) == balance_left


async def test_settling_a_job_without_a_hold_does_nothing(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 10)
    async with db.transaction() as tx:
        job_id = await new_job(tx, guild_id=GUILD, user_id=ALICE, cost=3)
    before = await snapshot(db)
    assert await settle(db, "capture", job_id) is False
    assert await settle(db, "release", job_id) is False
    assert await settle(db, "capture", 424242) is False, "an unknown job"
    assert await snapshot(db) == before


async def test_hold_for_a_job_that_does_not_exist_is_an_error_not_a_replay(db: Database) -> None:
    await grant(db, ALICE, 10)
    before = await snapshot(db)
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await ledger.hold(tx, GUILD, ALICE, 424242, 3)
    assert await snapshot(db) == before


# --- refusals write nothing -------------------------------------------------------------------


async def test_hold_beyond_balance_raises_and_writes_nothing(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 5)
    before = await snapshot(db)
    with pytest.raises(NotEnoughCredits) as caught:
        async with db.transaction() as tx:
            job_id = await new_job(tx, guild_id=GUILD, user_id=ALICE, cost=6)
            await ledger.hold(tx, GUILD, ALICE, job_id, 6)
    assert (caught.value.balance, caught.value.cost) == (5, 6)
    assert await snapshot(db) == before, "no hold entry, no balance change, and no job row"
    assert await jobs.count(db) == 0
    assert await ledger.balance(db, GUILD, ALICE) == 5


async def test_hold_by_a_member_never_granted_anything(db: Database, new_job: NewJob) -> None:
    with pytest.raises(NotEnoughCredits) as caught:
        await enqueue(db, new_job, BOB, 1)
    assert (caught.value.balance, caught.value.cost) == (0, 1)
    assert await snapshot(db) == ([], [], [])


@pytest.mark.parametrize("amount", [0, -1, -100])
async def test_grant_must_be_positive(db: Database, amount: int) -> None:
    with pytest.raises(ValueError):
        await grant(db, ALICE, amount)
    assert await snapshot(db) == ([], [], [])


async def test_negative_cost_is_refused(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 10)
    before = await snapshot(db)
    with pytest.raises(ValueError):
        async with db.transaction() as tx:
            job_id = await new_job(tx, guild_id=GUILD, user_id=ALICE, cost=3)
            await ledger.hold(tx, GUILD, ALICE, job_id, -3)
    assert await snapshot(db) == before


# --- the audit --------------------------------------------------------------------------------


async def test_invariant_violations_empty_on_a_sound_ledger(db: Database, new_job: NewJob) -> None:
    assert await ledger.invariant_violations(db) == []
    await grant(db, ALICE, 40)
    await grant(db, BOB, 9, guild_id=2)
    captured = await enqueue(db, new_job, ALICE, 15)
    released = await enqueue(db, new_job, ALICE, 25)
    await enqueue(db, new_job, BOB, 9, guild_id=2)  # still held
    await settle(db, "capture", captured)
    await settle(db, "release", released)
    assert await ledger.invariant_violations(db) == []


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE balances SET balance = balance + 5 WHERE guild_id = 10 AND user_id = 501",
        "UPDATE balances SET balance = 0 WHERE guild_id = 10 AND user_id = 501",
        "DELETE FROM balances WHERE guild_id = 10 AND user_id = 501",
        "INSERT INTO balances (guild_id, user_id, balance) VALUES (10, 503, 7)",
    ],
    ids=["inflated", "zeroed", "deleted", "conjured"],
)
async def test_invariant_violations_names_a_tampered_member(
    db: Database, new_job: NewJob, tamper: str
) -> None:
    await grant(db, ALICE, 40)
    await grant(db, BOB, 12)
    await enqueue(db, new_job, ALICE, 15)
    async with db.transaction() as tx:
        await tx.execute(tamper)

    problems = await ledger.invariant_violations(db)
    assert len(problems) == 1, problems
    member = 503 if "503" in tamper else ALICE
    assert f"guild {GUILD} member {member}" in problems[0]
    assert str(BOB) not in problems[0]


# --- concurrency and restarts -----------------------------------------------------------------


async def test_200_simultaneous_holds_against_10_credits(db: Database, new_job: NewJob) -> None:
    await grant(db, ALICE, 10)

    async def one() -> int:
        async with db.transaction() as tx:
            job_id = await new_job(tx, guild_id=GUILD, user_id=ALICE, cost=1)
            await ledger.hold(tx, GUILD, ALICE, job_id, 1)
        return job_id

    results = await asyncio.gather(*(one() for _ in range(200)), return_exceptions=True)
    won = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, NotEnoughCredits)]
    assert len(won) == 10 and len(set(won)) == 10
    assert len(refused) == 190, [r for r in results if not isinstance(r, int | NotEnoughCredits)]
    assert all((r.balance, r.cost) == (0, 1) for r in refused)
    assert await ledger.balance(db, GUILD, ALICE) == 0
    assert await jobs.count(db) == 10, "a refused hold leaves no job behind"
    holds = await db.fetchall("SELECT job_id FROM ledger_entries WHERE kind = 'hold' ORDER BY job_id")
    assert [r["job_id"] for r in holds] == sorted(won)
    assert await ledger.invariant_violations(db) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [("capture", "capture"), ("release", "release"), ("capture", "release"), ("release", "capture")],
)
async def test_settling_after_a_crash_happens_once(
    tmp_path: Path, new_job: NewJob, first: str, second: str
) -> None:
    path = tmp_path / "crash.db"
    before_crash = await open_database(path)
    try:
        await grant(before_crash, ALICE, 20)
        job_id = await enqueue(before_crash, new_job, ALICE, 8)
    finally:
        await before_crash.close()  # the bot dies with the job held and unsettled

    db = await open_database(path)
    try:
        assert await ledger.balance(db, GUILD, ALICE) == 12, "the hold survived the restart"
        assert await settle(db, first, job_id) is True
        assert await settle(db, second, job_id) is False
        settlements = await db.fetchall(
            "SELECT kind FROM ledger_entries WHERE job_id = $1 AND kind IN ('capture', 'release')", (job_id,)
        )
        assert [r["kind"] for r in settlements] == [first]
        assert await ledger.balance(db, GUILD, ALICE) == (12 if first == "capture" else 20)
        assert await ledger.invariant_violations(db) == []
    finally:
        await db.close()
