"""The limits that apply to one member, as ``/credits balance`` shows them beside the balance.

A member who is refused by a cap should have been able to see it coming: how many videos they and
the server have in progress against the caps, what they may still spend today and when that resets,
when the next allowance lands, and the price above which a video asks first. Only the caps the
server set are counted, all in one read; with none set, nothing but the settings is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine import allowance, caps, confirm
from storage import jobs
from storage.db import Database, Tx
from storage.guilds import GuildSettings

DAY = 24 * 3600.0


@dataclass(frozen=True)
class Cap:
    """A count against a server limit (``used`` of ``limit``)."""

    used: int
    limit: int

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class MemberLimits:
    mine_in_progress: Cap | None  # None: the server set no such cap
    server_in_progress: Cap | None
    spent_today: Cap | None
    day_resets_at: float  # 00:00 UTC tomorrow, when ``spent_today`` starts again
    allowance: int | None  # credits each period, when the server gives an allowance
    allowance_period: str | None
    allowance_next_at: float | None  # when the next one lands (it is added with the member's next job)
    confirm_above: int  # a video costing more asks first; 0: never

    @property
    def any_cap(self) -> bool:
        return any(c is not None for c in (self.mine_in_progress, self.server_in_progress, self.spent_today))


async def limits_of(
    db: Database, settings: GuildSettings, user_id: int, *, now: float, confirm_default: int
) -> MemberLimits:
    """What applies to ``user_id`` in the server of ``settings`` at ``now``."""
    day = caps.start_of_day(now)

    async def counts(tx: Tx) -> tuple[Cap | None, Cap | None, Cap | None]:
        mine = server = spent = None
        if settings.max_active_per_member is not None:
            used = await jobs.active_count_in(tx, settings.guild_id, user_id)
            mine = Cap(used, settings.max_active_per_member)
        if settings.max_active_per_server is not None:
            server = Cap(await jobs.active_count_in(tx, settings.guild_id), settings.max_active_per_server)
        if settings.max_daily_spend_per_member is not None:
            used = await jobs.spent_since_in(tx, settings.guild_id, user_id, day)
            spent = Cap(used, settings.max_daily_spend_per_member)
        return mine, server, spent

    mine, server, spent = await db.read(counts) if caps.any_set(settings) else (None, None, None)
    period = settings.allowance_period if settings.allowance_amount else None
    return MemberLimits(
        mine_in_progress=mine,
        server_in_progress=server,
        spent_today=spent,
        day_resets_at=day + DAY,
        allowance=settings.allowance_amount if period else None,
        allowance_period=period,
        allowance_next_at=allowance.next_start(period, now) if period else None,
        confirm_above=confirm.threshold(settings, confirm_default),
    )
