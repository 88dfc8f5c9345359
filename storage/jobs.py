"""The jobs table: small repository functions over plain SQL.

State changes are compare-and-set (``transition``): a job only moves from the states the caller
expects, so a late poll can never overwrite a cancel, and a restart never settles a job twice.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from storage.db import Database, Row, Tx
from storage.states import ACTIVE, NOT_SPENT, JobState, sql_set

_ACTIVE_SQL = sql_set(ACTIVE)
_NOT_SPENT_SQL = sql_set(NOT_SPENT)


@dataclass(frozen=True, slots=True)  # slots: a restart holds tens of thousands of rows at once
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
    state: JobState
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
    model_label: str | None = None  # the model as members read it (006_job_model_label)
    generation_seconds: float | None = None  # how long the vendor took, for estimates (008_call_log)
    once_key: str | None = None  # the confirmation or the queueing call that made it; unique (009)
    riff_of: int | None = None  # the job this one was made from by Again/Remix/Variation (012_riffs)
    riff_owner_id: int | None = None  # that job's member, named on the card
    riff_channel_id: int | None = None  # where the message the card links back to is
    riff_message_id: int | None = None
    lease_owner: str | None = None  # the process that drives it (015_leases)
    lease_epoch: int = 0  # raised at each takeover; a driver's writes name the one it read
    video_parts: str | None = None  # a video left in parts: their links in order, JSON (020_video_parts)

    @property
    def request(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.request_json)
        return value

    @property
    def remote_extra(self) -> dict[str, str]:
        value: dict[str, str] = json.loads(self.remote_json) if self.remote_json else {}
        return value

    @property
    def parts(self) -> tuple[str, ...]:
        """``video_parts`` read back: the links of a video the vendor left in parts, in play order."""
        if not self.video_parts:
            return ()
        value: list[str] = json.loads(self.video_parts)
        return tuple(value)

    @property
    def active(self) -> bool:
        return self.state.active


def parts_json(parts: Iterable[str]) -> str | None:
    """``video_parts`` as stored: the links as a JSON array, or NULL when there are none."""
    links = list(parts)
    return json.dumps(links) if links else None


_COLUMNS = {f.name for f in fields(JobRow)}


def row_of(row: Row) -> JobRow:
    """A ``jobs`` row as the engine reads it."""
    values = {k: row[k] for k in row.keys() if k in _COLUMNS}  # noqa: SIM118
    values["state"] = JobState(values["state"])
    return JobRow(**values)


class OnceTaken(sqlite3.IntegrityError):
    """The confirmation (``once_key``) already made a job, ``job_id``: it makes no other.

    An ``IntegrityError``, as the unique index's own error was: code that caught that catches this.
    """

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} was made by this confirmation already")
        self.job_id = job_id


async def insert(tx: Tx, **values: Any) -> int:
    """Insert a job inside the caller's transaction (the hold goes in the same one).

    A ``once_key`` another transaction used first raises ``OnceTaken`` — told by the row not
    returned, not by an error, so the caller's transaction stays usable: on PostgreSQL two presses
    of one button do race (on SQLite the write lock orders them and ``made_by_in`` sees the first).
    """
    now = time.time() if "created_at" not in values else values["created_at"]
    values.setdefault("created_at", now)
    values.setdefault("updated_at", now)
    values.setdefault("state", JobState.QUEUED)
    unknown = set(values) - _COLUMNS
    if unknown:
        raise ValueError(f"unknown job columns: {sorted(unknown)}")
    cols = ", ".join(values)
    rows = await tx.execute_fetchall(
        f"INSERT INTO jobs ({cols}) VALUES ({marks(len(values))})"
        " ON CONFLICT (once_key) WHERE once_key IS NOT NULL DO NOTHING RETURNING id",
        tuple(values.values()),
    )
    if not rows:
        made = await made_by_in(tx, str(values["once_key"]))
        assert made is not None, "only a once_key conflicts without an error"
        raise OnceTaken(made)
    return int(rows[0][0])


def marks(count: int, start: int = 1) -> str:
    """``$1, $2, …`` for ``count`` parameters from ``$start``: an ``IN`` list or a ``VALUES`` row."""
    return ", ".join(f"${i}" for i in range(start, start + count))


def _assignments(values: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """``a = $1, b = $2`` and their values; the statement's own parameters follow from ``$len+1``."""
    unknown = set(values) - _COLUMNS
    if unknown:
        raise ValueError(f"unknown job columns: {sorted(unknown)}")
    return ", ".join(f"{k} = ${i}" for i, k in enumerate(values, 1)), tuple(values.values())


