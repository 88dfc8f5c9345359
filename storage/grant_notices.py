"""Grants a member has not been told about: written with the grant, taken once when shown.

A manager's ``/credits-admin grant`` answers the manager; the member learns of it with their next
command. Every command asks ``any_for`` (one read of an index), so the common answer — nothing —
costs next to nothing; ``take`` deletes and returns the rows in one statement, so two commands
finishing at once never show the same grant twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database, Row, Tx


@dataclass(frozen=True)
class GrantNotice:
    guild_id: int
    user_id: int
    actor_id: int | None
    amount: int
    reason: str
    created_at: float


def _notice(row: Row) -> GrantNotice:
    return GrantNotice(
        guild_id=int(row["guild_id"]),
        user_id=int(row["user_id"]),
        actor_id=None if row["actor_id"] is None else int(row["actor_id"]),
        amount=int(row["amount"]),
        reason=str(row["reason"]),
        created_at=float(row["created_at"]),
    )


async def add_in(tx: Tx, notice: GrantNotice) -> None:
    """Remember a grant for the member (inside the grant's own transaction)."""
    await tx.execute(
        "INSERT INTO grant_notices (guild_id, user_id, actor_id, amount, reason, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        (notice.guild_id, notice.user_id, notice.actor_id, notice.amount, notice.reason, notice.created_at),
    )


async def any_for(db: Database, guild_id: int, user_id: int) -> bool:
    """Whether the member has a grant to be told about: one index lookup, no row read."""
    row = await db.fetchone(
        "SELECT 1 FROM grant_notices WHERE guild_id = $1 AND user_id = $2 LIMIT 1", (guild_id, user_id)
    )
    return row is not None


async def take(db: Database, guild_id: int, user_id: int) -> list[GrantNotice]:
    """The member's notices, oldest first, deleted in the same statement (shown once)."""

    async def body(tx: Tx) -> list[GrantNotice]:
        async with tx.execute(
            "DELETE FROM grant_notices WHERE guild_id = $1 AND user_id = $2"
            " RETURNING guild_id, user_id, actor_id, amount, reason, created_at, id",
            (guild_id, user_id),
        ) as cur:
            rows = await cur.fetchall()
        return [_notice(r) for r in sorted(rows, key=lambda r: int(r["id"]))]

    return await db.write(body)


async def put_back(db: Database, notices: Sequence[GrantNotice]) -> None:
    """Notices taken but not shown (Discord refused the message): the next command tries again."""

    async def body(tx: Tx) -> None:
        for notice in notices:
            await add_in(tx, notice)

    if notices:
        await db.write(body)
