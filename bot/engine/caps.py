"""The server's optional caps, checked in the same transaction that holds a new job's cost."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.errors import UserError
from storage.guilds import GuildSettings

ACTIVE = "('queued', 'submitting', 'running')"
NOT_SPENT = "('failed', 'timed_out', 'cancelled')"


class CapReached(UserError):
    """A server limit stops this job; the message says which and what the member can do."""


def start_of_day(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


async def _scalar(tx: Any, sql: str, params: tuple[Any, ...]) -> int:
    async with tx.execute(sql, params) as cur:
        row = await cur.fetchone()
    return int(row[0] or 0)


def any_set(guild: GuildSettings) -> bool:
    return any(
        v is not None
        for v in (guild.max_active_per_member, guild.max_active_per_server, guild.max_daily_spend_per_member)
    )


async def check_in(tx: Any, guild: GuildSettings, user_id: int, cost: int, *, now: float) -> None:
    if guild.max_active_per_member is not None:
        mine = await _scalar(
            tx,
            f"SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND user_id = ? AND state IN {ACTIVE}",
            (guild.guild_id, user_id),
        )
        if mine >= guild.max_active_per_member:
            raise CapReached("caps.member_active", count=mine, limit=guild.max_active_per_member)
    if guild.max_active_per_server is not None:
        everyone = await _scalar(
            tx, f"SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND state IN {ACTIVE}", (guild.guild_id,)
        )
        if everyone >= guild.max_active_per_server:
            raise CapReached("caps.server_active", count=everyone)
    if guild.max_daily_spend_per_member is not None:
        spent = await _scalar(
            tx,
            f"SELECT SUM(cost) FROM jobs WHERE guild_id = ? AND user_id = ? AND created_at >= ?"
            f" AND state NOT IN {NOT_SPENT}",
            (guild.guild_id, user_id, start_of_day(now)),
        )
        if spent + cost > guild.max_daily_spend_per_member:
            raise CapReached("caps.daily_spend", total=spent + cost, limit=guild.max_daily_spend_per_member)
