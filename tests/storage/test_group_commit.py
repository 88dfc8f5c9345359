"""Group commit's promises, on both backends: bodies batched into one transaction are each still
atomic and refused on their own, replays stay no-ops, a failed commit applies none of the batch,
the ledger stays sound under hundreds of concurrent operations, and a cancelled caller's body
still runs whole."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import asyncpg
import pytest

from storage import group_commit, jobs, ledger
from storage.db import Database
from storage.faults import INTEGRITY_ERRORS
from storage.ledger import NotEnoughCredits
from storage.tx import Body, Tx
from tests.storage.conftest import insert_job
from tests.storage.test_ledger import ADMIN, ALICE, BOB, GUILD, grant, snapshot

CAROL = 503


@pytest.fixture(autouse=True)
def one_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    """One batch at a time, so bodies submitted together share one transaction — what most tests
    here look at (PostgreSQL writes several batches at once; the mixed-load test runs both ways)."""
    monkeypatch.setitem(group_commit.LANES, "postgres", 1)


def granting(user_id: int, amount: int) -> Body[int]:
    async def body(tx: Tx) -> int:
        await ledger.grant(tx, GUILD, user_id, amount, actor_id=ADMIN, reason="top-up")
        return await ledger.balance_in(tx, GUILD, user_id)

    return body


def enqueueing(user_id: int, cost: int) -> Body[int]:
    """What admission writes: the job row and its hold."""

    async def body(tx: Tx) -> int:
        job_id = await insert_job(tx, guild_id=GUILD, user_id=user_id, cost=cost)
        assert await ledger.hold(tx, GUILD, user_id, job_id, cost) is True
        return job_id

    return body


async def batch(db: Database, *bodies: Body[Any]) -> list[Any]:
    """Submit every body at the same moment, so they ride in one transaction; outcomes in order."""
    before = db.group.batches
    results = await asyncio.gather(*(db.group_write(b) for b in bodies), return_exceptions=True)
    assert db.group.batches - before <= 1, "submitted together, written together"
    return results


async def test_a_failing_body_is_refused_alone_and_the_others_commit(db: Database) -> None:
    async def fails(tx: Tx) -> None:
        await ledger.grant(tx, GUILD, BOB, 50, actor_id=ADMIN, reason="never lands")
        raise LookupError("changed my mind")

    async def breaks_a_constraint(tx: Tx) -> None:
        await ledger.grant(tx, GUILD, CAROL, 50, actor_id=ADMIN, reason="never lands")
        await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, 2, -1)")

    before = db.group.batches
    first, failed, broken, last = await batch(
        db, granting(ALICE, 10), fails, breaks_a_constraint, granting(ALICE, 5)
    )
    assert db.group.batches == before + 1
    assert (first, last) == (10, 15), "a later body sees what an earlier one wrote"
    assert isinstance(failed, LookupError)
    assert isinstance(broken, INTEGRITY_ERRORS)
    assert await ledger.balance(db, GUILD, ALICE) == 15
    assert await ledger.balance(db, GUILD, BOB) == 0 and await ledger.entries(db, GUILD, BOB) == []
    assert await ledger.balance(db, GUILD, CAROL) == 0 and await ledger.entries(db, GUILD, CAROL) == []
    assert await ledger.invariant_violations(db) == []


async def test_a_lone_body_is_its_own_transaction(db: Database) -> None:
    assert await db.group_write(granting(ALICE, 7)) == 7

    async def fails(tx: Tx) -> None:
        await ledger.grant(tx, GUILD, ALICE, 50, actor_id=ADMIN, reason="never lands")
        raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await db.group_write(fails)
    assert await ledger.balance(db, GUILD, ALICE) == 7
    assert len(await ledger.entries(db, GUILD, ALICE)) == 1


async def test_not_enough_credits_in_one_body_leaves_the_others_alone(db: Database) -> None:
    await grant(db, ALICE, 10)
    await grant(db, BOB, 10)
    results = await batch(
        db, enqueueing(ALICE, 4), enqueueing(BOB, 11), enqueueing(ALICE, 6), enqueueing(ALICE, 1)
    )
    assert isinstance(results[0], int) and isinstance(results[2], int)
    refused = [r for r in results if isinstance(r, NotEnoughCredits)]
    assert [(r.balance, r.cost) for r in refused] == [(10, 11), (0, 1)], results
    assert await ledger.balance(db, GUILD, ALICE) == 0
    assert await ledger.balance(db, GUILD, BOB) == 10
    assert await jobs.count(db) == 2, "a refused hold leaves no job behind"
    assert await ledger.invariant_violations(db) == []


async def test_a_replayed_hold_in_a_batch_is_a_no_op(db: Database) -> None:
    await grant(db, ALICE, 10)
    async with db.transaction() as tx:
        job_id = await insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=10)

    def holding() -> Body[bool]:
        async def body(tx: Tx) -> bool:
            return await ledger.hold(tx, GUILD, ALICE, job_id, 10)

        return body

    def releasing() -> Body[bool]:
        async def body(tx: Tx) -> bool:
            return await ledger.release(tx, job_id, "failed")

        return body

    results = await batch(db, holding(), holding(), holding())
    assert results == [True, False, False], "the whole balance held once: replays never re-check it"
    assert await ledger.balance(db, GUILD, ALICE) == 0
    assert await batch(db, releasing(), releasing(), holding()) == [True, False, False]
    assert await ledger.balance(db, GUILD, ALICE) == 10
    assert await ledger.invariant_violations(db) == []


async def test_releases_in_a_batch_give_back_what_each_job_still_holds(db: Database) -> None:
    """A release reads what its job holds in the statement that writes it: a trimmed hold gives back
    the rest, a job with no hold or one settled earlier in the same batch gives back nothing."""
    await grant(db, ALICE, 30)
    async with db.transaction() as tx:
        trimmed = await enqueueing(ALICE, 10)(tx)
        assert await ledger.trim_hold(tx, trimmed, 4, "cheaper model") is True
        whole = await enqueueing(ALICE, 7)(tx)
        unheld = await insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=0)
    assert await ledger.balance(db, GUILD, ALICE) == 30 - 4 - 7

    def releasing(job_id: int) -> Body[bool]:
        async def body(tx: Tx) -> bool:
            return await ledger.release(tx, job_id, "failed")

        return body

    results = await batch(db, releasing(trimmed), releasing(whole), releasing(unheld), releasing(whole))
    assert results == [True, True, False, False]
    assert await ledger.balance(db, GUILD, ALICE) == 30
    released = await db.fetchall(
        "SELECT job_id, amount FROM ledger_entries WHERE kind = 'release' ORDER BY id"
    )
    assert [(r["job_id"], r["amount"]) for r in released] == [(trimmed, 4), (whole, 7)]
    assert await ledger.invariant_violations(db) == []


async def test_callers_writing_again_at_once_ride_in_the_next_batch(db: Database) -> None:
    """The flusher turns the loop once after a batch: its callers' next writes go in one batch."""

    async def twice(user_id: int) -> tuple[int, int]:
        first = await db.group_write(granting(user_id, 1))
        return first, await db.group_write(granting(user_id, 2))

    before = db.group.batches
    assert await asyncio.gather(*(twice(800 + n) for n in range(10))) == [(1, 3)] * 10
    assert db.group.batches - before == 2
    assert await ledger.invariant_violations(db) == []


