"""Models a vendor stopped serving, and the once-a-day notices about them: plain SQL.

The engine marks a model unavailable the first time a vendor answers "this model is not served";
the mark outlives a restart so members are not offered it again, and it lapses after a day so a
model that comes back is tried again.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Tx


async def _run(tx: Tx, sql: str, *params: object) -> None:
    await tx.execute(sql, params)


@dataclass(frozen=True)
class Outage:
    profile: str
    model: str
    since: float
    code: str


async def mark(db: Database, profile: str, model: str, since: float, code: str) -> bool:
    """Record the outage; True when it is new (not already recorded)."""

    async def body(tx: Tx) -> bool:
        cur = await tx.execute(
            "INSERT INTO model_outages (profile, model, since, code) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (profile, model) DO NOTHING",
            (profile, model, since, code),
        )
        return cur.rowcount == 1

    return await db.write(body)


async def clear(db: Database, profile: str, model: str) -> None:
    await db.write(
        lambda tx: _run(tx, "DELETE FROM model_outages WHERE profile = $1 AND model = $2", profile, model)
    )


async def current(db: Database, since: float) -> list[Outage]:
    """Outages recorded at or after ``since``; older ones are dropped as they lapse."""
    await db.write(lambda tx: _run(tx, "DELETE FROM model_outages WHERE since < $1", since))
    rows = await db.fetchall("SELECT profile, model, since, code FROM model_outages ORDER BY since")
    return [Outage(r["profile"], r["model"], float(r["since"]), r["code"]) for r in rows]


async def claim_notice(db: Database, guild_id: int, profile: str, model: str, day: str) -> bool:
    """True for the first caller of the day for this server and model: that one tells the managers."""

    async def body(tx: Tx) -> bool:
        cur = await tx.execute(
            "INSERT INTO model_notices (guild_id, profile, model, day) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING",
            (guild_id, profile, model, day),
        )
        return cur.rowcount == 1

    return await db.write(body)
