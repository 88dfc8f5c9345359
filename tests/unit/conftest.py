"""Shared unit-test fixtures: a real SQLite file per test and a minimal job row to hang holds on."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import pytest

from storage import jobs
from storage.db import Database
from tests.backend import open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database in ``tmp_path``, closed after the test."""
    database = await open_database(tmp_path / "t.db")
    try:
        yield database
    finally:
        await database.close()


async def insert_job(
    tx: aiosqlite.Connection, *, guild_id: int, user_id: int, cost: int, **extra: Any
) -> int:
    """Insert the smallest valid job row inside ``tx`` (the caller's transaction); returns its id."""
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


class JobInserter(Protocol):
    def __call__(
        self, tx: aiosqlite.Connection, *, guild_id: int, user_id: int, cost: int, **extra: Any
    ) -> Awaitable[int]: ...


@pytest.fixture
def new_job() -> JobInserter:
    """``await new_job(tx, guild_id=..., user_id=..., cost=...)`` inserts a minimal job row."""
    return insert_job
