"""The ledger's promises, on both backends: exactly-once holds and settlements, refusals that write
nothing, a balance that is always the sum of its entries, and holds that never overdraw when many
race — on PostgreSQL truly at once, on pooled connections."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from storage import jobs, ledger
from storage.db import Database
from storage.faults import INTEGRITY_ERRORS
from storage.ledger import NotEnoughCredits
from tests.storage.conftest import insert_job

GUILD, ALICE, BOB, ADMIN = 10, 501, 502, 900
SNOWFLAKE = 1_234_567_890_123_456_789  # a Discord id: past 2**53, needs all 64 bits


async def grant(db: Database, user_id: int, amount: int, guild_id: int = GUILD) -> None:
    async with db.transaction() as tx:
        await ledger.grant(tx, guild_id, user_id, amount, actor_id=ADMIN, reason="top-up")


async def enqueue(db: Database, user_id: int, cost: int, guild_id: int = GUILD) -> int:
    """What admission does: the job row and its hold in ONE transaction."""

    async def body(tx: Any) -> int:
        job_id = await insert_job(tx, guild_id=guild_id, user_id=user_id, cost=cost)
        assert await ledger.hold(tx, guild_id, user_id, job_id, cost) is True
        return job_id

    return await db.write(body)


async def settle(db: Database, how: str, job_id: int) -> bool:
    async with db.transaction() as tx:
        if how == "capture":
            return await ledger.capture(tx, job_id)
        if how == "release":
            return await ledger.release(tx, job_id, "failed")
        if how == "hold":
            job = await jobs.get_in(tx, job_id)
            assert job is not None
            return await ledger.hold(tx, job.guild_id, job.user_id, job_id, job.cost)
        raise AssertionError(how)


async def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything the ledger could change, to prove that a no-op changed nothing."""
    balances = [tuple(r) for r in await db.fetchall("SELECT * FROM balances ORDER BY guild_id, user_id")]
    entries = [tuple(r) for r in await db.fetchall("SELECT * FROM ledger_entries ORDER BY id")]
    job_rows = [tuple(r) for r in await db.fetchall("SELECT id FROM jobs ORDER BY id")]
    return balances, entries, job_rows


def kinds(entries: list[ledger.Entry]) -> list[tuple[str, int, int | None]]:
    return [(e.kind, e.amount, e.job_id) for e in entries]


async def test_grant_hold_capture(db: Database) -> None:
    await grant(db, ALICE, 100)
    job_id = await enqueue(db, ALICE, 30)
    assert await ledger.balance(db, GUILD, ALICE) == 70
    assert await ledger.held(db, GUILD, ALICE) == 30
    assert await settle(db, "capture", job_id) is True
    assert await ledger.balance(db, GUILD, ALICE) == 70
    assert await ledger.held(db, GUILD, ALICE) == 0
    assert kinds(await ledger.entries(db, GUILD, ALICE)) == [
        ("capture", 0, job_id),
        ("hold", -30, job_id),
        ("grant", 100, None),
    ]
    assert await ledger.count_entries(db, GUILD, ALICE) == 3
    assert await ledger.invariant_violations(db) == []


async def test_release_gives_the_hold_back(db: Database) -> None:
    await grant(db, ALICE, 50)
    job_id = await enqueue(db, ALICE, 20)
    assert await settle(db, "release", job_id) is True
    assert await ledger.balance(db, GUILD, ALICE) == 50
    newest = (await ledger.entries(db, GUILD, ALICE))[0]
    assert (newest.kind, newest.amount, newest.reason) == ("release", 20, "failed")
    assert await ledger.invariant_violations(db) == []


