"""A faithful fake Discord (REST + websocket gateway) for end-to-end tests of the real discord.py bot.

Usage::

    async with FakeDiscord() as fake:            # starts on 127.0.0.1, points discord.py at it
        async with fake.run_bot(MyBot()) as bot:  # real login, gateway, READY, GUILD_CREATE
            handle = await fake.invoke_slash("ping")
            await fake.wait_for_ack(handle)
            assert fake.original_message(handle).content == "pong"
        fake.assert_no_violations()
"""

from .payloads import DEFAULT_UPLOAD_LIMIT, Channel, Guild, Member, MessageFlag, Perm, Role, User
from .records import (
    FakeInteraction,
    GatewayFrame,
    MessageEdit,
    RecordedRequest,
    StoredMessage,
    UploadedFile,
    Violation,
)
from .server import FakeDiscord, point_discord_py_at

__all__ = [
    "DEFAULT_UPLOAD_LIMIT",
    "Channel",
    "FakeDiscord",
    "FakeInteraction",
    "GatewayFrame",
    "Guild",
    "Member",
    "MessageEdit",
    "MessageFlag",
    "Perm",
    "RecordedRequest",
    "Role",
    "StoredMessage",
    "UploadedFile",
    "User",
    "Violation",
    "point_discord_py_at",
]
