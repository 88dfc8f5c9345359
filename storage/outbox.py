"""The delivery outbox (``deliveries``): a job's result is claimed before it is posted, marked after.

One row per job. ``claim`` returns what the poster needs to decide: the result was already sent
(post nothing), or an earlier attempt went out and was never answered (``interrupted_at``: the
message may exist, so it is sent again with the same nonce, or looked up first when the nonce has
aged out). ``release`` is for an attempt Discord answered with an error — nothing was posted — and
``mark_sent`` records the message and the job's ``delivered_at`` in one transaction.

Only the process driving a job (its lease, ``storage.leases``) posts its result, one attempt at a
time; should two processes still claim at once (one that lost the lease and does not know it yet),
the row is locked for the claim (PostgreSQL ``FOR UPDATE``; SQLite has one writer), so the second
sees the first's claim as an attempt in flight and posts with the same nonce, which Discord answers
with the first message rather than a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.db import Database, Tx

PENDING, CLAIMED, SENT = "pending", "claimed", "sent"
ERROR_CHARS = 500


@dataclass(frozen=True)
class Claim:
    job_id: int
    nonce: str
    attempts: int  # this one included
    sent_message_id: int | None = None  # set: the result is already out; post nothing
    interrupted_at: float | None = None  # an earlier attempt went out then and was never answered

    @property
    def sent(self) -> bool:
        return self.sent_message_id is not None


async def claim(db: Database, job_id: int, *, nonce: Callable[[], str], now: float) -> Claim:
    """Claim the job's result for one attempt (creating its row with a fresh ``nonce()`` if new)."""

    async def body(tx: Tx) -> Claim:
        value = nonce()
        made = await tx.execute_fetchall(
            "INSERT INTO deliveries (job_id, nonce, state, attempts, claimed_at, created_at)"
            " VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (job_id) DO NOTHING RETURNING job_id",
            (job_id, value, CLAIMED, now, now),
        )
        if made:
            return Claim(job_id, value, 1)
        lock = " FOR UPDATE" if tx.backend == "postgres" else ""
        async with tx.execute(
            f"SELECT nonce, state, attempts, claimed_at, message_id FROM deliveries WHERE job_id = $1{lock}",
            (job_id,),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None, "the row the insert ran into"
        if row["state"] == SENT:
            return Claim(job_id, row["nonce"], int(row["attempts"]), sent_message_id=int(row["message_id"]))
        interrupted = float(row["claimed_at"]) if row["state"] == CLAIMED else None
        attempts = int(row["attempts"]) + 1
        await tx.execute(
            "UPDATE deliveries SET state = $1, attempts = $2, claimed_at = $3 WHERE job_id = $4",
            (CLAIMED, attempts, now, job_id),
        )
        return Claim(job_id, row["nonce"], attempts, interrupted_at=interrupted)

    return await db.write(body)  # one trip


async def release(db: Database, job_id: int, error: str) -> None:
    """Discord refused the attempt (nothing was posted): the result is pending again."""

    async def body(tx: Tx) -> None:
        await tx.execute(
            "UPDATE deliveries SET state = $1, last_error = $2 WHERE job_id = $3 AND state = $4",
            (PENDING, error[:ERROR_CHARS], job_id, CLAIMED),
        )

    await db.write(body)


async def mark_sent(db: Database, job_id: int, message_id: int, *, now: float) -> None:
    """The result is ``message_id``; the job counts as delivered (``jobs.delivered_at``) from now."""

    async def body(tx: Tx) -> None:
        await tx.execute(
            "UPDATE deliveries SET state = $1, sent_at = $2, message_id = $3 WHERE job_id = $4",
            (SENT, now, message_id, job_id),
        )
        await tx.execute(
            "UPDATE jobs SET delivered_at = $1, updated_at = $2 WHERE id = $3 AND delivered_at IS NULL",
            (now, now, job_id),
        )

    await db.write(body)  # both in one trip


@dataclass(frozen=True)
class Entry:
    job_id: int
    nonce: str
    state: str
    attempts: int
    claimed_at: float | None
    message_id: int | None
    last_error: str | None


async def get(db: Database, job_id: int) -> Entry | None:
    row = await db.fetchone(
        "SELECT job_id, nonce, state, attempts, claimed_at, message_id, last_error FROM deliveries"
        " WHERE job_id = $1",
        (job_id,),
    )
    if row is None:
        return None
    return Entry(
        int(row["job_id"]),
        row["nonce"],
        row["state"],
        int(row["attempts"]),
        None if row["claimed_at"] is None else float(row["claimed_at"]),
        None if row["message_id"] is None else int(row["message_id"]),
        row["last_error"],
    )


async def unsent_count(db: Database) -> int:
    """Results claimed or pending but not yet posted (for ``doctor`` and the metrics)."""
    row = await db.fetchone(f"SELECT COUNT(*) AS n FROM deliveries WHERE state != '{SENT}'")
    return int(row["n"]) if row else 0