async def test_discord_ids_keep_all_64_bits(db: Database) -> None:
    await grant(db, SNOWFLAKE, 9, guild_id=SNOWFLAKE - 1)
    job_id = await enqueue(db, SNOWFLAKE, 4, guild_id=SNOWFLAKE - 1)
    assert await ledger.balance(db, SNOWFLAKE - 1, SNOWFLAKE) == 5
    job = await jobs.get(db, job_id)
    assert job is not None and (job.guild_id, job.user_id) == (SNOWFLAKE - 1, SNOWFLAKE)


@pytest.mark.parametrize("first", ["capture", "release"])
@pytest.mark.parametrize("replayed", ["hold", "capture", "release"])
async def test_a_replay_or_second_settlement_changes_nothing(db: Database, first: str, replayed: str) -> None:
    await grant(db, ALICE, 10)
    job_id = await enqueue(db, ALICE, 10)  # the whole balance: a replayed hold must not re-check it
    assert await settle(db, first, job_id) is True
    before = await snapshot(db)
    assert await settle(db, replayed, job_id) is False
    assert await settle(db, replayed, job_id) is False
    assert await snapshot(db) == before
    assert await ledger.invariant_violations(db) == []


async def test_a_replayed_hold_leaves_its_transaction_usable(db: Database) -> None:
    """The replay is a row not returned, not an error: on PostgreSQL an error would abort the
    transaction, and the job written beside it would be lost."""
    await grant(db, ALICE, 10)
    job_id = await enqueue(db, ALICE, 4)
    async with db.transaction() as tx:
        assert await ledger.hold(tx, GUILD, ALICE, job_id, 4) is False
        assert await ledger.capture(tx, job_id) is True
        assert await ledger.release(tx, job_id, "late") is False
        other = await insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=2)
        assert await ledger.hold(tx, GUILD, ALICE, other, 2) is True
    assert await ledger.balance(db, GUILD, ALICE) == 4
    assert await jobs.count(db) == 2
    assert await ledger.invariant_violations(db) == []


async def test_settling_without_a_hold_does_nothing(db: Database) -> None:
    await grant(db, ALICE, 10)
    async with db.transaction() as tx:
        job_id = await insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=3)
    before = await snapshot(db)
    assert await settle(db, "capture", job_id) is False
    assert await settle(db, "release", job_id) is False
    assert await settle(db, "capture", 424242) is False
    assert await snapshot(db) == before


async def test_a_hold_for_a_missing_job_is_an_error_not_a_replay(db: Database) -> None:
    await grant(db, ALICE, 10)
    before = await snapshot(db)
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await ledger.hold(tx, GUILD, ALICE, 424242, 3)
    assert await snapshot(db) == before


async def test_a_hold_beyond_the_balance_writes_nothing(db: Database) -> None:
    await grant(db, ALICE, 5)
    before = await snapshot(db)
    with pytest.raises(NotEnoughCredits) as caught:
        async with db.transaction() as tx:
            job_id = await insert_job(tx, guild_id=GUILD, user_id=ALICE, cost=6)
            await ledger.hold(tx, GUILD, ALICE, job_id, 6)
    assert (caught.value.balance, caught.value.cost) == (5, 6)
    assert await snapshot(db) == before


async def test_adjust_either_way_and_never_below_zero(db: Database) -> None:
    async with db.transaction() as tx:
        await ledger.adjust(tx, GUILD, ALICE, 7, actor_id=ADMIN, reason="gift")
        await ledger.adjust(tx, GUILD, ALICE, -3, actor_id=ADMIN, reason="oops")
    assert await ledger.balance(db, GUILD, ALICE) == 4
    before = await snapshot(db)
    with pytest.raises(NotEnoughCredits):
        async with db.transaction() as tx:
            await ledger.adjust(tx, GUILD, ALICE, -5, actor_id=ADMIN, reason="too much")
    with pytest.raises(NotEnoughCredits):
        async with db.transaction() as tx:
            await ledger.adjust(tx, GUILD, BOB, -1, actor_id=ADMIN, reason="nothing there")
    assert await snapshot(db) == before


