"""Leases: which process drives which job (``engine_processes`` and ``jobs.lease_owner/lease_epoch``).

A process's lease is one row it renews while it lives; a job's lease is the owner's name and an
epoch on the job row. Renewing is one row a process however many jobs it drives. A job whose owner
has no live row (it lapsed, or the process said goodbye) is *free*: ``take`` gives it to the caller
and raises its epoch in the same statement, and every later write of the job by a driver names the
epoch it read (``jobs.update_in(..., lease=…)``), so the process that had it writes nothing more.

On PostgreSQL two processes taking at once skip each other's rows (``FOR UPDATE SKIP LOCKED``), so
no job is taken twice; SQLite has one writer, which orders them on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Tx
from storage.jobs import JobRow, row_of
from storage.states import ACTIVE, sql_set

_ACTIVE_SQL = sql_set(ACTIVE)
# The epoch of a job handed to a process that has not driven it yet (``Leases.hand_out``): its first take
# raises it to 0, which tells the taker the job was never shown; every other take gives 1 or more.
HANDED = -1
FORGET_AFTER = 3600.0  # seconds after its lease lapsed that a dead process's row is dropped
# What a takeover drives on: an unfinished job, or a finished one whose result was never shown.
_DRIVEN = f"delivered_at IS NULL AND (state IN {_ACTIVE_SQL} OR message_id IS NOT NULL)"


@dataclass(frozen=True)
class Peer:
    """A live process as its last renewal left it: its lease's end and the jobs it drives."""

    owner: str
    until: float
    load: int


async def renew(
    db: Database, owner: str, role: str, *, now: float, until: float, load: int = 0
) -> list[Peer]:
    """Hold (or take again, after a lapse) ``owner``'s process lease until ``until``, saying how many
    jobs it drives (``load``); forget the processes whose leases lapsed an hour ago. Returns the
    live processes, ``owner`` included: who new jobs may go to, and how many share the keys."""

    async def body(tx: Tx) -> list[Peer]:
        await tx.execute(
            "INSERT INTO engine_processes (owner, role, started_at, until, load) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (owner) DO UPDATE SET until = excluded.until, load = excluded.load",
            (owner, role, now, until, load),
        )
        # Processes that died long ago, and what they held on keys: their jobs are free either way.
        await tx.execute("DELETE FROM engine_processes WHERE until < $1", (now - FORGET_AFTER,))
        await tx.execute("DELETE FROM key_holds WHERE owner NOT IN (SELECT owner FROM engine_processes)")
        rows = await tx.execute_fetchall(
            "SELECT owner, until, load FROM engine_processes WHERE until > $1 ORDER BY owner", (now,)
        )
        return [Peer(str(r["owner"]), float(r["until"]), int(r["load"])) for r in rows]

    return await db.write(body)


async def alive(db: Database, owner: str, *, now: float) -> bool:
    """Whether ``owner``'s lease is live at ``now`` (False: another process may take its jobs)."""
    row = await db.fetchone("SELECT 1 FROM engine_processes WHERE owner = $1 AND until > $2", (owner, now))
    return row is not None


async def retire(db: Database, owner: str) -> None:
    """Say goodbye: ``owner``'s jobs are free for others at once, not when the lease would lapse."""

    async def body(tx: Tx) -> None:
        await tx.execute("DELETE FROM engine_processes WHERE owner = $1", (owner,))

    await db.write(body)


async def forget_others(db: Database, owner: str) -> int:
    """Drop every other process's lease — only for a database that one process alone may open
    (SQLite, behind its lock file): whoever held them is known to be gone."""

    async def body(tx: Tx) -> int:
        cur = await tx.execute("DELETE FROM engine_processes WHERE owner <> $1", (owner,))
        return int(cur.rowcount)

    return await db.write(body)


async def take(db: Database, owner: str, *, now: float, after: int = 0, limit: int = 500) -> list[JobRow]:
    """Give ``owner`` up to ``limit`` free jobs with ids above ``after``, oldest first, each with its
    epoch raised: the rows as they are now, to be driven from. Free means no live process holds it,
    or it was handed to ``owner`` (``hand_out_in``) and is not driven yet. A job ``owner`` drives
    already is never taken again (its driver would lose it), even when ``owner``'s own lease lapsed."""

    async def body(tx: Tx) -> list[JobRow]:
        skip = " FOR UPDATE SKIP LOCKED" if tx.backend == "postgres" else ""
        # The pick is a CTE, so it runs once (a subquery under UPDATE may be run again as rows change).
        rows = await tx.execute_fetchall(
            f"WITH picked AS (SELECT id FROM jobs WHERE {_DRIVEN} AND id > $2"
            f" AND (lease_owner IS NULL OR (lease_owner = $1 AND lease_epoch = {HANDED})"
            "  OR (lease_owner <> $1 AND lease_owner NOT IN (SELECT owner FROM engine_processes WHERE until > $3)))"
            f" ORDER BY id LIMIT $4{skip})"
            " UPDATE jobs SET lease_owner = $1, lease_epoch = lease_epoch + 1"
            " WHERE id IN (SELECT id FROM picked) RETURNING *",
            (owner, after, now, limit),
        )
        return sorted((row_of(r) for r in rows), key=lambda job: job.id)

    return await db.write(body)


def first_drive(job: JobRow) -> bool:
    """Whether ``job``, just taken, was handed out new and never driven (nor shown) by anyone."""
    return job.lease_epoch == HANDED + 1
