"""FakeDiscord: a real aiohttp server on 127.0.0.1 that the real discord.py client logs in to.

It owns the world (guilds, channels, members, permissions), the gateway sessions, the synced
commands, the interactions it dispatched and the messages members would see, and it enforces what
Discord enforces: the 3-second acknowledgement window, the 15-minute interaction token, message /
embed / component / command limits, upload size limits and (scripted) 429s. Tests drive it with
``invoke_*`` and read the outcome with ``message`` / ``original_message`` / ``requests`` /
``violations``.
"""

# Test helpers take an explicit ``timeout=`` so every wait in a test is visibly bounded.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import discord
import yarl
from aiohttp import web

from . import records as r
from .gateway import (
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    GatewayConnection,
    GatewaySession,
    gateway_handler,
)
from .messages import MessageStore, find_component
from .nonces import NonceBook, nonce_of
from .payloads import (
    BOT_ROLE_DEFAULT,
    DEFAULT_UPLOAD_LIMIT,
    EVERYONE_DEFAULT,
    JSON,
    Channel,
    Guild,
    Member,
    Overwrite,
    Role,
    Snowflakes,
    User,
    application_payload,
    channel_permissions,
    interaction_payload,
    random_token,
)
from .records import (
    SERVER_ERROR,
    FailureRule,
    FakeInteraction,
    GatewayFrame,
    RateLimitRule,
    RecordedRequest,
    StoredMessage,
    UploadedFile,
    Violation,
    fail,
)
from .rest import RestApi

if TYPE_CHECKING:
    from discord import Client

_log = logging.getLogger(__name__)

T = TypeVar("T")
ALL_INTENTS = (1 << 26) - 1
_SELECT_TYPES = (3, 5, 6, 7, 8)


