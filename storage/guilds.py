"""Per-server credit settings: price overrides, the allowance, the caps and the confirm threshold.

They are read on every command, so they are memoized (``Database.memo``, ``storage.notify.Memo``):
a save writes the row, tells every process (``settings`` channel, ``guild:<id>``) so each drops its
copy, and keeps the new value here (write-through). On SQLite that is all (one process); on
PostgreSQL an entry is also trusted only briefly, in case a notification was missed.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Literal

from storage.db import Database, Tx
from storage.notify import MEMO_CHANNEL, Memo

log = logging.getLogger(__name__)

Period = Literal["week", "month"]


@dataclass(frozen=True)
class GuildSettings:
    guild_id: int
    price_multiplier: float = 1.0
    prices: dict[str, int] = field(default_factory=dict)  # "profile:model:duration" -> credits
    allowance_amount: int | None = None
    allowance_period: Period | None = None
    max_active_per_member: int | None = None
    max_active_per_server: int | None = None
    max_daily_spend_per_member: int | None = None
    default_profile: str | None = None
    default_model: str | None = None
    allowed_channels: tuple[int, ...] = ()  # empty: generation anywhere
    allowed_roles: tuple[int, ...] = ()  # empty: everyone may generate
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> profiles, in order
    admin_channel_id: int | None = None  # where managers are told about models that went away
    confirm_above: int | None = None  # a job costing more asks first; None: the bot's default, 0: never
    gallery_channel_id: int | None = None  # every finished video is also posted here (014)
    result_in_card: bool = False  # the card becomes the result; the ping is a short reply (014)


async def get(db: Database, guild_id: int) -> GuildSettings:
    """The server's settings; read once, then served from the database's write-through memo."""
    key = ("guild", guild_id)
    cached = db.memo.get(key)
    if isinstance(cached, GuildSettings):
        return cached
    version = db.memo.version()  # a save landing while this read is out voids what it finds
    settings = await _read(db, guild_id)
    db.memo.fill(key, settings, version)
    return settings


async def _read(db: Database, guild_id: int) -> GuildSettings:
    row = await db.fetchone("SELECT * FROM guild_settings WHERE guild_id = $1", (guild_id,))
    if row is None:
        return GuildSettings(guild_id)
    return GuildSettings(
        guild_id=guild_id,
        price_multiplier=float(row["price_multiplier"]),
        prices={str(k): int(v) for k, v in json.loads(row["prices_json"]).items()},
        allowance_amount=row["allowance_amount"],
        allowance_period=row["allowance_period"],
        max_active_per_member=row["max_active_per_member"],
        max_active_per_server=row["max_active_per_server"],
        max_daily_spend_per_member=row["max_daily_spend_per_member"],
        default_profile=row["default_profile"],
        default_model=row["default_model"],
        allowed_channels=tuple(int(c) for c in json.loads(row["allowed_channels"])),
        allowed_roles=tuple(int(r) for r in json.loads(row["allowed_roles"])),
        fallbacks={str(k): tuple(map(str, v)) for k, v in json.loads(row["fallbacks"]).items()},
        admin_channel_id=row["admin_channel_id"],
        confirm_above=row["confirm_above"],
        gallery_channel_id=row["gallery_channel_id"],
        result_in_card=bool(row["result_in_card"]),
    )


async def save(db: Database, settings: GuildSettings) -> None:
    """Write the server's settings (one trip) and the memo."""

    async def body(tx: Tx) -> None:
        await tx.execute(
            "INSERT INTO guild_settings (guild_id, price_multiplier, prices_json, allowance_amount,"
            " allowance_period, max_active_per_member, max_active_per_server, max_daily_spend_per_member,"
            " default_profile, default_model, allowed_channels, allowed_roles, fallbacks, admin_channel_id,"
            " confirm_above, gallery_channel_id, result_in_card, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
            " ON CONFLICT (guild_id) DO UPDATE SET price_multiplier = excluded.price_multiplier,"
            " prices_json = excluded.prices_json, allowance_amount = excluded.allowance_amount,"
            " allowance_period = excluded.allowance_period,"
            " max_active_per_member = excluded.max_active_per_member,"
            " max_active_per_server = excluded.max_active_per_server,"
            " max_daily_spend_per_member = excluded.max_daily_spend_per_member,"
            " default_profile = excluded.default_profile, default_model = excluded.default_model,"
            " allowed_channels = excluded.allowed_channels, allowed_roles = excluded.allowed_roles,"
            " fallbacks = excluded.fallbacks, admin_channel_id = excluded.admin_channel_id,"
            " confirm_above = excluded.confirm_above, gallery_channel_id = excluded.gallery_channel_id,"
            " result_in_card = excluded.result_in_card, updated_at = excluded.updated_at",
            (
                settings.guild_id,
                settings.price_multiplier,
                json.dumps(settings.prices, sort_keys=True),
                settings.allowance_amount,
                settings.allowance_period,
                settings.max_active_per_member,
                settings.max_active_per_server,
                settings.max_daily_spend_per_member,
                settings.default_profile,
                settings.default_model,
                json.dumps(list(settings.allowed_channels)),
                json.dumps(list(settings.allowed_roles)),
                json.dumps({k: list(v) for k, v in settings.fallbacks.items()}, sort_keys=True),
                settings.admin_channel_id,
                settings.confirm_above,
                settings.gallery_channel_id,
                int(settings.result_in_card),
                time.time(),
            ),
        )

    await db.write(body)
    key = ("guild", settings.guild_id)
    try:
        await db.notify(MEMO_CHANNEL, Memo.payload(key))  # after the commit: who hears it reads it
    except Exception as exc:  # saved all the same; other processes' copies lapse within MEMO_TTL
        log.warning(
            "server %d: settings saved, but other processes were not told: %s", settings.guild_id, exc
        )
    db.memo[key] = settings


async def update(db: Database, guild_id: int, **changes: object) -> GuildSettings:
    """Read, change the named fields, write back; returns the new settings."""
    current = await get(db, guild_id)
    changed = replace(current, **changes)  # type: ignore[arg-type]
    await save(db, changed)
    return changed


async def default_models(db: Database) -> list[tuple[int, str, str]]:
    """(server, profile, model) for every server that chose a default model (``doctor``)."""
    rows = await db.fetchall(
        "SELECT guild_id, default_profile, default_model FROM guild_settings"
        " WHERE default_model IS NOT NULL AND default_profile IS NOT NULL"
    )
    return [(int(r["guild_id"]), str(r["default_profile"]), str(r["default_model"])) for r in rows]
