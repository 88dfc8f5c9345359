"""The fake's REST API under /api/v10: routing, recording, scripted 429s, and the route handlers.

Routes are matched against the OpenAPI spec's own path templates, so every recorded request names
the operation it hit and its body can be validated against that operation's schema. Unknown
routes answer 404 and are recorded as violations, so a test notices the bot calling something
the fake (and therefore the design) does not cover.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from . import records as r
from .forums import Forums
from .multipart import multipart_problems
from .payloads import JSON, Perm
from .records import ApiError, FakeInteraction, RecordedRequest, StoredMessage, UploadedFile, fail
from .validate import check_request, form_errors

if TYPE_CHECKING:
    from .server import FakeDiscord

_log = logging.getLogger(__name__)

TRUE_VALUES = {"true", "1"}


@dataclass
class Call:
    request: web.Request
    method: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[UploadedFile]
    record: RecordedRequest

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(
                400, 50035, "Invalid Form Body", {name: {"_errors": [{"code": "NUMBER_TYPE_COERCE"}]}}
            ) from None

    @property
    def upload_size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass
class Reply:
    status: int
    body: Any = None


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class RouteDef:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    bot_auth: bool


def _compile(template: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\{[a-z_]+\})", template):
        if part.startswith("{"):
            out.append(f"(?P<{part[1:-1]}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """Content-Type must be exactly ``application/json``: discord.py compares it with ``==``."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


def bucket_headers(method: str, route: str, *, remaining: int, reset_after: float) -> dict[str, str]:
    bucket = hashlib.sha1(f"{method} {route}".encode()).hexdigest()[:32]
    return {
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
    }