class FakeDiscord:
    """A scriptable Discord for end-to-end tests; use ``async with FakeDiscord() as fake``."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "soracord",
        ack_deadline: float = 3.0,
        token_ttl: float = 900.0,
        heartbeat_interval_ms: int = 45_000,
        attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
        reject_invalid: bool = True,
        allowed_intents: int = ALL_INTENTS,
        application_flags: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.ack_deadline = ack_deadline
        self.token_ttl = token_ttl
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.default_upload_limit = attachment_size_limit
        self.reject_invalid = reject_invalid
        self.allowed_intents = allowed_intents
        self.application_flags = application_flags
        self.clock = clock

        self.snowflakes = Snowflakes()
        self.application_id = self.snowflakes.next()
        # Since 2020 a bot user shares its application's id.
        self.bot_user = User(self.application_id, bot_name, bot=True)
        self.owner = User(self.snowflakes.next(), "owner", global_name="Owner")
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        self.guilds: dict[int, Guild] = {}

        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.gateway_frames: list[GatewayFrame] = []
        self.gateway_connects: list[dict[str, str]] = []  # query of each websocket connect
        self.interactions: dict[int, FakeInteraction] = {}
        self.interactions_by_token: dict[str, FakeInteraction] = {}
        self.messages = MessageStore(self)
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        self.identified = asyncio.Event()
        self._commands: dict[int | None, list[JSON]] = {}
        self._rate_limits: list[RateLimitRule] = []
        self._failures: list[FailureRule] = []
        self.nonces = NonceBook(clock)
        self.before_channel_message: Callable[[Channel, JSON], Awaitable[None]] | None = None
        self.after_channel_message: Callable[[StoredMessage], Awaitable[None]] | None = None
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.rest = RestApi(self)

        self.guild = self.add_guild("Soracord Studio")
        self.channel = next(c for c in self.guild.channels.values() if c.name == "studio")
        self.member = next(m for m in self.guild.members.values() if m.user.username == "alice")

    # ------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=512 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.rest.handle)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)
        app.router.add_get("/cdn/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for connection in list(self.connections):
            await connection.close(1001, "fake discord stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        self._patch = self.patched()
        self._patch.__enter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._patch.__exit__(None, None, None)
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def cdn_url(self, channel_id: int, attachment_id: int, filename: str) -> str:
        return f"http://127.0.0.1:{self.port}/cdn/attachments/{channel_id}/{attachment_id}/{filename}"

    @contextlib.contextmanager
    def patched(self) -> Iterator[FakeDiscord]:
        """Point discord.py's REST base and default gateway at this fake; restore on exit."""
        restore = point_discord_py_at(self)
        try:
            yield self
        finally:
            restore()

    @contextlib.asynccontextmanager
    async def run_bot(
        self, bot: Client, *, timeout: float = 10.0, guild_ready_timeout: float | None = 0.05
    ) -> AsyncIterator[Client]:
        """Start ``bot`` against the fake, wait until it is ready, close it cleanly on exit.

        ``guild_ready_timeout``: discord.py waits this long after the last GUILD_CREATE before
        firing ``on_ready`` (2 s by default); the fake sends them all at once, so tests shorten it.
        """
        if guild_ready_timeout is not None:
            bot._connection.guild_ready_timeout = guild_ready_timeout
        task = asyncio.create_task(bot.start(self.token), name="fake-discord-bot")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while not bot.is_ready():
                if task.done():
                    task.result()
                    raise RuntimeError("the bot stopped before it was ready")
                if loop.time() > deadline:
                    raise TimeoutError(f"bot not ready within {timeout}s")
                await asyncio.sleep(0.01)
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(discord.ConnectionClosed):
                await asyncio.wait_for(task, timeout=5.0)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        return await gateway_handler(self, request)

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        attachment_id = int(request.match_info["attachment_id"])
        blob = self.messages.blobs.get(attachment_id)
        status = 200 if blob is not None else 404
        record = RecordedRequest(
            index=-1,
            method="GET",
            path=request.path,
            route="/cdn/attachments/{channel_id}/{attachment_id}/{filename}",
            params=dict(request.match_info),
            query=dict(request.query),
            json=None,
            files=[],
            headers=dict(request.headers),
            timestamp=time.time(),
            at=self.clock(),
            status=status,
        )
        self.record(record)
        if blob is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=blob[0], headers={"Content-Type": blob[1]})

    # ----------------------------------------------------------------------------------- world

    def add_guild(self, name: str, *, upload_limit: int | None = None) -> Guild:
        """A guild with @everyone, the bot's managed role, #general and #studio, owner/bot/alice."""
        guild_id = self.snowflakes.next()
        guild = Guild(guild_id, name, self.owner.id, upload_limit=upload_limit or self.default_upload_limit)
        guild.roles[guild_id] = Role(guild_id, "@everyone", EVERYONE_DEFAULT)
        bot_role = Role(
            self.snowflakes.next(), self.bot_user.username, BOT_ROLE_DEFAULT, 1, True, self.bot_user.id
        )
        guild.roles[bot_role.id] = bot_role
        self.guilds[guild_id] = guild
        for position, channel_name in enumerate(("general", "studio")):
            self.add_channel(guild_id, channel_name, position=position)
        guild.members[self.owner.id] = Member(self.owner)
        guild.members[self.bot_user.id] = Member(self.bot_user, roles=[bot_role.id])
        self.add_member(guild_id, "alice")
        return guild

    def add_channel(self, guild_id: int, name: str, *, type: int = 0, position: int | None = None) -> Channel:
        """Add before the bot connects (or dispatch CHANNEL_CREATE yourself)."""
        guild = self.guilds[guild_id]
        channel = Channel(
            self.snowflakes.next(),
            guild_id,
            name,
            type,
            len(guild.channels) if position is None else position,
        )
        guild.channels[channel.id] = channel
        return channel

    def add_member(self, guild_id: int, username: str, *, roles: tuple[int, ...] = ()) -> Member:
        user = User(self.snowflakes.next(), username, global_name=username.title())
        self.users[user.id] = user
        member = Member(user, roles=list(roles))
        self.guilds[guild_id].members[user.id] = member
        return member

    def add_role(self, guild_id: int, name: str, permissions: int) -> Role:
        guild = self.guilds[guild_id]
        role = Role(self.snowflakes.next(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def channels(self) -> dict[int, Channel]:
        return {c.id: c for g in self.guilds.values() for c in g.channels.values()}

    def bot_permissions(self, channel_id: int) -> int:
        channel = self.channels()[channel_id]
        guild = self.guilds[channel.guild_id]
        return channel_permissions(guild, channel, guild.members[self.bot_user.id])

    async def set_overwrite(self, channel_id: int, target_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """Set a role (target is a role id) or member overwrite; connected bots get CHANNEL_UPDATE."""
        channel = self.channels()[channel_id]
        kind = 0 if target_id in self.guilds[channel.guild_id].roles else 1
        channel.overwrites = [o for o in channel.overwrites if o.id != target_id]
        channel.overwrites.append(Overwrite(target_id, kind, int(allow), int(deny)))
        await self.dispatch("CHANNEL_UPDATE", channel.to_dict())

    async def deny_bot(self, channel_id: int, permissions: int) -> None:
        """E.g. ``await fake.deny_bot(ch, Perm.ATTACH_FILES | Perm.EMBED_LINKS)``."""
        await self.set_overwrite(channel_id, self.bot_user.id, deny=permissions)

    def set_upload_limit(self, guild_id: int, limit: int) -> None:
        self.guilds[guild_id].upload_limit = limit

    def user_payload(self, user_id: int, guild: Guild | None = None) -> JSON:
        user = self.users.get(user_id) or User(user_id, f"user{user_id}")
        data = user.to_dict()
        member = guild.members.get(user_id) if guild else None
        if member is not None:
            member_data = member.to_dict()
            member_data.pop("user")
            data["member"] = member_data
        return data

    def application_payload(self) -> JSON:
        return application_payload(
            self.application_id, self.bot_user, self.owner, flags=self.application_flags
        )

    # --------------------------------------------------------------------------------- gateway

    def ready_payload(self, session: GatewaySession) -> JSON:
        user = self.bot_user.to_dict()
        user.update(verified=True, mfa_enabled=False, email=None)
        return {
            "v": 10,
            "user": user,
            "user_settings": {},
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": self.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "auth": {},
            "_trace": ['["gateway-fake",{"micros":0}]'],
        }

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.alive]

    async def dispatch(self, event: str, data: Any) -> int:
        """Send a DISPATCH to every live session (buffered for resume if disconnected)."""
        sessions = self.live_sessions()
        for session in sessions:
            await session.dispatch(event, copy.deepcopy(data))
        return len(sessions)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection; 4000 lets discord.py RESUME, 1000 does not."""
        for connection in list(self.connections):
            await connection.close(code, "dropped by test")

    async def send_reconnect(self) -> None:
        for connection in list(self.connections):
            await connection.send({"op": 7, "d": None})

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        for connection in list(self.connections):
            if connection.session is not None and not resumable:
                connection.session.alive = False
            await connection.send({"op": 9, "d": resumable})

    async def _dispatch_message(self, event: str, message: StoredMessage) -> None:
        if message.ephemeral:
            return
        if event == "MESSAGE_DELETE":
            data: JSON = {
                "id": str(message.id),
                "channel_id": str(message.channel_id),
                "guild_id": str(message.guild_id),
            }
            for session in self.live_sessions():
                if session.wants(INTENT_GUILD_MESSAGES):
                    await session.dispatch(event, data)
            return
        mentioned = self.bot_user.id in message.mentions
        for session in self.live_sessions():
            if not session.wants(INTENT_GUILD_MESSAGES):
                continue
            content = (
                session.wants(INTENT_MESSAGE_CONTENT) or message.author_id == self.bot_user.id or mentioned
            )
            await session.dispatch(event, self.messages.gateway_view(message, content=content))

    # -------------------------------------------------------------------------------- commands

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """The commands the bot synced (``guild_id=None``: global ones), as Discord returns them."""
        return copy.deepcopy(self._commands.get(guild_id, []))

    def store_commands(self, scope: int | None, bodies: list[JSON], *, replace: bool) -> list[JSON]:
        existing = {(c["type"], c["name"]): c for c in self._commands.get(scope, [])}
        stored = []
        for body in bodies:
            kind = body.get("type") or 1
            previous = existing.get((kind, body.get("name")))
            command: JSON = {
                "default_member_permissions": None,
                "contexts": None,
                "integration_types": [0],
                "nsfw": False,
                "options": [],
                **copy.deepcopy(body),
                "id": previous["id"] if previous else str(self.snowflakes.next()),
                "application_id": str(self.application_id),
                "version": str(self.snowflakes.next()),
                "type": kind,
                "description": body.get("description") or "",
            }
            if scope is not None:
                command["guild_id"] = str(scope)
            stored.append(command)
        if replace:
            self._commands[scope] = stored
        else:
            keys = {(c["type"], c["name"]) for c in stored}
            kept = [c for c in self._commands.get(scope, []) if (c["type"], c["name"]) not in keys]
            self._commands[scope] = kept + stored
        self.notify()
        return copy.deepcopy(stored)

    def remove_command(self, scope: int | None, command_id: int) -> bool:
        before = self._commands.get(scope, [])
        after = [c for c in before if int(c["id"]) != command_id]
        self._commands[scope] = after
        return len(after) != len(before)

    def find_command(self, name: str, kind: int, guild_id: int) -> tuple[JSON, int | None]:
        for scope in (guild_id, None):
            for command in self._commands.get(scope, []):
                if command["name"] == name and command["type"] == kind:
                    return command, scope
        synced = {
            scope: [(c["type"], c["name"]) for c in commands] for scope, commands in self._commands.items()
        }
        raise LookupError(
            f"command {name!r} (type {kind}) was not synced to guild {guild_id} or globally; synced: {synced}"
        )

    # ---------------------------------------------------------------------------- interactions

    def _where(self, channel_id: int | None, user: Member | None) -> tuple[Guild, Channel, Member]:
        channel = self.channels()[channel_id] if channel_id else self.channel
        guild = self.guilds[channel.guild_id]
        member = user or self.member
        if member.user.id not in guild.members:
            raise LookupError(f"{member.user.username} is not a member of {guild.name}")
        return guild, channel, guild.members[member.user.id]

    async def _dispatch_interaction(
        self,
        *,
        type: int,
        data: JSON,
        channel_id: int | None,
        user: Member | None,
        locale: str,
        name: str | None = None,
        custom_id: str | None = None,
        message: StoredMessage | None = None,
    ) -> FakeInteraction:
        guild, channel, member = self._where(channel_id, user)
        if not any(s.connection is not None for s in self.live_sessions()):
            raise RuntimeError("no bot is connected to the fake gateway")
        interaction_id = self.snowflakes.next()
        token = random_token()
        limit = guild.upload_limit
        payload = interaction_payload(
            interaction_id=interaction_id,
            application_id=self.application_id,
            type=type,
            data=data,
            token=token,
            guild=guild,
            channel=channel,
            member=member,
            member_permissions=channel_permissions(guild, channel, member),
            app_permissions=self.bot_permissions(channel.id),
            locale=locale,
            attachment_size_limit=limit,
            message=message.data if message is not None else None,
        )
        handle = FakeInteraction(
            id=interaction_id,
            token=token,
            type=type,
            application_id=self.application_id,
            guild_id=guild.id,
            channel_id=channel.id,
            user_id=member.user.id,
            payload=copy.deepcopy(payload),
            created_at=time.time(),
            dispatched_at=self.clock(),
            attachment_size_limit=limit,
            name=name,
            custom_id=custom_id,
            message_id=message.id if message is not None else None,
        )
        self.interactions[interaction_id] = handle
        self.interactions_by_token[token] = handle
        await self.dispatch("INTERACTION_CREATE", payload)
        return handle

    async def invoke_slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel_id: int | None = None,
        user: Member | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Run ``/name`` (``"group sub"`` for subcommands) as a member would; options by name.

        Attachment options take a ``make_attachment(...)`` dict; user/channel/role options take the
        fake's ``Member``/``Channel``/``Role`` (or an id). Fails loudly if the command was not synced
        or an option is unknown/missing, as the Discord client would not let a member send it.
        """
        _, channel, _ = self._where(channel_id, user)
        data = self._command_data(name, options, channel_id, user)
        return await self._dispatch_interaction(
            type=2, data=data, channel_id=channel.id, user=user, locale=locale, name=name
        )

    async def invoke_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        channel_id: int | None = None,
        user: Member | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """A member typing into ``focused`` (an autocomplete option) of ``/name``; the options typed
        so far are ``options`` (required ones may still be missing). The bot's choices come back as
        the handle's ``response_data["choices"]`` once ``wait_for_ack`` returns."""
        _, channel, _ = self._where(channel_id, user)
        data = self._command_data(name, options, channel_id, user, focused=focused)
        return await self._dispatch_interaction(
            type=4, data=data, channel_id=channel.id, user=user, locale=locale, name=name
        )

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        channel_id: int | None,
        user: Member | None,
        *,
        focused: str | None = None,
    ) -> JSON:
        """The ``data`` of an application-command interaction, checked against the synced command."""
        guild, channel, _ = self._where(channel_id, user)
        root, *path = name.split()
        command, scope = self.find_command(root, 1, guild.id)
        resolved: JSON = {}
        definitions = command.get("options") or []
        chain: list[JSON] = []
        for part in path:
            sub = next((o for o in definitions if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{root} has no subcommand {part!r}")
            chain.append(sub)
            definitions = sub.get("options") or []
        leaf = self._build_options(
            definitions, dict(options or {}), resolved, guild, channel, focused=focused
        )
        for sub in reversed(chain):
            leaf = [{"type": sub["type"], "name": sub["name"], "options": leaf}]
        data: JSON = {"id": command["id"], "name": root, "type": 1, "options": leaf}
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        return data

    def _build_options(
        self,
        definitions: list[JSON],
        values: dict[str, Any],
        resolved: JSON,
        guild: Guild,
        channel: Channel,
        *,
        focused: str | None = None,
    ) -> list[JSON]:
        unknown = set(values) - {d["name"] for d in definitions}
        if unknown:
            raise LookupError(
                f"unknown options {sorted(unknown)}; synced: {[d['name'] for d in definitions]}"
            )
        if focused is not None:
            target = next((d for d in definitions if d["name"] == focused), None)
            if target is None or not target.get("autocomplete"):
                raise LookupError(f"option {focused!r} is not an autocomplete option")
        result = []
        for definition in definitions:
            option_name, kind = definition["name"], definition["type"]
            if option_name == focused:  # being typed: the partial text, whatever its type
                result.append(
                    {
                        "name": option_name,
                        "type": kind,
                        "value": str(values.get(option_name, "")),
                        "focused": True,
                    }
                )
                continue
            if option_name not in values:
                if definition.get("required") and focused is None:
                    raise ValueError(f"option {option_name!r} is required")
                continue
            value = values[option_name]
            choices = [c["value"] for c in definition.get("choices") or []]
            if choices and value not in choices:
                raise ValueError(f"{value!r} is not one of the choices {choices} of {option_name!r}")
            result.append(
                {
                    "name": option_name,
                    "type": kind,
                    "value": self._option_value(kind, value, resolved, guild, channel),
                }
            )
        return result

    def _option_value(self, kind: int, value: Any, resolved: JSON, guild: Guild, channel: Channel) -> Any:
        if kind == 11:
            resolved.setdefault("attachments", {})[value["id"]] = value
            return value["id"]
        if kind in (6, 9) and not isinstance(value, Role):
            user_id = value.user.id if isinstance(value, Member) else int(value)
            if kind == 6 or user_id in self.users:
                payload = self.user_payload(user_id, guild)
                member = payload.pop("member", None)
                resolved.setdefault("users", {})[str(user_id)] = payload
                if member is not None:
                    member["permissions"] = str(channel_permissions(guild, channel, guild.members[user_id]))
                    resolved.setdefault("members", {})[str(user_id)] = member
                return str(user_id)
        if kind in (8, 9):
            role = value if isinstance(value, Role) else guild.roles[int(value)]
            resolved.setdefault("roles", {})[str(role.id)] = role.to_dict()
            return str(role.id)
        if kind == 7:
            target = value if isinstance(value, Channel) else self.channels()[int(value)]
            data = target.to_dict()
            data["permissions"] = str(self.bot_permissions(target.id))
            resolved.setdefault("channels", {})[str(target.id)] = data
            return str(target.id)
        if kind == 4:
            return int(value)
        if kind == 10:
            return float(value) if not isinstance(value, int) else value
        if kind == 5:
            return bool(value)
        return str(value)

    async def invoke_message_command(
        self,
        name: str,
        message: StoredMessage,
        *,
        user: Member | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Right-click → Apps → ``name`` on ``message`` (e.g. one from ``post_member_message``)."""
        guild = self.guilds[message.guild_id or 0]
        command, scope = self.find_command(name, 3, guild.id)
        data: JSON = {
            "id": command["id"],
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): copy.deepcopy(message.data)}},
        }
        if scope is not None:
            data["guild_id"] = str(scope)
        return await self._dispatch_interaction(
            type=2, data=data, channel_id=message.channel_id, user=user, locale=locale, name=name
        )

    async def invoke_component(
        self,
        message: StoredMessage,
        custom_id: str,
        *,
        values: list[str] | None = None,
        user: Member | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Press a button / pick from a select on ``message``; fails if no such enabled component."""
        if message.deleted:
            raise LookupError(f"message {message.id} was deleted")
        component = find_component(message.components, custom_id)
        if component is None:
            raise LookupError(f"no component {custom_id!r} on message {message.id}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if isinstance(component.get("id"), int):
            data["id"] = component["id"]
        if component["type"] in _SELECT_TYPES:
            data["values"] = list(values or [])
        elif values is not None:
            raise ValueError("values are only for select menus")
        return await self._dispatch_interaction(
            type=3,
            data=data,
            channel_id=message.channel_id,
            user=user,
            locale=locale,
            custom_id=custom_id,
            message=message,
        )

    async def invoke_modal_submit(
        self,
        opened_by: FakeInteraction,
        values: Mapping[str, str | list[str]],
        *,
        user: Member | None = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Submit the modal the bot opened in answer to ``opened_by``; values by custom_id."""
        modal = opened_by.modal
        if modal is None:
            raise LookupError(f"interaction {opened_by.id} was not answered with a modal")
        components = [self._submitted(c, values) for c in modal.get("components") or []]
        data: JSON = {"custom_id": modal["custom_id"], "components": components}
        message = self.messages.get(opened_by.message_id) if opened_by.message_id else None
        return await self._dispatch_interaction(
            type=5,
            data=data,
            channel_id=opened_by.channel_id,
            user=user or self.guilds[opened_by.guild_id].members[opened_by.user_id],
            locale=locale,
            custom_id=modal["custom_id"],
            message=message,
        )

    def _submitted(self, component: JSON, values: Mapping[str, str | list[str]]) -> JSON:
        kind = component["type"]
        out: JSON = {"type": kind, "id": component.get("id", 0)}
        if kind == 1:
            out["components"] = [self._submitted(c, values) for c in component.get("components") or []]
        elif kind == 18:
            out["component"] = self._submitted(component["component"], values)
        elif kind == 4:
            custom_id = component["custom_id"]
            value = values.get(custom_id, component.get("value") or "")
            if component.get("required", True) and not value:
                raise ValueError(f"text input {custom_id!r} is required")
            out.update(custom_id=custom_id, value=value)
        elif kind in _SELECT_TYPES:
            out.update(custom_id=component["custom_id"], values=list(values.get(component["custom_id"], [])))
        return out

    def interaction_metadata(self, interaction: FakeInteraction) -> JSON:
        guild = self.guilds[interaction.guild_id]
        data: JSON = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": self.user_payload(interaction.user_id),
            "authorizing_integration_owners": {"0": str(guild.id)},
        }
        if interaction.type == 2:
            data["name"] = interaction.name
            data["command_type"] = interaction.payload["data"].get("type", 1)
        if interaction.message_id is not None:
            data["interacted_message_id"] = str(interaction.message_id)
        return data

    # ------------------------------------------------------------------------------ responses

    async def apply_callback(
        self, interaction: FakeInteraction, kind: int, data: JSON, files: list[UploadedFile]
    ) -> StoredMessage | None:
        channel = self.channels()[interaction.channel_id]
        ephemeral = bool(int(data.get("flags") or 0) & 64)
        message: StoredMessage | None = None
        if kind in (4, 5):
            command_type = interaction.payload["data"].get("type", 1) if interaction.type == 2 else None
            message_type = {1: 20, 2: 23, 3: 23}.get(command_type or 0, 0)
            message = self.messages.create(
                channel,
                data if kind == 4 else {},
                files if kind == 4 else [],
                author=self.bot_user,
                via="callback",
                interaction=interaction,
                ephemeral=ephemeral,
                loading=kind == 5,
                message_type=message_type,
            )
            interaction.original_message_id = message.id
            await self._dispatch_message("MESSAGE_CREATE", message)
        elif kind in (6, 7):
            message = self.messages.get(interaction.message_id or 0)
            if message is None or message.deleted:
                raise fail(r.UNKNOWN_MESSAGE)
            if kind == 7:
                await self.edit_message(message, data, files, via="callback")
            interaction.original_message_id = message.id
        interaction.response_data = copy.deepcopy(data)
        return message

    def callback_response(
        self, interaction: FakeInteraction, kind: int, message: StoredMessage | None
    ) -> JSON:
        """InteractionCallbackResponse for ``?with_response=true``."""
        summary: JSON = {"id": str(interaction.id), "type": interaction.type}
        if message is not None and kind in (4, 5, 7):
            summary.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
        body: JSON = {"interaction": summary}
        if message is not None and kind in (4, 7):
            body["resource"] = {"type": kind, "message": copy.deepcopy(message.data)}
        return body

    async def send_followup(
        self, interaction: FakeInteraction, body: JSON, files: list[UploadedFile]
    ) -> StoredMessage:
        original = self.messages.get(interaction.original_message_id or 0)
        if (
            interaction.response_type == 5
            and original is not None
            and original.loading
            and not original.deleted
        ):
            # Discord: after a deferred response, the first followup replaces the "thinking…" message
            # (and keeps the deferral's ephemerality, whatever the followup's flags say).
            await self.edit_message(original, body, files, via="followup")
            return original
        channel = self.channels()[interaction.channel_id]
        ephemeral = bool(int(body.get("flags") or 0) & 64)
        message = self.messages.create(
            channel,
            body,
            files,
            author=self.bot_user,
            via="followup",
            interaction=interaction,
            ephemeral=ephemeral,
        )
        interaction.followup_ids.append(message.id)
        await self._dispatch_message("MESSAGE_CREATE", message)
        self.notify()
        return message

    async def create_channel_message(
        self, channel: Channel, body: JSON, files: list[UploadedFile]
    ) -> StoredMessage:
        """Create Message: an enforced nonce seen within the window answers with the message it made.

        ``before_channel_message`` / ``after_channel_message``, when set, run before the message is
        stored and after it is stored and announced (before the answer goes back): a test kills the
        bot there to leave a post unsent, or sent but unanswered."""
        if self.before_channel_message is not None:
            await self.before_channel_message(channel, body)
        repeat = self.nonces.repeat_of(self.bot_user.id, body)
        existing = self.messages.get(repeat) if repeat is not None else None
        if existing is not None:
            return existing
        message = self.messages.create(channel, body, files, author=self.bot_user, via="channel")
        message.nonce = nonce_of(body)
        self.nonces.remember(self.bot_user.id, body, message.id)
        await self._dispatch_message("MESSAGE_CREATE", message)
        self.notify()
        if self.after_channel_message is not None:
            await self.after_channel_message(message)
        return message

    async def edit_message(
        self, message: StoredMessage, body: JSON, files: list[UploadedFile], *, via: str
    ) -> None:
        self.messages.edit(message, body, files, via=via)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        self.notify()

    async def delete_stored(self, message: StoredMessage) -> None:
        message.deleted = True
        await self._dispatch_message("MESSAGE_DELETE", message)
        self.notify()

    # ------------------------------------------------------------------ simulated member actions

    def make_attachment(
        self,
        data: bytes = b"",
        filename: str = "image.png",
        *,
        content_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        size: int | None = None,
        channel_id: int | None = None,
    ) -> JSON:
        """An uploaded file as Discord describes it; its url serves ``data`` from the fake's CDN."""
        return self.messages.attachment_from_bytes(
            channel_id or self.channel.id,
            data,
            filename,
            content_type=content_type,
            width=width,
            height=height,
            size=size,
            ephemeral=True,
        )

    async def post_member_message(
        self,
        content: str = "",
        *,
        channel_id: int | None = None,
        author: Member | None = None,
        attachments: list[JSON] | None = None,
        embeds: list[JSON] | None = None,
    ) -> StoredMessage:
        """``embeds``: what Discord unfurls from links in the text (``{"type": "image", "url": …}``)."""
        _, channel, member = self._where(channel_id, author)
        ready = [dict(a, ephemeral=False) for a in attachments or []]
        body: JSON = {"content": content, "embeds": list(embeds or [])}
        message = self.messages.create(channel, body, [], author=member.user, via="member", attachments=ready)
        await self._dispatch_message("MESSAGE_CREATE", message)
        self.notify()
        return message

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """A member (or moderator) deletes a message; the bot gets MESSAGE_DELETE."""
        await self.delete_stored(self.message(channel_id, message_id))

    # ---------------------------------------------------------------------- reading the outcome

    def message(self, channel_id: int, message_id: int) -> StoredMessage:
        message = self.messages.get(message_id)
        if message is None or message.channel_id != channel_id:
            raise LookupError(f"no message {message_id} in channel {channel_id}")
        return message

    def original_message(self, interaction: FakeInteraction) -> StoredMessage:
        if interaction.original_message_id is None:
            raise LookupError(f"interaction {interaction.id} has no original response message")
        return self.message(interaction.channel_id, interaction.original_message_id)

    def followup_messages(self, interaction: FakeInteraction) -> list[StoredMessage]:
        return [self.message(interaction.channel_id, m) for m in interaction.followup_ids]

    def replies_to(self, message_id: int) -> list[StoredMessage]:
        """Messages sent as replies to ``message_id`` (``message_reference``), oldest first."""
        return [
            m
            for m in sorted(self.messages.by_id.values(), key=lambda m: m.id)
            if (m.data.get("message_reference") or {}).get("message_id") == str(message_id)
        ]

    def answers(self, interaction: FakeInteraction) -> list[StoredMessage]:
        """What answered ``interaction`` after its original response: its followups and the bot's
        replies to that response, oldest first."""
        replies = self.replies_to(interaction.original_message_id) if interaction.original_message_id else []
        mine = [m for m in replies if m.author_id == self.bot_user.id]
        return sorted(self.followup_messages(interaction) + mine, key=lambda m: m.id)

    def channel_messages(
        self, channel_id: int, *, include_ephemeral: bool = True, include_deleted: bool = False
    ) -> list[StoredMessage]:
        return [
            m
            for m in self.messages.in_channel(channel_id)
            if (include_ephemeral or not m.ephemeral) and (include_deleted or not m.deleted)
        ]

    def requests_to(self, route: str, method: str | None = None) -> list[RecordedRequest]:
        return [q for q in self.requests if q.route == route and (method is None or q.method == method)]

    def record(self, request: RecordedRequest) -> None:
        request.index = len(self.requests)
        self.requests.append(request)
        self.notify()

    def add_violation(self, request: RecordedRequest, field: str, message: str, source: str) -> None:
        violation = Violation(request.method, request.path, request.route, field, message, source, request)
        _log.warning("fake discord violation: %s", violation)
        self.violations.append(violation)

    def assert_no_violations(self) -> None:
        if self.violations:
            listing = "\n".join(f"  - {v}" for v in self.violations)
            raise AssertionError(f"{len(self.violations)} Discord API violation(s):\n{listing}")

    def rate_limit(
        self,
        route: str,
        *,
        method: str | None = None,
        times: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``route`` (the spec's path template) answer 429."""
        self._rate_limits.append(RateLimitRule(method, route, times, retry_after, is_global))

    def fail_next(
        self,
        route: str,
        *,
        method: str | None = None,
        times: int = 1,
        error: tuple[int, int, str] = SERVER_ERROR,
    ) -> None:
        """Make the next ``times`` calls to ``route`` (the spec's path template) answer ``error``
        (``records.INVALID_FORM_BODY``, say) without doing anything."""
        self._failures.append(FailureRule(method, route, times, error))

    def take_failure(self, method: str, route: str) -> tuple[int, int, str] | None:
        for rule in self._failures:
            if rule.route == route and rule.method in (None, method) and rule.remaining > 0:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._failures.remove(rule)
                return rule.error
        return None

    def take_rate_limit(self, method: str, route: str) -> RateLimitRule | None:
        for rule in self._rate_limits:
            if rule.route == route and rule.method in (None, method) and rule.remaining > 0:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rate_limits.remove(rule)
                return rule
        return None

    def age_interaction(self, interaction: FakeInteraction, seconds: float) -> None:
        """Pretend ``seconds`` passed since dispatch (e.g. 901 to expire the token) without sleeping."""
        interaction.dispatched_at -= seconds

    # ------------------------------------------------------------------------------- waiting

    def notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait(self, find: Callable[[], T | None], timeout: float, what: str) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = find()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(f"  {q.method} {q.path} -> {q.status}" for q in self.requests[-10:])
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; last requests:\n{recent}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], *, timeout: float = 5.0, since: int = 0
    ) -> RecordedRequest:
        """First recorded request (index >= ``since``) matching ``predicate``; waits if none yet."""
        return await self._wait(
            lambda: next((q for q in self.requests[since:] if predicate(q)), None),
            timeout,
            "a matching request",
        )

    async def wait_for_message(
        self, predicate: Callable[[StoredMessage], bool], *, timeout: float = 5.0
    ) -> StoredMessage:
        """First stored message (any channel, checked again after every change) matching ``predicate``."""
        return await self._wait(
            lambda: next((m for m in list(self.messages.by_id.values()) if predicate(m)), None),
            timeout,
            "a matching message",
        )

    async def wait_for_ack(self, interaction: FakeInteraction, *, timeout: float = 5.0) -> FakeInteraction:
        return await self._wait(
            lambda: interaction if interaction.acked else None, timeout, "the acknowledgement"
        )

    async def wait_until_identified(self, *, timeout: float = 5.0) -> None:
        await asyncio.wait_for(self.identified.wait(), timeout)


def point_discord_py_at(fake: FakeDiscord) -> Callable[[], None]:
    """Set discord.py's REST base and default gateway to ``fake``; returns a function that restores them."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{fake.port}/gateway/")

    def restore() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore
