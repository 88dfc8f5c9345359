"""The fake Discord's world model (users, guilds, roles, channels) and the JSON it speaks.

Everything the fake sends to discord.py is built here, in the shapes Discord documents, so the
real client parses it with its real code paths (``Guild._from_data``, ``Interaction._from_data``,
...). Permissions are computed with Discord's own algorithm (base role permissions, then
@everyone / role / member overwrites) so a test can deny the bot a permission on one channel and
see both the REST answer (403/50013) and the ``app_permissions`` of an interaction change.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import mimetypes
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
MIB = 1024 * 1024
DEFAULT_UPLOAD_LIMIT = 10 * MIB

JSON = dict[str, Any]


class Perm(enum.IntFlag):
    """Discord permission bits (the subset a messaging bot meets)."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EXTERNAL_APPS = 1 << 50


ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_DEFAULT = (
    Perm.CREATE_INSTANT_INVITE
    | Perm.ADD_REACTIONS
    | Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.SEND_MESSAGES_IN_THREADS
    | Perm.USE_EXTERNAL_APPS
)
"""What a fresh guild's @everyone role allows (send, embed and attach included)."""

BOT_ROLE_DEFAULT = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.SEND_MESSAGES_IN_THREADS
)
"""The bot's managed role, as an invite URL with these permissions would create it."""


class MessageFlag(enum.IntFlag):
    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class Snowflakes:
    """Monotonic snowflake ids whose timestamps are real, so ``created_at`` in discord.py is now."""

    def __init__(self) -> None:
        self._last = 0
        self._increment = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (next(self._increment) & 0xFFF)
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


def iso(ts: float | None = None) -> str:
    """Discord's ISO8601 timestamp with microseconds and an explicit UTC offset."""
    moment = dt.datetime.fromtimestamp(time.time() if ts is None else ts, tz=dt.UTC)
    return moment.isoformat(timespec="microseconds")


def random_token(prefix: str = "aW50ZXJhY3Rpb246") -> str:
    """Interaction tokens are long opaque strings; discord.py only passes them back."""
    return prefix + secrets.token_urlsafe(96)


def guess_content_type(filename: str, fallback: str | None = None) -> str:
    """Discord derives an attachment's content_type from its name, not from the part header.

    discord.py sends every file part as ``application/octet-stream``.
    """
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or fallback or "application/octet-stream"