def _fenced(lease: int | None, at: int) -> tuple[str, tuple[int, ...]]:
    """The condition that makes a write land only under the lease epoch a driver read (``leases``)."""
    return ("", ()) if lease is None else (f" AND lease_epoch = ${at}", (lease,))


async def update_in(tx: Tx, job_id: int, *, lease: int | None = None, **values: Any) -> bool:
    """Change a job's columns; with ``lease``, only while the job's lease epoch is still that one.
    True if the row changed."""
    values.setdefault("updated_at", time.time())
    sets, params = _assignments(values)
    fence, epoch = _fenced(lease, len(params) + 2)
    cur = await tx.execute(
        f"UPDATE jobs SET {sets} WHERE id = ${len(params) + 1}{fence}", (*params, job_id, *epoch)
    )
    return cur.rowcount == 1


async def transition_in(
    tx: Tx,
    job_id: int,
    expected: frozenset[JobState] | tuple[JobState, ...],
    state: JobState,
    *,
    lease: int | None = None,
    **values: Any,
) -> bool:
    """Move ``job_id`` to ``state`` only if it is in one of ``expected`` (and, with ``lease``, still
    under that lease epoch); True if it moved."""
    values["state"] = state
    values.setdefault("updated_at", time.time())
    sets, params = _assignments(values)
    n = len(params)
    fence, epoch = _fenced(lease, n + 2 + len(expected))
    cur = await tx.execute(
        f"UPDATE jobs SET {sets} WHERE id = ${n + 1} AND state IN ({marks(len(expected), n + 2)}){fence}",
        (*params, job_id, *(s.value for s in expected), *epoch),
    )
    return cur.rowcount == 1


async def update(db: Database, job_id: int, *, lease: int | None = None, **values: Any) -> bool:
    """Change a job's columns, as one write transaction in one trip (see ``update_in``)."""
    return await db.write(lambda tx: update_in(tx, job_id, lease=lease, **values))


async def get(db: Database, job_id: int) -> JobRow | None:
    row = await db.fetchone("SELECT * FROM jobs WHERE id = $1", (job_id,))
    return row_of(row) if row else None


async def get_in(tx: Tx, job_id: int) -> JobRow | None:
    """``get`` inside the caller's transaction (a one-trip write hands back the row it made)."""
    rows = await tx.execute_fetchall("SELECT * FROM jobs WHERE id = $1", (job_id,))
    return row_of(rows[0]) if rows else None


async def get_many(db: Database, job_ids: Iterable[int]) -> dict[int, JobRow]:
    """The jobs with these ids that exist, by id, in one read (a history page labels its entries)."""
    wanted = sorted(set(job_ids))
    if not wanted:
        return {}
    rows = await db.fetchall(f"SELECT * FROM jobs WHERE id IN ({marks(len(wanted))})", wanted)
    return {int(r["id"]): row_of(r) for r in rows}


async def active(db: Database) -> list[JobRow]:
    """Every job not yet in a terminal state, oldest first."""
    rows = await db.fetchall(f"SELECT * FROM jobs WHERE state IN {_ACTIVE_SQL} ORDER BY id")
    return [row_of(r) for r in rows]


async def active_page(db: Database, *, after: int, limit: int) -> list[JobRow]:
    """The next ``limit`` unfinished jobs with ids above ``after``, oldest first.

    A restart reads the active jobs page by page (by primary key, so each page is one index range),
    resuming each page before reading the next: tens of thousands of rows are never all in flight.
    """
    rows = await db.fetchall(
        f"SELECT * FROM jobs WHERE id > $1 AND state IN {_ACTIVE_SQL} ORDER BY id LIMIT $2", (after, limit)
    )
    return [row_of(r) for r in rows]


