"""The server's optional caps, checked in the same transaction that holds a new job's cost."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import UserError
from storage import jobs
from storage.db import Tx
from storage.guilds import GuildSettings


class CapReached(UserError):
    """A server limit stops this job; the message says which and what the member can do."""


def start_of_day(now: float) -> float:
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def any_set(guild: GuildSettings) -> bool:
    return any(
        v is not None
        for v in (guild.max_active_per_member, guild.max_active_per_server, guild.max_daily_spend_per_member)
    )


async def check_in(tx: Tx, guild: GuildSettings, user_id: int, cost: int, *, now: float) -> None:
    if guild.max_active_per_member is not None:
        mine = await jobs.active_count_in(tx, guild.guild_id, user_id)
        if mine >= guild.max_active_per_member:
            raise CapReached("caps.member_active", count=mine, limit=guild.max_active_per_member)
    if guild.max_active_per_server is not None:
        everyone = await jobs.active_count_in(tx, guild.guild_id)
        if everyone >= guild.max_active_per_server:
            raise CapReached("caps.server_active", count=everyone)
    if guild.max_daily_spend_per_member is not None:
        spent = await jobs.spent_since_in(tx, guild.guild_id, user_id, start_of_day(now))
        if spent + cost > guild.max_daily_spend_per_member:
            raise CapReached("caps.daily_spend", total=spent + cost, limit=guild.max_daily_spend_per_member)
