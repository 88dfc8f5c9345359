"""The two kinds of connection: reads that never wait for a write, writes that run whole or not at all."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import ledger
from storage.db import Database, Tx

GUILD, ALICE = 1, 2


async def test_a_read_does_not_wait_for_an_open_write_and_sees_only_what_was_committed(db: Database) -> None:
    async with db.transaction() as tx:
        await ledger.grant(tx, GUILD, ALICE, 5, actor_id=None, reason="first")
    opened, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await ledger.grant(tx, GUILD, ALICE, 10, actor_id=None, reason="second")
            opened.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await opened.wait()
    async with asyncio.timeout(1):  # the write transaction is still open: the read must not queue behind it
        assert await ledger.balance(db, GUILD, ALICE) == 5
    release.set()
    await task
    assert await ledger.balance(db, GUILD, ALICE) == 15


async def test_a_one_trip_write_returns_its_value_and_rolls_back_when_it_raises(db: Database) -> None:
    async def grant_then_fail(tx: Tx) -> None:
        await ledger.grant(tx, GUILD, ALICE, 7, actor_id=None, reason="x")
        raise ValueError("no")

    async def grant(tx: Tx) -> int:
        await ledger.grant(tx, GUILD, ALICE, 3, actor_id=None, reason="y")
        return await ledger.balance_in(tx, GUILD, ALICE)

    with pytest.raises(ValueError, match="no"):
        await db.write(grant_then_fail)
    assert await ledger.balance(db, GUILD, ALICE) == 0
    assert await db.write(grant) == 3
    assert await ledger.entries(db, GUILD, ALICE) != []


@pytest.mark.sqlite_only(
    "a one-trip body runs on the write connection's thread; a PostgreSQL body may await anything"
)
async def test_a_one_trip_body_that_awaits_anything_else_is_refused_and_rolled_back(db: Database) -> None:
    async def sleeps(tx: Tx) -> None:
        await ledger.grant(tx, GUILD, ALICE, 7, actor_id=None, reason="x")
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="awaited something other"):
        await db.write(sleeps)
    assert await ledger.balance(db, GUILD, ALICE) == 0


@pytest.mark.sqlite_only("SQLite's read connections are query_only; PostgreSQL's reads share the pool")
async def test_read_connections_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.fetchall("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, 2, 3)")
    with pytest.raises(sqlite3.OperationalError):
        await db.read(lambda tx: ledger.grant(tx, GUILD, ALICE, 1, actor_id=None, reason="x"))
    assert await ledger.balance(db, GUILD, ALICE) == 0


@pytest.mark.sqlite_only("SQLite's connections (readers=0)")
async def test_without_read_connections_reads_go_to_the_write_one(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "one.db", readers=0)
    try:
        assert len(db.connections) == 1
        await db.write(lambda tx: ledger.grant(tx, GUILD, ALICE, 4, actor_id=None, reason="x"))
        assert await ledger.balance(db, GUILD, ALICE) == 4
        assert await ledger.page(db, GUILD, ALICE, offset=0, limit=10) == (
            1,
            await ledger.entries(db, GUILD, ALICE),
        )
    finally:
        await db.close()


@pytest.mark.sqlite_only("sqlite3's ProgrammingError on a closed connection")
async def test_a_closed_database_refuses_politely(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "c.db")
    await db.close()
    with pytest.raises(sqlite3.ProgrammingError):
        await db.fetchall("SELECT 1")
