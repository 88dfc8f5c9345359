"""The conformance suite's fixture: every test here runs once on SQLite and once on PostgreSQL.

The repositories promise the same behaviour on both backends, so the same test, unchanged, checks
both (saq's one ``TestQueue`` per backend). The PostgreSQL run needs the session's throwaway
cluster (``tests/conftest.py``): skipped with the reason where PostgreSQL is not installed, never
under CI.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage import jobs
from storage.db import Database
from storage.postgres import PostgresDatabase
from storage.tx import Tx

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """What ``Database.open`` is given: an SQLite file, or a fresh PostgreSQL database's URL."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "conformance.db"


@pytest.fixture
async def pair(pg_url: str) -> AsyncIterator[tuple[PostgresDatabase, PostgresDatabase]]:
    """Two databases on one PostgreSQL database, each its own pool: process A and process B."""
    a = await Database.open(pg_url)
    b = await Database.open(pg_url)
    assert isinstance(a, PostgresDatabase) and isinstance(b, PostgresDatabase)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


@pytest.fixture
async def db(target: Path | str) -> AsyncIterator[Database]:
    """A migrated, empty database of each backend, closed after the test."""
    database = await Database.open(target)
    try:
        yield database
    finally:
        await database.close()


async def insert_job(tx: Tx, *, guild_id: int, user_id: int, cost: int, **extra: Any) -> int:
    """The smallest valid job row, inside ``tx``; returns its id."""
    values: dict[str, Any] = {
        "guild_id": guild_id,
        "channel_id": 1000 + guild_id,
        "user_id": user_id,
        "profile": "test",
        "kind": "text",
        "model": "sora-2",
        "duration": 4,
        "request_json": '{"prompt": "a cat"}',
        "cost": cost,
    }
    values.update(extra)
    return await jobs.insert(tx, **values)
