"""``/settings`` without Discord: the server's default provider and model, where and who may
generate, the caps on jobs in progress and daily spending, and the price that asks first. Managers only; every refusal names
the field and what is allowed, and nothing is written when one is raised."""

from __future__ import annotations

from bot.engine.credits import MAX_AMOUNT, require_manager
from bot.engine.engine import Engine
from bot.errors import InvalidRequest
from bot.i18n import msg
from bot.providers.base import Kind
from storage import guilds
from storage.db import Database
from storage.guilds import GuildSettings


class ServerSettings:
    def __init__(self, db: Database, engine: Engine) -> None:
        self._db = db
        self._engine = engine

    async def get(self, guild_id: int, *, is_manager: bool) -> GuildSettings:
        require_manager(is_manager)
        return await guilds.get(self._db, guild_id)

    async def set_provider(
        self, guild_id: int, profile: str, model: str | None, *, is_manager: bool
    ) -> GuildSettings:
        require_manager(is_manager)
        names = self._engine.catalog.profile_names
        if profile not in names:
            raise InvalidRequest("profile", "invalid.not_configured", ", ".join(names), value=profile)
        models = self._engine.catalog.provider(profile).capabilities.live_models
        if model is not None and model not in models:
            raise InvalidRequest(
                "model", "invalid.not_offered_by", ", ".join(models), value=model, profile=profile
            )
        return await guilds.update(self._db, guild_id, default_profile=profile, default_model=model)

    async def allow_channel(
        self, guild_id: int, channel_id: int, allow: bool, *, is_manager: bool
    ) -> GuildSettings:
        require_manager(is_manager)
        current = (await guilds.get(self._db, guild_id)).allowed_channels
        changed = (
            tuple(sorted({*current, channel_id})) if allow else tuple(c for c in current if c != channel_id)
        )
        return await guilds.update(self._db, guild_id, allowed_channels=changed)

    async def allow_role(
        self, guild_id: int, role_id: int, allow: bool, *, is_manager: bool
    ) -> GuildSettings:
        require_manager(is_manager)
        current = (await guilds.get(self._db, guild_id)).allowed_roles
        changed = tuple(sorted({*current, role_id})) if allow else tuple(r for r in current if r != role_id)
        return await guilds.update(self._db, guild_id, allowed_roles=changed)

    async def open_access(self, guild_id: int, *, is_manager: bool) -> GuildSettings:
        require_manager(is_manager)
        return await guilds.update(self._db, guild_id, allowed_channels=(), allowed_roles=())

    async def set_limits(
        self,
        guild_id: int,
        *,
        is_manager: bool,
        per_member: int | None,
        per_server: int | None,
        daily_spend: int | None,
        confirm_above: int | None = None,
    ) -> GuildSettings:
        """Change the caps given (0 turns one off; None leaves it as it is), and the price above which
        a job asks its member first (0: never ask)."""
        require_manager(is_manager)
        changes: dict[str, int | None] = {}
        if confirm_above is not None:
            if confirm_above < 0 or confirm_above > MAX_AMOUNT:
                raise InvalidRequest(
                    "confirm_above",
                    "invalid.is_value",
                    msg("allowed.confirm_above", max=MAX_AMOUNT),
                    value=confirm_above,
                )
            changes["confirm_above"] = confirm_above  # kept as 0: "never", not the bot's default
        for name, value, column in (
            ("active_per_member", per_member, "max_active_per_member"),
            ("active_per_server", per_server, "max_active_per_server"),
            ("daily_spend", daily_spend, "max_daily_spend_per_member"),
        ):
            if value is None:
                continue
            if value < 0 or value > MAX_AMOUNT:
                raise InvalidRequest(
                    name, "invalid.is_value", msg("allowed.limit", max=MAX_AMOUNT), value=value
                )
            changes[column] = value or None
        return await guilds.update(self._db, guild_id, **changes)

    async def set_fallback(
        self, guild_id: int, kind: Kind, profiles: list[str], *, is_manager: bool
    ) -> GuildSettings:
        """The profiles a refused job of ``kind`` moves to, in order (an empty list clears them)."""
        require_manager(is_manager)
        catalog = self._engine.catalog
        for name in profiles:
            if not catalog.has(name):
                raise InvalidRequest(
                    "profiles", "invalid.not_configured", ", ".join(catalog.profile_names), value=name
                )
            if not catalog.offers(name, kind):
                offering = [n for n in catalog.profile_names if catalog.offers(n, kind)]
                raise InvalidRequest(
                    "profiles",
                    "invalid.profile_cannot_make",
                    ", ".join(offering) or msg("common.none"),
                    value=name,
                    kind=msg(f"kind.words.{kind.value}"),
                )
        if len(set(profiles)) != len(profiles):
            raise InvalidRequest(
                "profiles", "invalid.repeated", msg("allowed.each_once"), value=", ".join(profiles)
            )
        current = dict((await guilds.get(self._db, guild_id)).fallbacks)
        if profiles:
            current[kind.value] = tuple(profiles)
        else:
            current.pop(kind.value, None)
        return await guilds.update(self._db, guild_id, fallbacks=current)

    async def set_admin_channel(
        self, guild_id: int, channel_id: int | None, *, is_manager: bool
    ) -> GuildSettings:
        """Where managers are told about models that went away (``None``: the server's system channel)."""
        require_manager(is_manager)
        return await guilds.update(self._db, guild_id, admin_channel_id=channel_id)

    async def set_gallery(self, guild_id: int, channel_id: int | None, *, is_manager: bool) -> GuildSettings:
        """Where every finished video is also posted (a text or forum channel; ``None``: no gallery)."""
        require_manager(is_manager)
        return await guilds.update(self._db, guild_id, gallery_channel_id=channel_id)

    async def set_result_in_card(self, guild_id: int, in_card: bool, *, is_manager: bool) -> GuildSettings:
        """Whether a finished video turns its card into the result (one message and a short reply ping)."""
        require_manager(is_manager)
        return await guilds.update(self._db, guild_id, result_in_card=in_card)
