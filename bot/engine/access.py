"""Who may generate where: the server's allowed channels and roles (managers are never locked out)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.errors import UserError
from storage.guilds import GuildSettings


def check_access(
    settings: GuildSettings, channel_id: int, role_ids: Iterable[int], *, is_manager: bool
) -> None:
    """Raise ``UserError`` naming where or who may generate when this member, here, may not."""
    if is_manager:
        return
    if settings.allowed_channels and channel_id not in settings.allowed_channels:
        places = ", ".join(f"<#{c}>" for c in settings.allowed_channels)
        raise UserError("errors.channel_not_allowed", places=places)
    if settings.allowed_roles and not set(role_ids) & set(settings.allowed_roles):
        roles = ", ".join(f"<@&{r}>" for r in settings.allowed_roles)
        raise UserError("errors.role_needed", roles=roles)
