"""Video bytes kept in the database (``video_bytes``) so every process sharing it can deliver them.

A vendor that hands the video over as bytes leaves no link anyone can fetch; the engine saves them to
its own ``videos/`` folder (``bot.videos``). On PostgreSQL the job's result may be posted by another
process on another machine after a takeover, where that file does not exist, so the bytes are kept
here too (``bot.videos`` decides when) until nothing needs them: the result is out and no gallery
post is pending (``sweep``). Plain SQL with ``$n`` parameters, the same on both backends.
"""

from __future__ import annotations

from storage.db import Database, Tx
from storage.posts import CLAIMED, PENDING

_PUT = (
    "INSERT INTO video_bytes (job_id, data, size, created_at) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (job_id) DO UPDATE SET data = excluded.data, size = excluded.size,"
    " created_at = excluded.created_at"
)

# A row whose job's result is out (``jobs.delivered_at``) and that no gallery post still waits for;
# or one older than the retention whose job has no result waiting (a job that never got a card, which
# ``delivered_at`` would never mark). The same rule as the files in ``videos/`` (``bot.retention``).
_SWEEP = (
    "DELETE FROM video_bytes WHERE job_id NOT IN (SELECT job_id FROM posts WHERE state IN ($1, $2))"
    " AND (job_id IN (SELECT id FROM jobs WHERE delivered_at IS NOT NULL)"
    "      OR (created_at < $3 AND job_id NOT IN"
    "          (SELECT id FROM jobs WHERE delivered_at IS NULL AND message_id IS NOT NULL)))"
)


async def _run(tx: Tx, sql: str, *params: object) -> int:
    cur = await tx.execute(sql, params)
    return int(cur.rowcount)


async def put(db: Database, job_id: int, data: bytes, *, now: float) -> None:
    """Keep ``data`` as the job's video (replacing an earlier copy: a retried save writes it again)."""
    await db.write(lambda tx: _run(tx, _PUT, job_id, data, len(data), now))


async def get(db: Database, job_id: int) -> bytes | None:
    """The job's video bytes, or None when none are kept (never stored, too large, or swept)."""
    row = await db.fetchone("SELECT data FROM video_bytes WHERE job_id = $1", (job_id,))
    return bytes(row["data"]) if row is not None else None


async def drop(db: Database, job_id: int) -> bool:
    """Forget the job's bytes; True when there were some."""
    return await db.write(lambda tx: _run(tx, "DELETE FROM video_bytes WHERE job_id = $1", job_id)) > 0


async def sweep(db: Database, *, before: float) -> int:
    """Drop the rows nothing will read again (see ``_SWEEP``); returns how many went."""
    return await db.write(lambda tx: _run(tx, _SWEEP, PENDING, CLAIMED, before))