async def test_a_failed_commit_fails_the_whole_batch_and_applies_none_of_it(db: Database) -> None:
    """A deferred constraint is checked at ``COMMIT``: every body ran and released its savepoint,
    then the transaction itself is refused."""
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE gc_parent (id INTEGER PRIMARY KEY)")
        await tx.execute(
            "CREATE TABLE gc_child (parent INTEGER REFERENCES gc_parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    await grant(db, ALICE, 10)
    before = await snapshot(db)

    async def orphan(tx: Tx) -> str:
        await tx.execute("INSERT INTO gc_child (parent) VALUES ($1)", (999,))
        return "inserted"

    results = await batch(db, enqueueing(ALICE, 3), granting(BOB, 5), orphan, granting(ALICE, 1))
    assert all(isinstance(r, INTEGRITY_ERRORS) for r in results), results
    assert len({id(r) for r in results}) == 1, "every caller hears the one error"
    assert await snapshot(db) == before
    assert await db.fetchall("SELECT * FROM gc_child") == []
    assert await db.group_write(granting(BOB, 5)) == 5, "the next batch goes ahead"


@pytest.mark.parametrize("lanes", [1, 8])
async def test_the_ledger_stays_sound_after_500_concurrent_mixed_operations(
    db: Database, lanes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many callers on a few members, one batch at a time or (PostgreSQL) several at once, whose
    bodies then lock the same balances in other orders: every deadlock is written again alone."""
    monkeypatch.setitem(group_commit.LANES, "postgres", lanes)
    members = [600 + n for n in range(12)]
    for member in members:
        await grant(db, member, 40)
    held: list[int] = []
    rng = random.Random(15)
    counts = {"grant": 0, "hold": 0, "refused": 0, "settled": 0, "replayed": 0, "take": 0}

    async def one() -> None:
        member = rng.choice(members)
        roll = rng.random()
        if roll < 0.2:
            await db.group_write(granting(member, rng.randint(1, 5)))
            counts["grant"] += 1
        elif roll < 0.55 or not held:
            try:
                held.append(await db.group_write(enqueueing(member, rng.randint(1, 8))))
                counts["hold"] += 1
            except NotEnoughCredits:
                counts["refused"] += 1
        elif roll < 0.9:
            job_id = rng.choice(held)
            how = rng.choice(("capture", "release"))

            async def settle(tx: Tx) -> bool:
                if how == "capture":
                    return await ledger.capture(tx, job_id)
                return await ledger.release(tx, job_id, "failed")

            counts["settled" if await db.group_write(settle) else "replayed"] += 1
        else:

            async def take(tx: Tx) -> None:
                await ledger.adjust(tx, GUILD, member, -3, actor_id=ADMIN, reason="take")

            try:
                await db.group_write(take)
                counts["take"] += 1
            except NotEnoughCredits:
                counts["refused"] += 1

    async def caller() -> None:  # 50 callers at once, 10 operations each: 500 in all
        for _ in range(10):
            await one()

    before = db.group.batches
    await asyncio.gather(*(caller() for _ in range(50)))
    assert db.group.batches - before < 500, "concurrent operations shared transactions"
    assert counts["grant"] and counts["hold"] and counts["settled"], counts
    assert await ledger.invariant_violations(db) == []
    entries = await db.fetchall("SELECT kind, COUNT(*) AS n FROM ledger_entries GROUP BY kind")
    by_kind = {r["kind"]: int(r["n"]) for r in entries}
    assert by_kind["grant"] == len(members) + counts["grant"]
    assert by_kind["hold"] == counts["hold"] == await jobs.count(db), "a refused hold leaves no job"
    assert by_kind.get("capture", 0) + by_kind.get("release", 0) == counts["settled"]
    assert by_kind.get("adjust", 0) == counts["take"]
    settled = await db.fetchall(
        "SELECT job_id FROM ledger_entries WHERE kind IN ('capture', 'release')"
        " GROUP BY job_id HAVING COUNT(*) > 1"
    )
    assert settled == [], "a job settled twice"


async def test_a_cancelled_callers_body_still_runs_whole(db: Database) -> None:
    async def many(tx: Tx) -> None:
        for user in range(20):
            await ledger.grant(tx, GUILD, 700 + user, 1, actor_id=ADMIN, reason="bulk")

    others = [asyncio.ensure_future(db.group_write(granting(ALICE, 1))) for _ in range(3)]
    caller = asyncio.ensure_future(db.group_write(many))
    await asyncio.sleep(0)  # submitted, not yet written
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await asyncio.gather(*others) == [1, 2, 3]
    for _ in range(200):  # the transaction went on without its caller
        row = await db.fetchone("SELECT COUNT(*) FROM balances WHERE user_id >= 700")
        if row is not None and row[0] == 20:
            break
        await asyncio.sleep(0.01)
    row = await db.fetchone("SELECT COUNT(*) FROM balances WHERE user_id >= 700")
    assert row is not None and row[0] == 20
    assert await ledger.invariant_violations(db) == []


async def test_a_read_that_sees_a_batch_resumes_after_its_writers(db: Database) -> None:
    """A caller wakes one hop after the flusher; a read must not beat it (``CommitOrder``)."""
    resumed: set[int] = set()

    async def write(job_no: int) -> None:
        async def body(tx: Tx) -> int:
            return await insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=0, once_key=f"k{job_no}")

        await db.group_write(body)
        resumed.add(job_no)  # what the writer does next (start driving the job)

    async def watch(job_no: int) -> None:
        for _ in range(100_000):  # a poll that resumes the moment it sees the row
            if await jobs.made_by(db, f"k{job_no}") is not None:
                break
            await asyncio.sleep(0)
        assert job_no in resumed, "the read resumed before the code that wrote the row"

    for round_no in range(20):
        numbers = range(round_no * 8, round_no * 8 + 8)
        await asyncio.gather(*(watch(n) for n in numbers), *(write(n) for n in numbers))


async def test_a_lone_body_ended_by_a_deadlock_is_written_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL ends one of two deadlocked transactions, applying nothing of it: a body alone in
    its batch (another lane's batch held its rows) is written again, and lands once."""
    real, ended = db.write, 0

    async def write(body: Body[Any]) -> Any:
        nonlocal ended
        if ended < 2:
            ended += 1
            raise asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
        return await real(body)

    monkeypatch.setattr(db, "write", write)
    assert await db.group_write(granting(CAROL, 5)) == 5
    assert ended == 2 and await ledger.balance(db, GUILD, CAROL) == 5
    assert await ledger.invariant_violations(db) == []
