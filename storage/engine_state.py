"""What the engine keeps about itself across restarts: when it last ran, and the jobs it cannot drive.

A job's deadline is a budget of the bot's *uptime*: while the bot is down nobody polls, so an outage
must not eat into it. The engine writes a heartbeat (``beat``) while it runs; the next start moves
every running job's deadline back by the time since the last beat (``credit_downtime``), in the same
transaction that records the new beat, so a start that dies half-way never credits an outage twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage import jobs
from storage.db import Database
from storage.jobs import JobRow
from storage.states import ACTIVE, sql_set
from storage.tx import Tx

_ACTIVE_SQL = sql_set(ACTIVE)


async def _beat_in(tx: Tx, now: float) -> None:
    await tx.execute(
        "INSERT INTO engine_alive (id, alive_at) VALUES (1, $1)"
        " ON CONFLICT (id) DO UPDATE SET alive_at = excluded.alive_at",
        (now,),
    )


async def beat(db: Database, now: float) -> None:
    """Record that the engine is running at ``now`` (its own clock)."""
    await db.write(lambda tx: _beat_in(tx, now))


async def credit_downtime(db: Database, now: float) -> tuple[float, int]:
    """Move the deadline of every unfinished job that has one back by the time since the last beat.

    Returns the downtime credited and how many jobs it moved (0, 0 on a first start, or when the
    last beat is not in the past). The new beat is written in the same transaction.
    """

    async def body(tx: Tx) -> tuple[float, int]:
        async with tx.execute("SELECT alive_at FROM engine_alive WHERE id = 1") as cur:
            row = await cur.fetchone()
        down = now - float(row["alive_at"]) if row is not None else 0.0
        moved = 0
        if down > 0:
            cur2 = await tx.execute(
                "UPDATE jobs SET deadline_at = deadline_at + $1"
                f" WHERE state IN {_ACTIVE_SQL} AND deadline_at IS NOT NULL",
                (down,),
            )
            moved = max(cur2.rowcount, 0)
        await _beat_in(tx, now)
        return max(down, 0.0), moved

    return await db.write(body)


async def without_profile(db: Database, profiles: Iterable[str]) -> list[JobRow]:
    """Unfinished jobs whose profile is not among ``profiles`` (the configured ones), oldest first."""
    names = sorted(set(profiles))
    rows = await db.fetchall(
        f"SELECT id FROM jobs WHERE state IN {_ACTIVE_SQL}"
        + (f" AND profile NOT IN ({jobs.marks(len(names))})" if names else ""),
        names,
    )
    found = await jobs.get_many(db, (int(r["id"]) for r in rows))
    return [found[i] for i in sorted(found)]