async def recent(db: Database, guild_id: int, user_id: int | None = None, *, limit: int = 10) -> list[JobRow]:
    """A server's jobs (one member's when ``user_id`` is given), newest first."""
    if user_id is None:
        rows = await db.fetchall(
            "SELECT * FROM jobs WHERE guild_id = $1 ORDER BY id DESC LIMIT $2", (guild_id, limit)
        )
    else:
        rows = await db.fetchall(
            "SELECT * FROM jobs WHERE guild_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3",
            (guild_id, user_id, limit),
        )
    return [row_of(r) for r in rows]


async def count(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM jobs")
    return int(row["n"]) if row else 0


async def count_active(db: Database) -> int:
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM jobs WHERE state IN {_ACTIVE_SQL}")
    return int(row["n"]) if row else 0


async def counts_by_state(db: Database) -> dict[JobState, int]:
    """How many jobs are in each state (every state present, zero when none)."""
    rows = await db.fetchall("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
    counts = dict.fromkeys(JobState, 0)
    counts.update({JobState(r["state"]): int(r["n"]) for r in rows})
    return counts


async def made_by(db: Database, once_key: str) -> int | None:
    """The job a confirmation (``once_key``) already made, if any."""
    row = await db.fetchone("SELECT id FROM jobs WHERE once_key = $1", (once_key,))
    return int(row["id"]) if row else None


async def made_by_in(tx: Tx, once_key: str) -> int | None:
    """``made_by`` inside the caller's write transaction, so a check and an insert cannot interleave."""
    async with tx.execute("SELECT id FROM jobs WHERE once_key = $1", (once_key,)) as cur:
        row = await cur.fetchone()
    return int(row["id"]) if row else None


async def undelivered(db: Database) -> list[int]:
    """Finished jobs whose result was never shown (the bot stopped between settling and posting)."""
    rows = await db.fetchall(
        f"SELECT id FROM jobs WHERE delivered_at IS NULL AND state NOT IN {_ACTIVE_SQL}"
        " AND message_id IS NOT NULL ORDER BY id"
    )
    return [int(r["id"]) for r in rows]


@dataclass(frozen=True)
class Took:
    """How long one finished job took at the vendor, for the estimates."""

    profile: str
    kind: str
    model: str
    duration: int
    seconds: float


async def recent_timings(db: Database, *, limit: int) -> list[Took]:
    """How long the newest succeeded jobs took, newest first: the learnt ``generation_seconds``
    where stored, else (older rows) submit to finish."""
    rows = await db.fetchall(
        "SELECT profile, kind, model, duration,"
        " COALESCE(generation_seconds, finished_at - submitted_at) AS took FROM jobs"
        " WHERE state = $1 AND submitted_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY id DESC LIMIT $2",
        (JobState.SUCCEEDED.value, limit),
    )
    return [Took(r["profile"], r["kind"], r["model"], int(r["duration"]), float(r["took"])) for r in rows]


async def _scalar_in(tx: Tx, sql: str, params: tuple[Any, ...]) -> int:
    async with tx.execute(sql, params) as cur:
        row = await cur.fetchone()
    return int(row[0] or 0) if row else 0


async def active_count_in(tx: Tx, guild_id: int, user_id: int | None = None) -> int:
    """Jobs in progress in a server (one member's when ``user_id`` is given), inside a transaction."""
    if user_id is None:
        return await _scalar_in(
            tx, f"SELECT COUNT(*) FROM jobs WHERE guild_id = $1 AND state IN {_ACTIVE_SQL}", (guild_id,)
        )
    return await _scalar_in(
        tx,
        f"SELECT COUNT(*) FROM jobs WHERE guild_id = $1 AND user_id = $2 AND state IN {_ACTIVE_SQL}",
        (guild_id, user_id),
    )


async def spent_since_in(tx: Tx, guild_id: int, user_id: int, since: float) -> int:
    """Credits a member's jobs since ``since`` cost, leaving out jobs whose credits came back."""
    return await _scalar_in(
        tx,
        "SELECT SUM(cost) FROM jobs WHERE guild_id = $1 AND user_id = $2 AND created_at >= $3"
        f" AND state NOT IN {_NOT_SPENT_SQL}",
        (guild_id, user_id, since),
    )
