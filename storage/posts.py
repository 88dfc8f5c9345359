"""The outbox for a job's other messages (``posts``): the gallery copy of a finished video.

The same protocol as a result (``storage.outbox``), one row per (job, kind): ``plan`` makes the row
before anything is sent (so a crash after the result still leaves the gallery post to do), ``claim``
starts one attempt and says whether an earlier one went out unanswered, ``release`` is for an attempt
Discord refused, ``mark_sent`` records the message, and ``drop`` gives up on a channel that is gone.
A row's ``channel_id`` is fixed when it is planned.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Tx
from storage.outbox import ERROR_CHARS, Claim

GALLERY = "gallery"
PENDING, CLAIMED, SENT, DROPPED = "pending", "claimed", "sent", "dropped"


@dataclass(frozen=True)
class PostClaim(Claim):
    channel_id: int = 0
    dropped: bool = False  # given up on: post nothing


async def plan(db: Database, job_id: int, kind: str, channel_id: int, *, nonce: str, now: float) -> None:
    """Make the job's ``kind`` post pending, once (a second plan changes nothing, not even the channel)."""

    async def body(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO posts (job_id, kind, channel_id, nonce, state, attempts, created_at)"
            " VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (job_id, kind) DO NOTHING",
            (job_id, kind, channel_id, nonce, PENDING, now),
        )

    await db.write(body)


async def claim(db: Database, job_id: int, kind: str, *, now: float) -> PostClaim | None:
    """Claim a planned post for one attempt; ``None`` when none was planned."""

    async def body(tx: Tx) -> PostClaim | None:
        async with tx.execute(
            "SELECT channel_id, nonce, state, attempts, claimed_at, message_id FROM posts"
            " WHERE job_id = $1 AND kind = $2",
            (job_id, kind),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        channel, nonce, attempts = int(row["channel_id"]), str(row["nonce"]), int(row["attempts"])
        if row["state"] == SENT:
            return PostClaim(job_id, nonce, attempts, int(row["message_id"]), channel_id=channel)
        if row["state"] == DROPPED:
            return PostClaim(job_id, nonce, attempts, channel_id=channel, dropped=True)
        interrupted = float(row["claimed_at"]) if row["state"] == CLAIMED else None
        await tx.execute(
            "UPDATE posts SET state = $1, attempts = $2, claimed_at = $3 WHERE job_id = $4 AND kind = $5",
            (CLAIMED, attempts + 1, now, job_id, kind),
        )
        return PostClaim(job_id, nonce, attempts + 1, interrupted_at=interrupted, channel_id=channel)

    return await db.write(body)


async def _set(db: Database, job_id: int, kind: str, sql: str, params: tuple[object, ...]) -> None:
    async def body(tx: Tx) -> None:
        await tx.execute(sql, (*params, job_id, kind))

    await db.write(body)


async def release(db: Database, job_id: int, kind: str, error: str) -> None:
    """Discord refused the attempt (nothing was posted): pending again."""
    await _set(
        db,
        job_id,
        kind,
        "UPDATE posts SET state = $1, last_error = $2 WHERE job_id = $3 AND kind = $4",
        (PENDING, error[:ERROR_CHARS]),
    )


async def mark_sent(db: Database, job_id: int, kind: str, message_id: int, *, now: float) -> None:
    await _set(
        db,
        job_id,
        kind,
        "UPDATE posts SET state = $1, sent_at = $2, message_id = $3 WHERE job_id = $4 AND kind = $5",
        (SENT, now, message_id),
    )


async def drop(db: Database, job_id: int, kind: str, error: str) -> None:
    """Nothing more to try (the channel is gone, or the bot may not post there)."""
    await _set(
        db,
        job_id,
        kind,
        "UPDATE posts SET state = $1, last_error = $2 WHERE job_id = $3 AND kind = $4",
        (DROPPED, error[:ERROR_CHARS]),
    )


@dataclass(frozen=True)
class Post:
    job_id: int
    kind: str
    channel_id: int
    state: str
    attempts: int
    message_id: int | None
    last_error: str | None


async def get(db: Database, job_id: int, kind: str) -> Post | None:
    row = await db.fetchone(
        "SELECT job_id, kind, channel_id, state, attempts, message_id, last_error FROM posts"
        " WHERE job_id = $1 AND kind = $2",
        (job_id, kind),
    )
    if row is None:
        return None
    message = row["message_id"]
    return Post(
        int(row["job_id"]),
        str(row["kind"]),
        int(row["channel_id"]),
        str(row["state"]),
        int(row["attempts"]),
        None if message is None else int(message),
        row["last_error"],
    )


async def unsent_jobs(db: Database) -> list[int]:
    """Jobs with a post still to send (re-announced at start, and kept by the video sweep)."""
    rows = await db.fetchall(
        "SELECT DISTINCT job_id FROM posts WHERE state IN ($1, $2) ORDER BY job_id", (PENDING, CLAIMED)
    )
    return [int(r["job_id"]) for r in rows]