async def test_a_trim_gives_the_difference_back_once(db: Database) -> None:
    await grant(db, ALICE, 20)
    job_id = await enqueue(db, ALICE, 12)
    async with db.transaction() as tx:
        assert await ledger.trim_hold(tx, job_id, 5, "cheaper model") is True
        assert await ledger.trim_hold(tx, job_id, 1, "again") is False
    assert await ledger.balance(db, GUILD, ALICE) == 20 - 12 + 7
    assert await ledger.held(db, GUILD, ALICE) == 5
    assert await settle(db, "release", job_id) is True
    assert await ledger.balance(db, GUILD, ALICE) == 20
    assert await ledger.invariant_violations(db) == []


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE balances SET balance = balance + 5 WHERE guild_id = 10 AND user_id = 501",
        "DELETE FROM balances WHERE guild_id = 10 AND user_id = 501",
        "INSERT INTO balances (guild_id, user_id, balance) VALUES (10, 503, 7)",
    ],
    ids=["inflated", "deleted", "conjured"],
)
async def test_the_audit_names_a_tampered_member(db: Database, tamper: str) -> None:
    await grant(db, ALICE, 40)
    await grant(db, BOB, 12)
    await enqueue(db, ALICE, 15)
    async with db.transaction() as tx:
        await tx.execute(tamper)
    problems = await ledger.invariant_violations(db)
    member = 503 if "503" in tamper else ALICE
    assert len(problems) == 1 and f"guild {GUILD} member {member}" in problems[0], problems


async def test_simultaneous_holds_never_overdraw(db: Database) -> None:
    await grant(db, ALICE, 10)
    results = await asyncio.gather(*(enqueue(db, ALICE, 1) for _ in range(60)), return_exceptions=True)
    won = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, NotEnoughCredits)]
    assert len(won) == 10 and len(refused) == 50, [
        r for r in results if not isinstance(r, int | NotEnoughCredits)
    ]
    assert await ledger.balance(db, GUILD, ALICE) == 0
    assert await jobs.count(db) == 10, "a refused hold leaves no job behind"
    assert await ledger.invariant_violations(db) == []


async def test_a_capture_and_a_release_racing_settle_once(db: Database) -> None:
    await grant(db, ALICE, 30)
    ids = [await enqueue(db, ALICE, 3) for _ in range(10)]
    results = await asyncio.gather(
        *(settle(db, how, job_id) for job_id in ids for how in ("capture", "release", "capture"))
    )
    assert sum(results) == len(ids), "each job settled exactly once"
    assert await ledger.held(db, GUILD, ALICE) == 0
    assert await ledger.invariant_violations(db) == []


async def test_history_pages_and_the_export_read_the_same_entries(db: Database) -> None:
    for amount in range(1, 8):
        await grant(db, ALICE, amount)
    total, first = await ledger.page(db, GUILD, ALICE, offset=0, limit=3)
    assert total == 7 and [e.amount for e in first] == [7, 6, 5]
    _, older = await ledger.page(db, GUILD, ALICE, offset=3, limit=3, older_than=first[-1].id)
    assert [e.amount for e in older] == [4, 3, 2]
    _, newer = await ledger.page(db, GUILD, ALICE, offset=0, limit=3, newer_than=older[0].id)
    assert [e.amount for e in newer] == [7, 6, 5]
    assert [e.amount for e in await ledger.entries(db, GUILD, ALICE, offset=5)] == [2, 1]
    assert await ledger.any_in(db, GUILD, 0.0, 1e12) is True
    assert await ledger.any_in(db, GUILD + 1, 0.0, 1e12) is False

    seen: list[int] = []
    after = None
    while (
        got := await ledger.guild_page(db, GUILD, 0.0, 1e12, after=after, limit=3, render=list)
    ) is not None:
        rows, count, after = got
        assert count == len(rows)
        seen += [int(r["amount"]) for r in rows]
    assert seen == list(range(1, 8))
