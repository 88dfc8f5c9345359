"""The interface itself on both backends: chosen by what it is opened on, migrated once to the same
version, transactions that land whole or not at all, and SQL written once (``$n`` parameters)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from storage.db import Database, _migrations, is_url, latest_version
from storage.faults import INTEGRITY_ERRORS
from storage.tx import Tx

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r'"[^"\n]*\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES|SET)\b[^"\n]*\?[^"\n]*"')


def test_both_backends_ship_the_same_migrations() -> None:
    """Same numbers and names: a schema version means the same tables on SQLite and PostgreSQL."""
    sqlite = [(n, name) for n, name, _ in _migrations("sqlite")]
    postgres = [(n, name) for n, name, _ in _migrations("postgres")]
    assert postgres == sqlite, "each storage/migrations/NNN_x.sql needs its twin in storage/migrations_pg/"
    assert latest_version("postgres") == latest_version("sqlite") == len(sqlite)


def test_postgres_migrations_keep_discord_ids_64_bit() -> None:
    for _, name, sql in _migrations("postgres"):
        assert not re.search(r"\b(INTEGER|REAL)\b", sql), f"{name}: BIGINT and DOUBLE PRECISION on PostgreSQL"


def test_storage_sql_uses_numbered_parameters() -> None:
    """``?`` is SQLite's alone; ``$1`` reads the same to both backends."""
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in sorted((ROOT / "storage").glob("*.py"))
        for m in PLACEHOLDER.finditer(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_a_url_is_postgresql_and_anything_else_a_file() -> None:
    assert is_url("postgresql://u@h/db") and is_url("postgres://h/db")
    assert not is_url(Path("postgresql.db")) and not is_url("data/soracord.db")


async def test_opened_migrated_and_reopened(db: Database, target: Path | str) -> None:
    assert db.backend == ("postgres" if is_url(target) else "sqlite")
    assert await db.schema_version() == latest_version(db.backend)
    again = await Database.open(target)
    try:
        assert await again.migrate() == []
        rows = await again.fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, latest_version(db.backend) + 1))
    finally:
        await again.close()


async def test_a_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, 2, 5)")
            await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, 3, -1)")

    async def body(tx: Tx) -> None:
        await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES ($1, $2, $3)", (1, 4, 5))
        raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await db.write(body)
    assert await db.fetchall("SELECT * FROM balances") == []


async def test_a_write_returns_its_value_and_a_read_sees_it(db: Database) -> None:
    async def body(tx: Tx) -> int:
        cur = await tx.execute(
            "INSERT INTO balances (guild_id, user_id, balance) VALUES ($1, $2, $3), ($1, $4, $3)",
            (1, 2, 5, 3),
        )
        return cur.rowcount

    assert await db.write(body) == 2

    async def read(tx: Tx) -> list[int]:
        rows = await tx.execute_fetchall(
            "SELECT user_id FROM balances WHERE guild_id = $1 ORDER BY user_id", (1,)
        )
        return [int(r[0]) for r in rows]

    assert await db.read(read) == [2, 3]
    row = await db.fetchone("SELECT COUNT(*) AS n, SUM(balance) AS total FROM balances")
    assert row is not None and (row["n"], int(row["total"])) == (2, 10)
    assert await db.fetchone("SELECT 1 FROM balances WHERE guild_id = $1", (99,)) is None


async def test_a_write_once_sent_lands_whole_even_if_its_caller_is_cancelled(db: Database) -> None:
    async def body(tx: Tx) -> None:
        for user in range(20):
            await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, $1, 1)", (user,))

    caller = asyncio.ensure_future(db.write(body))
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    for _ in range(200):  # the transaction goes on without its caller
        row = await db.fetchone("SELECT COUNT(*) FROM balances")
        if row is not None and row[0] == 20:
            break
        await asyncio.sleep(0.01)
    row = await db.fetchone("SELECT COUNT(*) FROM balances")
    assert row is not None and row[0] == 20


async def test_each_shard_is_connected_by_one_process_at_a_time(db: Database, target: Path | str) -> None:
    """Two gateways on one shard would both answer its commands: the second is refused; shards apart
    are fine; a gateway of every shard excludes all others; a lock goes with its process."""
    sqlite = db.backend == "sqlite"  # one process in all: the file lock's job, so every claim passes here
    assert await db.claim_gateway([0, 1]) is True
    others = [await Database.open(target, migrate=False) for _ in range(2)]
    try:
        assert await others[0].claim_gateway([1, 2]) is sqlite  # shard 1 is taken
        assert await others[0].claim_gateway([2, 3]) is True  # nothing of the refused claim stayed held
        assert await others[1].claim_gateway(None) is sqlite  # every shard: not while any is connected
    finally:
        for other in others:
            await other.close()
    await db.close()
    after = await Database.open(target, migrate=False)
    try:
        assert await after.claim_gateway(None) is True, "the locks went with their processes"
    finally:
        await after.close()


async def test_text_with_a_nul_character_is_kept(db: Database) -> None:
    """PostgreSQL's text holds no NUL: it is stored as U+FFFD there, never an internal error."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO model_outages (profile, model, since, code) VALUES ($1, $2, $3, $4)",
            ("p", "m", 1.0, "a\x00b"),
        )
    row = await db.fetchone("SELECT code FROM model_outages WHERE code LIKE $1", ("a%",))
    assert row is not None and row["code"] in ("a\x00b", "a\ufffdb")
