"""Credits that arrive on their own: the welcome grant and the server's periodic allowance.

Both are applied lazily — when a member's balance is next read or charged — and exactly once: the
welcome grant is keyed by the member's balance row, the allowance by (member, period) in
``allowance_grants``. Both happen inside the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage import ledger
from storage.guilds import GuildSettings


def period_key(period: str, now: float) -> str:
    """``2026-W47`` for weeks (ISO), ``2026-11`` for months (UTC)."""
    when = datetime.fromtimestamp(now, UTC)
    if period == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{when.year}-{when.month:02d}"


async def top_up_in(tx: Any, guild: GuildSettings, user_id: int, *, welcome: int, now: float) -> None:
    cur = await tx.execute(
        "INSERT INTO balances (guild_id, user_id, balance) VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
        (guild.guild_id, user_id),
    )
    if cur.rowcount == 1 and welcome > 0:
        await ledger.grant(tx, guild.guild_id, user_id, welcome, actor_id=None, reason="welcome")
    if guild.allowance_amount and guild.allowance_period:
        key = period_key(guild.allowance_period, now)
        cur = await tx.execute(
            "INSERT INTO allowance_grants (guild_id, user_id, period, granted_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (guild.guild_id, user_id, key, now),
        )
        if cur.rowcount == 1:
            await ledger.grant(
                tx, guild.guild_id, user_id, guild.allowance_amount, actor_id=None, reason=f"allowance {key}"
            )
