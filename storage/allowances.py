"""Who has had which once-only credits: a member's balance row (the welcome grant) and the
``allowance_grants`` claims, one per member and period.

A claim is an insert that does nothing when it exists, so the grant that follows it happens exactly
once however many commands race for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Tx


@dataclass(frozen=True)
class Standing:
    """A member's balance as last written (None: they never had one) and whether ``period`` was claimed."""

    balance: int | None
    claimed: bool


async def open_account_in(tx: Tx, guild_id: int, user_id: int) -> bool:
    """Create the member's balance row at 0; True only the first time (when the welcome grant is due)."""
    cur = await tx.execute(
        "INSERT INTO balances (guild_id, user_id, balance) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING",
        (guild_id, user_id),
    )
    return cur.rowcount == 1


async def claim_in(tx: Tx, guild_id: int, user_id: int, period: str, now: float) -> bool:
    """Claim the member's allowance for ``period``; True only for the first claim."""
    cur = await tx.execute(
        "INSERT INTO allowance_grants (guild_id, user_id, period, granted_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        (guild_id, user_id, period, now),
    )
    return cur.rowcount == 1


async def standing(db: Database, guild_id: int, user_id: int, period: str) -> Standing:
    """Balance and claim in one read: enough to tell, without writing, whether a top-up is due."""
    row = await db.fetchone(
        "SELECT (SELECT balance FROM balances WHERE guild_id = $1 AND user_id = $2) AS balance,"
        " (SELECT 1 FROM allowance_grants WHERE guild_id = $3 AND user_id = $4 AND period = $5) AS claimed",
        (guild_id, user_id, guild_id, user_id, period),
    )
    if row is None:
        return Standing(None, False)
    return Standing(None if row["balance"] is None else int(row["balance"]), bool(row["claimed"]))
