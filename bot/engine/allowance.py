"""Credits that arrive on their own: the welcome grant and the server's periodic allowance.

Both are applied lazily — when a member next generates or is granted credits — and exactly once:
the welcome grant is keyed by the member's balance row, the allowance by (member, period). Both
happen inside the caller's transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import allowances, ledger
from storage.db import Tx
from storage.guilds import GuildSettings


def period_key(period: str, now: float) -> str:
    """``2026-W47`` for weeks (ISO), ``2026-11`` for months (UTC)."""
    when = datetime.fromtimestamp(now, UTC)
    if period == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{when.year}-{when.month:02d}"


def next_start(period: str, now: float) -> float:
    """When the period after the one ``now`` falls in begins: next Monday or the 1st, 00:00 UTC."""
    when = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return (when + timedelta(days=7 - when.weekday())).timestamp()
    year, month = (when.year + 1, 1) if when.month == 12 else (when.year, when.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp()


def current_period(guild: GuildSettings, now: float) -> str:
    """The allowance period ``now`` falls in ('' when the server has no allowance)."""
    return period_key(guild.allowance_period, now) if guild.allowance_period else ""


async def top_up_in(tx: Tx, guild: GuildSettings, user_id: int, *, welcome: int, now: float) -> None:
    if await allowances.open_account_in(tx, guild.guild_id, user_id) and welcome > 0:
        await ledger.grant(tx, guild.guild_id, user_id, welcome, actor_id=None, reason="welcome")
    if guild.allowance_amount and guild.allowance_period:
        key = period_key(guild.allowance_period, now)
        if await allowances.claim_in(tx, guild.guild_id, user_id, key, now):
            await ledger.grant(
                tx, guild.guild_id, user_id, guild.allowance_amount, actor_id=None, reason=f"allowance {key}"
            )
