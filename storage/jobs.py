"""The jobs table: small repository functions over plain SQL.

State changes are compare-and-set (``transition``): a job only moves from the states the caller
expects, so a late poll can never overwrite a cancel, and a restart never settles a job twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, fields
from typing import Any

import aiosqlite

from storage.db import Database

ACTIVE_STATES = ("queued", "submitting", "running")
TERMINAL_STATES = ("succeeded", "failed", "timed_out", "cancelled")


@dataclass(frozen=True)
class JobRow:
    id: int
    guild_id: int
    channel_id: int
    user_id: int
    application_id: int | None
    interaction_token: str | None
    interaction_expires_at: float | None
    message_id: int | None
    locale: str | None
    profile: str
    kind: str
    model: str
    duration: int
    request_json: str
    cost: int
    state: str
    key_name: str | None
    remote_id: str | None
    remote_json: str | None
    stage: str | None
    progress_pct: int | None
    step: int | None
    step_count: int | None
    step_name: str | None
    storyboard_prompt: str | None
    storyboard_image_url: str | None
    video_url: str | None
    error_code: str | None
    error_message: str | None
    polls: int
    delivered_at: float | None
    created_at: float
    submitted_at: float | None
    finished_at: float | None
    deadline_at: float | None
    updated_at: float
    upload_limit: int | None = None  # bytes the interaction allowed to upload (003_delivery)
    video_path: str | None = None  # the saved video when the vendor gave bytes (003_delivery)
    error_i18n: str | None = None  # error_message as a catalog key + params, JSON (005_job_error_i18n)

    @property
    def request(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.request_json)
        return value

    @property
    def remote_extra(self) -> dict[str, str]:
        value: dict[str, str] = json.loads(self.remote_json) if self.remote_json else {}
        return value

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


_COLUMNS = {f.name for f in fields(JobRow)}


def _row(row: sqlite3.Row) -> JobRow:
    return JobRow(**{k: row[k] for k in row.keys() if k in _COLUMNS})  # noqa: SIM118


async def insert(tx: aiosqlite.Connection, **values: Any) -> int:
    """Insert a job inside the caller's transaction (the hold goes in the same one)."""
    now = time.time() if "created_at" not in values else values["created_at"]
    values.setdefault("created_at", now)
    values.setdefault("updated_at", now)
    values.setdefault("state", "queued")
    unknown = set(values) - _COLUMNS
    if unknown:
        raise ValueError(f"unknown job columns: {sorted(unknown)}")
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cur = await tx.execute(f"INSERT INTO jobs ({cols}) VALUES ({marks})", tuple(values.values()))
    assert cur.lastrowid is not None
    return cur.lastrowid


def _assignments(values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    unknown = set(values) - _COLUMNS
    if unknown:
        raise ValueError(f"unknown job columns: {sorted(unknown)}")
    return ", ".join(f"{k} = ?" for k in values), tuple(values.values())


async def update_in(tx: aiosqlite.Connection, job_id: int, **values: Any) -> None:
    values.setdefault("updated_at", time.time())
    sets, params = _assignments(values)
    await tx.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*params, job_id))


async def transition_in(
    tx: aiosqlite.Connection, job_id: int, expected: tuple[str, ...], state: str, **values: Any
) -> bool:
    """Move ``job_id`` to ``state`` only if it is in one of ``expected``; True if it moved."""
    values["state"] = state
    values.setdefault("updated_at", time.time())
    sets, params = _assignments(values)
    marks = ", ".join("?" for _ in expected)
    cur = await tx.execute(
        f"UPDATE jobs SET {sets} WHERE id = ? AND state IN ({marks})", (*params, job_id, *expected)
    )
    return cur.rowcount == 1


async def update(db: Database, job_id: int, **values: Any) -> None:
    async with db.transaction() as tx:
        await update_in(tx, job_id, **values)


async def get(db: Database, job_id: int) -> JobRow | None:
    row = await db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
    return _row(row) if row else None


async def active(db: Database) -> list[JobRow]:
    """Every job not yet in a terminal state, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM jobs WHERE state IN ('queued', 'submitting', 'running') ORDER BY id"
    )
    return [_row(r) for r in rows]


async def recent(db: Database, guild_id: int, user_id: int | None = None, *, limit: int = 10) -> list[JobRow]:
    """A server's jobs (one member's when ``user_id`` is given), newest first."""
    if user_id is None:
        rows = await db.fetchall(
            "SELECT * FROM jobs WHERE guild_id = ? ORDER BY id DESC LIMIT ?", (guild_id, limit)
        )
    else:
        rows = await db.fetchall(
            "SELECT * FROM jobs WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, user_id, limit),
        )
    return [_row(r) for r in rows]


async def count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM jobs")
    return int(row["n"]) if row else 0
