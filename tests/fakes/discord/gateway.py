"""The fake gateway: a websocket speaking Discord's v10 protocol to the real discord.py client.

HELLO → IDENTIFY → READY (+ one GUILD_CREATE per guild), heartbeats acknowledged, RESUME replays
what a dropped connection missed, and ``zlib-stream`` transport compression is honoured with one
shared compressor per connection flushed with Z_SYNC_FLUSH, as discord.py's inflater expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .payloads import JSON, guild_create_payload
from .records import GatewayFrame

if TYPE_CHECKING:
    from .server import FakeDiscord

_log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15


class GatewaySession:
    """Survives a dropped connection so RESUME can replay the dispatches sent meanwhile."""

    def __init__(self, token: str, intents: int) -> None:
        self.id = secrets.token_hex(16)
        self.token = token
        self.intents = intents
        self.seq = 0
        self.alive = True
        self.connection: GatewayConnection | None = None
        self.sent: deque[JSON] = deque(maxlen=2000)

    def wants(self, intent: int) -> bool:
        return bool(self.intents & intent)

    async def dispatch(self, event: str, data: Any) -> None:
        self.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
        self.sent.append(payload)
        if self.connection is not None:
            await self.connection.send(payload)


class GatewayConnection:
    """One websocket; sends are serialised so the shared zlib stream stays in order."""

    def __init__(self, fake: FakeDiscord, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.fake = fake
        self.ws = ws
        self.session: GatewaySession | None = None
        self.server_close_code: int | None = None
        self._lock = asyncio.Lock()
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None

    async def send(self, payload: JSON) -> None:
        at = self.fake.clock()
        frame = GatewayFrame("out", payload["op"], payload.get("t"), payload.get("s"), payload.get("d"), at)
        self.fake.gateway_frames.append(frame)
        raw = json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return
            with contextlib.suppress(ConnectionError, RuntimeError):
                if self._zlib is not None:
                    data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(raw)

    async def close(self, code: int, reason: str = "") -> None:
        self.server_close_code = code
        async with self._lock:
            await self.ws.close(code=code, message=reason.encode())

    async def run(self) -> None:
        await self.send({"op": HELLO, "d": {"heartbeat_interval": self.fake.heartbeat_interval_ms}})
        async for msg in self.ws:
            if msg.type is WSMsgType.TEXT:
                raw = msg.data
            elif msg.type is WSMsgType.BINARY:
                raw = zlib.decompress(msg.data).decode()
            else:
                break
            try:
                payload = json.loads(raw)
                op = int(payload["op"])
            except (ValueError, KeyError, TypeError):
                await self.close(4002, "Error while decoding payload.")
                break
            self.fake.gateway_frames.append(
                GatewayFrame("in", op, None, None, payload.get("d"), self.fake.clock())
            )
            if not await self._handle(op, payload.get("d")):
                break

    async def _handle(self, op: int, data: Any) -> bool:
        if op == HEARTBEAT:
            await self.send({"op": HEARTBEAT_ACK})
            return True
        if op == IDENTIFY:
            return await self._identify(data or {})
        if op == RESUME:
            return await self._resume(data or {})
        if self.session is None:
            await self.close(4003, "Not authenticated.")
            return False
        if op == REQUEST_MEMBERS:
            await self._members_chunk(data or {})
        elif op not in (PRESENCE, VOICE_STATE):
            await self.close(4001, "Unknown opcode.")
            return False
        return True

    async def _identify(self, data: JSON) -> bool:
        fake = self.fake
        if self.session is not None:
            await self.close(4005, "Already authenticated.")
            return False
        if data.get("token") != fake.token:
            await self.close(4004, "Authentication failed.")
            return False
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await self.close(4013, "Invalid intent(s).")
            return False
        if intents & ~fake.allowed_intents:
            await self.close(4014, "Disallowed intent(s).")
            return False
        session = GatewaySession(data["token"], intents)
        session.connection = self
        self.session = session
        fake.sessions[session.id] = session
        ready = fake.ready_payload(session)
        if data.get("shard") is not None:
            ready["shard"] = data["shard"]
        await session.dispatch("READY", ready)
        for guild in fake.guilds.values():
            members = list(guild.members.values())
            if not session.wants(INTENT_GUILD_MEMBERS):
                members = [m for m in members if m.user.id == fake.bot_user.id]
            payload = guild_create_payload(guild, members=members, member_count=len(guild.members))
            await session.dispatch("GUILD_CREATE", payload)
        fake.identified.set()
        return True

    async def _resume(self, data: JSON) -> bool:
        session = self.fake.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.fake.token:
            await self.close(4004, "Authentication failed.")
            return False
        if session is None or not session.alive:
            await self.send({"op": INVALID_SESSION, "d": False})
            return True
        if session.connection is not None and session.connection is not self:
            await session.connection.close(4000, "Session resumed elsewhere.")
        session.connection = self
        self.session = session
        last = data.get("seq") or 0
        for payload in list(session.sent):
            if payload["s"] > last:
                await self.send(payload)
        await session.dispatch("RESUMED", {"_trace": ["fake-discord"]})
        return True

    async def _members_chunk(self, data: JSON) -> None:
        assert self.session is not None
        guild = self.fake.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        query = (data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or []}
        members = [
            m
            for m in guild.members.values()
            if (not wanted or m.user.id in wanted) and m.user.username.lower().startswith(query)
        ]
        if data.get("limit"):
            members = members[: int(data["limit"])]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [m.to_dict() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in wanted - {m.user.id for m in members}],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self.session.dispatch("GUILD_MEMBERS_CHUNK", chunk)


async def gateway_handler(fake: FakeDiscord, request: web.Request) -> web.WebSocketResponse:
    """aiohttp handler for ws://127.0.0.1:{port}/gateway[/]?v=10&encoding=json[&compress=...]."""
    ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
    fake.gateway_connects.append(dict(request.query))
    await ws.prepare(request)
    if request.query.get("encoding", "json") != "json":
        await ws.close(code=4002, message=b"The fake gateway speaks JSON only.")
        return ws
    compress = request.query.get("compress")
    # discord.py asks for zstd-stream only when it can decode it; the fake then falls back to plain
    # text frames, which discord.py also accepts.
    connection = GatewayConnection(fake, ws, compress if compress == "zlib-stream" else None)
    fake.connections.add(connection)
    try:
        await connection.run()
    except ConnectionError:
        pass
    finally:
        fake.connections.discard(connection)
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
            # A clean close by the client ends the session, as on Discord. (aiohttp reports 1000
            # too when *we* closed while the handler was reading, hence server_close_code.)
            if connection.server_close_code is None and ws.close_code in (1000, 1001):
                session.alive = False
        if not ws.closed:
            await ws.close()
    return ws
