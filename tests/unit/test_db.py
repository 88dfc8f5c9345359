"""The database file: created on first run, migrated once, configured for a bot that restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.db import Database, _migrations
from storage.faults import INTEGRITY_ERRORS
from tests.backend import open_database


@pytest.mark.sqlite_only("the SQLite file: created on first open, in WAL mode, with its pragmas")
async def test_first_open_creates_and_migrates(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new" / "s.db")
    try:
        assert await db.schema_version() == len(_migrations())
        mode = await db.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        fk = await db.fetchone("PRAGMA foreign_keys")
        assert fk is not None and fk[0] == 1
        tables = {r["name"] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"jobs", "balances", "ledger_entries", "schema_version"} <= tables
    finally:
        await db.close()


async def test_reopen_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = await open_database(path)
    await db.close()
    db = await open_database(path, migrate=False)
    try:
        assert await db.migrate() == []
        rows = await db.fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, len(_migrations(db.backend)) + 1))
    finally:
        await db.close()


async def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "s.db")
    try:
        with pytest.raises(INTEGRITY_ERRORS):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, 2, 5)")
                await tx.execute("INSERT INTO balances (guild_id, user_id, balance) VALUES (1, 3, -1)")
        assert await db.fetchall("SELECT * FROM balances") == []
    finally:
        await db.close()


def test_migrations_are_numbered_without_gaps() -> None:
    numbers = [n for n, _, _ in _migrations()]
    assert numbers == list(range(1, len(numbers) + 1))