# --------------------------------------------------------------------------------------- model


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    avatar: str | None = None

    def to_dict(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def to_dict(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(int(self.permissions)),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class Overwrite:
    """A channel permission overwrite; ``type`` 0 = role, 1 = member (Discord's numbering)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    def to_dict(self) -> JSON:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(int(self.allow)),
            "deny": str(int(self.deny)),
        }


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = 0
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    last_message_id: int | None = None
    available_tags: list[JSON] = field(default_factory=list)  # a forum's (type 15) tags
    flags: int = 0  # a forum's: REQUIRE_TAG = 1 << 4

    def to_dict(self, *, with_guild_id: bool = True) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "permission_overwrites": [o.to_dict() for o in self.overwrites],
            "flags": self.flags,
        }
        if self.type == 15:
            data.update(
                topic=self.topic,
                nsfw=self.nsfw,
                rate_limit_per_user=0,
                last_message_id=str(self.last_message_id) if self.last_message_id else None,
                available_tags=[dict(tag) for tag in self.available_tags],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
                default_auto_archive_duration=1440,
            )
        if self.type in (0, 5):
            data.update(
                topic=self.topic,
                nsfw=self.nsfw,
                rate_limit_per_user=0,
                last_message_id=str(self.last_message_id) if self.last_message_id else None,
            )
        if with_guild_id:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class Member:
    user: User
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso)

    def to_dict(self, *, permissions: int | None = None) -> JSON:
        data: JSON = {
            "user": self.user.to_dict(),
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
            "unusual_dm_activity_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(int(permissions))
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]


# ----------------------------------------------------------------------------------- permissions


def base_permissions(guild: Guild, member: Member) -> int:
    """Guild-level permissions: owner/admin get everything, otherwise the OR of all roles."""
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    perms = int(guild.everyone.permissions)
    for role_id in member.roles:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= int(role.permissions)
    if perms & Perm.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def channel_permissions(guild: Guild, channel: Channel, member: Member) -> int:
    """Discord's overwrite algorithm: @everyone, then all member roles together, then the member."""
    perms = base_permissions(guild, member)
    if perms == ALL_PERMISSIONS:
        return perms
    by_id = {o.id: o for o in channel.overwrites}
    everyone = by_id.get(guild.id)
    if everyone is not None:
        perms = (perms & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for role_id in member.roles:
        overwrite = by_id.get(role_id)
        if overwrite is not None and overwrite.type == 0:
            allow |= overwrite.allow
            deny |= overwrite.deny
    perms = (perms & ~deny) | allow
    own = by_id.get(member.user.id)
    if own is not None and own.type == 1:
        perms = (perms & ~own.deny) | own.allow
    if not perms & Perm.VIEW_CHANNEL:
        return 0
    return perms


# ------------------------------------------------------------------------------------- builders


def guild_create_payload(guild: Guild, *, members: list[Member], member_count: int) -> JSON:
    """A GUILD_CREATE ``d``: the full guild, its channels (without guild_id, as Discord sends them)."""
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(guild.owner_id),
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": guild.preferred_locale,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "features": list(guild.features),
        "roles": [r.to_dict() for r in guild.roles.values()],
        "emojis": [],
        "stickers": [],
        "joined_at": iso(),
        "large": False,
        "unavailable": False,
        "lazy": True,
        "member_count": member_count,
        "members": [m.to_dict() for m in members],
        "channels": [c.to_dict(with_guild_id=False) for c in guild.channels.values()],
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
        "application_command_counts": {},
        "incidents_data": None,
        "inventory_settings": None,
        "home_header": None,
        "latest_onboarding_question_id": None,
        "hub_type": None,
        "nsfw": False,
        "version": int(time.time() * 1000),
    }


def application_payload(app_id: int, bot: User, owner: User, *, flags: int) -> JSON:
    """GET /oauth2/applications/@me — read by ``Client.login`` to learn the application id."""
    return {
        "id": str(app_id),
        "name": bot.username,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "hook": True,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": secrets.token_hex(32),
        "owner": owner.to_dict(),
        "flags": flags,
        "team": None,
        "bot": bot.to_dict(),
        "tags": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "approximate_guild_count": 1,
        "integration_types_config": {"0": {}},
    }


def attachment_payload(
    attachment_id: int,
    *,
    filename: str,
    size: int,
    url: str,
    content_type: str | None = None,
    width: int | None = None,
    height: int | None = None,
    description: str | None = None,
    ephemeral: bool = False,
) -> JSON:
    data: JSON = {
        "id": str(attachment_id),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type or guess_content_type(filename),
    }
    if width is not None and height is not None:
        data.update(width=width, height=height, placeholder="", placeholder_version=1)
    if description is not None:
        data["description"] = description
    if ephemeral:
        data["ephemeral"] = True
    return data


def partial_channel_payload(channel: Channel, *, permissions: int) -> JSON:
    """The ``channel`` object inside INTERACTION_CREATE (carries the invoker's permissions)."""
    data = channel.to_dict()
    data.pop("permission_overwrites", None)
    data["permissions"] = str(int(permissions))
    return data


def interaction_payload(
    *,
    interaction_id: int,
    application_id: int,
    type: int,
    data: JSON,
    token: str,
    guild: Guild,
    channel: Channel,
    member: Member,
    member_permissions: int,
    app_permissions: int,
    locale: str,
    attachment_size_limit: int,
    message: JSON | None = None,
) -> JSON:
    """INTERACTION_CREATE as Discord sends it for an interaction in a guild text channel."""
    payload: JSON = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": type,
        "data": data,
        "guild_id": str(guild.id),
        "guild": {"id": str(guild.id), "locale": guild.preferred_locale, "features": list(guild.features)},
        "channel": partial_channel_payload(channel, permissions=member_permissions),
        "channel_id": str(channel.id),
        "member": member.to_dict(permissions=member_permissions),
        "token": token,
        "version": 1,
        "app_permissions": str(int(app_permissions)),
        "locale": locale,
        "guild_locale": guild.preferred_locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(guild.id)},
        "context": 0,
        "attachment_size_limit": attachment_size_limit,
    }
    if message is not None:
        payload["message"] = message
    return payload
