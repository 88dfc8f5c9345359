"""The calls made on each budgeted API key in the last hour: plain SQL.

A vendor's hourly budget does not restart when the bot does, so neither may the bot's count of it.
Rows are named by key id (a hash of the key, see ``bot.engine.key_budget.key_id``), never by the key.
Calls older than the hour are dropped as new ones are written.
"""

from __future__ import annotations

from collections import defaultdict

from storage.db import Database, Tx


async def record(db: Database, key_id: str, at: float, *, forget_before: float) -> None:
    """Log one call of ``key_id`` at ``at``, and forget that key's calls from before ``forget_before``."""

    async def body(tx: Tx) -> None:
        await tx.execute("INSERT INTO key_calls (key_id, at) VALUES ($1, $2)", (key_id, at))
        await tx.execute("DELETE FROM key_calls WHERE key_id = $1 AND at < $2", (key_id, forget_before))

    await db.write(body)  # one trip


async def since(db: Database, start: float) -> dict[str, list[float]]:
    """Every logged call after ``start``, by key id, oldest first."""
    rows = await db.fetchall("SELECT key_id, at FROM key_calls WHERE at > $1 ORDER BY at", (start,))
    calls: defaultdict[str, list[float]] = defaultdict(list)
    for row in rows:
        calls[row["key_id"]].append(float(row["at"]))
    return dict(calls)