class RestApi:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.routes: list[RouteDef] = []
        bot, hook = True, False
        add = self._add
        add("GET", "/users/@me", self.get_me, bot)
        add("GET", "/users/{user_id}", self.get_user, bot)
        add("GET", "/oauth2/applications/@me", self.get_application, bot)
        add("GET", "/applications/@me", self.get_application, bot)
        add("GET", "/gateway", self.get_gateway, hook)
        add("GET", "/gateway/bot", self.get_gateway_bot, bot)
        for prefix in ("/applications/{application_id}", "/applications/{application_id}/guilds/{guild_id}"):
            add("GET", prefix + "/commands", self.list_commands, bot)
            add("PUT", prefix + "/commands", self.put_commands, bot)
            add("POST", prefix + "/commands", self.post_command, bot)
            add("DELETE", prefix + "/commands/{command_id}", self.delete_command, bot)
        add("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.callback, hook)
        hook_base = "/webhooks/{webhook_id}/{webhook_token}"
        add("POST", hook_base, self.followup, hook)
        for suffix in ("/messages/@original", "/messages/{message_id}"):
            add("GET", hook_base + suffix, self.get_hook_message, hook)
            add("PATCH", hook_base + suffix, self.edit_hook_message, hook)
            add("DELETE", hook_base + suffix, self.delete_hook_message, hook)
        add("GET", "/channels/{channel_id}", self.get_channel, bot)
        add("GET", "/channels/{channel_id}/messages", self.list_messages, bot)
        add("POST", "/channels/{channel_id}/messages", self.create_message, bot)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message, bot)
        add("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message, bot)
        add("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message, bot)
        self.forums = Forums(fake, self._add)  # forum posts, tags, active threads
        # Literal segments (@me, @original) must win over {params}: fewer params first.
        self.routes.sort(key=lambda route: route.template.count("{"))

    def _add(self, method: str, template: str, handler: Handler, bot_auth: bool) -> None:
        self.routes.append(RouteDef(method, template, _compile(template), handler, bot_auth))

    def match(self, method: str, path: str) -> tuple[RouteDef, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method:
                found = route.pattern.match(path)
                if found:
                    return route, found.groupdict()
        return None

    # ------------------------------------------------------------------------------ dispatcher

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        path = "/" + request.match_info["tail"]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("authorization", "cookie")}
        record = RecordedRequest(
            index=-1,
            method=request.method,
            path=path,
            route=None,
            params={},
            query=dict(request.query),
            json=None,
            files=[],
            headers=headers,
            timestamp=time.time(),
            at=fake.clock(),
        )
        extra_headers: dict[str, str] = {}
        try:
            record.json, record.files = await _read_body(request)
        except ConnectionResetError:  # the client died while sending (a kill -9 mid-upload): nothing arrived
            _log.info("fake discord: %s %s lost its client before its body arrived", request.method, path)
            return web.Response(status=400)
        try:
            reply, extra_headers = await self._route(request, record)
        except ApiError as error:
            reply = Reply(error.status, error.body())
        except Exception as error:  # a bug in the fake must be loud, but must not hang discord.py
            _log.exception("fake discord failed on %s %s", request.method, path)
            fake.add_violation(record, "<fake>", f"fake discord raised {error!r}", "fake-error")
            reply = Reply(400, {"message": f"fake discord error: {error!r}", "code": 0})
        record.status, record.response = reply.status, reply.body
        fake.record(record)
        if reply.body is None:
            return web.Response(status=reply.status, headers=extra_headers)
        return json_response(reply.status, reply.body, extra_headers)

    async def _route(self, request: web.Request, record: RecordedRequest) -> tuple[Reply, dict[str, str]]:
        fake = self.fake
        found = self.match(request.method, record.path)
        if found is None:
            fake.add_violation(record, "<route>", "the fake does not implement this route", "unimplemented")
            return Reply(404, {"message": "404: Not Found", "code": 0}), {}
        route, params = found
        record.route, record.params = route.template, params
        rule = fake.take_rate_limit(request.method, route.template)
        if rule is not None:
            return self._rate_limited(request.method, route.template, rule.retry_after, rule.is_global)
        forced = fake.take_failure(request.method, route.template)
        if forced is not None:
            raise fail(forced)
        headers = bucket_headers(request.method, route.template, remaining=4, reset_after=1.0)
        if route.bot_auth and request.headers.get("Authorization") != f"Bot {fake.token}":
            return Reply(401, {"message": "401: Unauthorized", "code": 0}), headers
        problems = check_request(request.method, route.template, record.json)
        if record.files:  # an upload: its parts, and the spec's multipart schema
            seen = {(p.location, p.message) for p in problems}
            extra = multipart_problems(request.method, route.template, record.json, record.files)
            problems += [p for p in extra if (p.location, p.message) not in seen]
        for problem in problems:
            fake.add_violation(record, problem.field, problem.message, problem.source)
        if problems and fake.reject_invalid:
            raise fail(r.INVALID_FORM_BODY, form_errors(problems))
        call = Call(
            request, request.method, route.template, params, record.query, record.json, record.files, record
        )
        return await route.handler(call), headers

    def _rate_limited(
        self, method: str, route: str, retry_after: float, is_global: bool
    ) -> tuple[Reply, dict[str, str]]:
        """A 429 discord.py will honour: JSON body with retry_after *and* a ``Via`` header.

        Without ``Via`` discord.py assumes a Cloudflare ban and raises instead of retrying.
        """
        headers = bucket_headers(method, route, remaining=0, reset_after=retry_after)
        headers.update(
            {
                "Retry-After": str(max(1, math.ceil(retry_after))),
                "X-RateLimit-Scope": "global" if is_global else "user",
                "Via": "1.1 google",
            }
        )
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        if is_global:
            body["code"] = 0
        return Reply(429, body), headers

    # ------------------------------------------------------------------------- user & gateway

    async def get_me(self, call: Call) -> Reply:
        data = self.fake.bot_user.to_dict()
        data.update(verified=True, mfa_enabled=False, email=None, locale="en-US", bio="")
        return Reply(200, data)

    async def get_user(self, call: Call) -> Reply:
        user = self.fake.users.get(call.int_param("user_id"))
        if user is None:
            raise fail(r.UNKNOWN_USER)
        return Reply(200, user.to_dict())

    async def get_application(self, call: Call) -> Reply:
        return Reply(200, self.fake.application_payload())

    async def get_gateway(self, call: Call) -> Reply:
        return Reply(200, {"url": self.fake.gateway_url})

    async def get_gateway_bot(self, call: Call) -> Reply:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return Reply(200, {"url": self.fake.gateway_url, "shards": 1, "session_start_limit": limit})

    # -------------------------------------------------------------------------------- commands

    def _command_scope(self, call: Call) -> int | None:
        if call.int_param("application_id") != self.fake.application_id:
            raise fail(r.MISSING_ACCESS)
        if "guild_id" not in call.params:
            return None
        guild_id = call.int_param("guild_id")
        if guild_id not in self.fake.guilds:
            raise fail(r.UNKNOWN_GUILD)
        return guild_id

    async def list_commands(self, call: Call) -> Reply:
        return Reply(200, list(self.fake.commands(self._command_scope(call))))

    async def put_commands(self, call: Call) -> Reply:
        scope = self._command_scope(call)
        return Reply(200, self.fake.store_commands(scope, list(call.body or []), replace=True))

    async def post_command(self, call: Call) -> Reply:
        scope = self._command_scope(call)
        existed = any(c["name"] == (call.body or {}).get("name") for c in self.fake.commands(scope))
        stored = self.fake.store_commands(scope, [call.body or {}], replace=False)
        return Reply(200 if existed else 201, stored[0])

    async def delete_command(self, call: Call) -> Reply:
        scope = self._command_scope(call)
        if not self.fake.remove_command(scope, call.int_param("command_id")):
            raise fail(r.UNKNOWN_COMMAND)
        return Reply(204)

    # ---------------------------------------------------------------------------- interactions

    async def callback(self, call: Call) -> Reply:
        fake = self.fake
        interaction = fake.interactions.get(call.int_param("interaction_id"))
        if interaction is None or interaction.token != call.params["interaction_token"]:
            raise fail(r.UNKNOWN_INTERACTION)
        call.record.interaction_id = interaction.id
        if interaction.acked:
            raise fail(r.ALREADY_ACKNOWLEDGED)
        if fake.clock() - interaction.dispatched_at > fake.ack_deadline:
            raise fail(r.UNKNOWN_INTERACTION)
        body = call.body if isinstance(call.body, dict) else {}
        if call.upload_size > interaction.attachment_size_limit:
            raise fail(r.ENTITY_TOO_LARGE)
        kind = body.get("type")
        self._check_callback_type(call, interaction, kind)
        assert isinstance(kind, int)
        # Claim the acknowledgement before awaiting, so a concurrent second callback gets 40060.
        interaction.response_type, interaction.acked_at = kind, fake.clock()
        try:
            message = await fake.apply_callback(interaction, kind, body.get("data") or {}, call.files)
        except BaseException:
            interaction.response_type = interaction.acked_at = None
            raise
        fake.notify()
        if call.query.get("with_response", "").lower() not in TRUE_VALUES:
            return Reply(204)
        return Reply(200, fake.callback_response(interaction, kind, message))

    def _check_callback_type(self, call: Call, interaction: FakeInteraction, kind: object) -> None:
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}.get(interaction.type, set())
        if interaction.type == 5 and interaction.message_id is None:
            allowed = {4, 5}
        if kind not in allowed:
            message = f"callback type {kind!r} is not valid for interaction type {interaction.type}"
            self.fake.add_violation(call.record, "type", message, "protocol")
            raise fail(
                r.INVALID_FORM_BODY, {"type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID"}]}}
            )

    def _hook_interaction(self, call: Call) -> FakeInteraction:
        fake = self.fake
        if call.int_param("webhook_id") != fake.application_id:
            raise fail(r.UNKNOWN_WEBHOOK)
        interaction = fake.interactions_by_token.get(call.params["webhook_token"])
        if interaction is None or fake.clock() - interaction.dispatched_at > fake.token_ttl:
            raise fail(r.INVALID_WEBHOOK_TOKEN)
        call.record.interaction_id = interaction.id
        if not interaction.acked:
            raise fail(r.UNKNOWN_WEBHOOK)
        return interaction

    def _hook_message(self, call: Call) -> tuple[FakeInteraction, StoredMessage]:
        interaction = self._hook_interaction(call)
        raw = call.params.get("message_id")
        if raw is None:
            message_id = interaction.original_message_id
        else:
            message_id = call.int_param("message_id")
            if message_id not in (interaction.original_message_id, *interaction.followup_ids):
                raise fail(r.UNKNOWN_MESSAGE)
        message = self.fake.messages.get(message_id) if message_id else None
        if message is None or message.deleted:
            raise fail(r.UNKNOWN_MESSAGE)
        return interaction, message

    async def followup(self, call: Call) -> Reply:
        interaction = self._hook_interaction(call)
        if call.upload_size > interaction.attachment_size_limit:
            raise fail(r.ENTITY_TOO_LARGE)
        message = await self.fake.send_followup(interaction, call.body or {}, call.files)
        if call.query.get("wait", "").lower() not in TRUE_VALUES:
            return Reply(204)
        return Reply(200, message.data)

    async def get_hook_message(self, call: Call) -> Reply:
        return Reply(200, self._hook_message(call)[1].data)

    async def edit_hook_message(self, call: Call) -> Reply:
        interaction, message = self._hook_message(call)
        if call.upload_size > interaction.attachment_size_limit:
            raise fail(r.ENTITY_TOO_LARGE)
        await self.fake.edit_message(message, call.body or {}, call.files, via="webhook")
        return Reply(200, message.data)

    async def delete_hook_message(self, call: Call) -> Reply:
        await self.fake.delete_stored(self._hook_message(call)[1])
        return Reply(204)

    # -------------------------------------------------------------------------------- channels

    def _channel(self, call: Call, *needed: Perm) -> Any:
        fake = self.fake
        channel = fake.channels().get(call.int_param("channel_id"))
        if channel is None:
            raise fail(r.UNKNOWN_CHANNEL)
        perms = fake.bot_permissions(channel.id)
        if not perms & Perm.VIEW_CHANNEL:
            raise fail(r.MISSING_ACCESS)
        if any(not perms & p for p in needed):
            raise fail(r.MISSING_PERMISSIONS)
        return channel

    def _channel_message(self, call: Call) -> StoredMessage:
        message = self.fake.messages.get(call.int_param("message_id"))
        if (
            message is None
            or message.deleted
            or message.ephemeral
            or message.channel_id != int(call.params["channel_id"])
        ):
            raise fail(r.UNKNOWN_MESSAGE)
        return message

    def _content_permissions(
        self, call: Call, channel_id: int, body: JSON, *, existing: StoredMessage | None
    ) -> JSON:
        """ATTACH_FILES for uploads; without EMBED_LINKS embeds are dropped, or 403 if nothing is left."""
        perms = self.fake.bot_permissions(channel_id)
        if call.files and not perms & Perm.ATTACH_FILES:
            raise fail(r.MISSING_PERMISSIONS)
        if body.get("embeds") and not perms & Perm.EMBED_LINKS:
            body = dict(body, embeds=[])
            has_other = body.get("content") or call.files or body.get("components")
            if existing is not None and "content" not in body:
                has_other = has_other or existing.content
            if not has_other:
                raise fail(r.MISSING_PERMISSIONS)
        return body

    def _check_guild_upload(self, call: Call, guild_id: int) -> None:
        if call.upload_size > self.fake.guilds[guild_id].upload_limit:
            raise fail(r.ENTITY_TOO_LARGE)

    async def get_channel(self, call: Call) -> Reply:
        return Reply(200, self._channel(call).to_dict())

    async def list_messages(self, call: Call) -> Reply:
        channel = self._channel(call, Perm.READ_MESSAGE_HISTORY)
        limit = max(1, min(100, int(call.query.get("limit", 50))))
        visible = [m for m in self.fake.messages.in_channel(channel.id) if not m.deleted and not m.ephemeral]
        for key in ("before", "after"):
            if key in call.query:
                pivot = int(call.query[key])
                visible = [m for m in visible if (m.id < pivot if key == "before" else m.id > pivot)]
        newest_first = list(reversed(visible))[:limit]
        return Reply(200, [m.data for m in newest_first])

    async def create_message(self, call: Call) -> Reply:
        channel = self._channel(call, Perm.SEND_MESSAGES)
        self._check_guild_upload(call, channel.guild_id)
        body = self._content_permissions(call, channel.id, call.body or {}, existing=None)
        message = await self.fake.create_channel_message(channel, body, call.files)
        return Reply(200, self.fake.messages.created_view(message))

    async def get_message(self, call: Call) -> Reply:
        self._channel(call, Perm.READ_MESSAGE_HISTORY)
        return Reply(200, self._channel_message(call).data)

    async def edit_message(self, call: Call) -> Reply:
        channel = self._channel(call)
        message = self._channel_message(call)
        if message.author_id != self.fake.bot_user.id:
            raise fail(r.CANNOT_EDIT_OTHERS)
        self._check_guild_upload(call, channel.guild_id)
        body = self._content_permissions(call, channel.id, call.body or {}, existing=message)
        await self.fake.edit_message(message, body, call.files, via="channel")
        return Reply(200, message.data)

    async def delete_message(self, call: Call) -> Reply:
        channel = self._channel(call)
        message = self._channel_message(call)
        if (
            message.author_id != self.fake.bot_user.id
            and not self.fake.bot_permissions(channel.id) & Perm.MANAGE_MESSAGES
        ):
            raise fail(r.MISSING_PERMISSIONS)
        await self.fake.delete_stored(message)
        return Reply(204)


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """JSON bodies as-is; multipart bodies as (parsed ``payload_json``, file parts)."""
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read(decode=False)
            if part.name == "payload_json":
                body = _loads(bytes(data))
            else:
                content_type = part.headers.get("Content-Type")
                files.append(
                    UploadedFile(part.name or "", part.filename, content_type, len(data), bytes(data))
                )
        return body, files
    raw = await request.read()
    if not raw:
        return None, []
    if request.content_type == "application/json":
        return _loads(raw), []
    return None, []


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise fail(r.INVALID_JSON) from None
