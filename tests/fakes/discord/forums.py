"""Forum channels in the fake: their tags (Modify Channel), their posts (Create Thread) and the
guild's active threads (the bot looks for a post an interrupted attempt may have made).

What Discord enforces here, and the fake with it: a post is a thread with a first message (whose id
is the thread's); ``applied_tags`` must be the forum's own tags, at most 5, and a forum flagged
REQUIRE_TAG refuses an untagged post; a forum has at most 20 tags, each named in 1-20 characters
(the docs; the spec allows 50), and editing them needs Manage Channels; posting needs Send Messages,
an upload Attach Files and at most the guild's upload limit. Bodies are validated against the spec by
the dispatcher (``validate``, ``multipart``); the nested message's limits are checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import records as r
from .payloads import JSON, Channel, Perm, iso
from .records import StoredMessage, fail
from .validate import message_problems

if TYPE_CHECKING:
    from .rest import Call, Handler, Reply, RestApi
    from .server import FakeDiscord

FORUM = 15
PUBLIC_THREAD = 11
REQUIRE_TAG = 1 << 4
TAGS_MAX = 20
TAG_NAME_MAX = 20
APPLIED_TAGS_MAX = 5
TAG_REQUIRED = (400, 40067, "A tag is required to create a forum post in this channel")


@dataclass
class Thread:
    channel: Channel  # type 11, parent_id = the forum
    owner_id: int
    applied_tags: list[int] = field(default_factory=list)
    archived: bool = False

    @property
    def id(self) -> int:
        return self.channel.id

    def to_dict(self) -> JSON:
        c = self.channel
        return {
            "id": str(c.id),
            "type": PUBLIC_THREAD,
            "guild_id": str(c.guild_id),
            "parent_id": str(c.parent_id),
            "owner_id": str(self.owner_id),
            "name": c.name,
            "last_message_id": str(c.last_message_id) if c.last_message_id else None,
            "message_count": 1,
            "member_count": 1,
            "total_message_sent": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "applied_tags": [str(t) for t in self.applied_tags],
            "thread_metadata": {
                "archived": self.archived,
                "auto_archive_duration": 4320,
                "archive_timestamp": iso(),
                "locked": False,
                "create_timestamp": iso(),
            },
        }


class Forums:
    """The routes, registered on the REST API; ``threads`` holds every post the bot made."""

    def __init__(self, fake: FakeDiscord, add: Callable[[str, str, Handler, bool], None]) -> None:
        self.fake = fake
        self.threads: dict[int, Thread] = {}
        add("POST", "/channels/{channel_id}/threads", self.create_thread, True)
        add("PATCH", "/channels/{channel_id}", self.modify_channel, True)
        add("GET", "/guilds/{guild_id}/threads/active", self.active_threads, True)

    @property
    def rest(self) -> RestApi:
        return self.fake.rest

    # ---------------------------------------------------------------------------- the world

    def add_forum(
        self, guild_id: int, name: str, *, tags: tuple[str, ...] = (), require_tag: bool = False
    ) -> Channel:
        """A forum channel (add it before the bot connects); ``tags`` are made with fresh ids."""
        channel = self.fake.add_channel(guild_id, name, type=FORUM)
        channel.available_tags = [self._tag({"name": n}) for n in tags]
        channel.flags = REQUIRE_TAG if require_tag else 0
        return channel

    def _tag(self, body: JSON) -> JSON:
        return {
            "id": str(body.get("id") or self.fake.snowflakes.next()),
            "name": body.get("name") or "",
            "moderated": bool(body.get("moderated")),
            "emoji_id": body.get("emoji_id"),
            "emoji_name": body.get("emoji_name"),
        }

    def posts_in(self, forum_id: int) -> list[tuple[Thread, StoredMessage]]:
        """The forum's threads, oldest first, each with its first message."""
        out = []
        for thread in sorted(self.threads.values(), key=lambda t: t.id):
            if thread.channel.parent_id == forum_id:
                message = self.fake.messages.get(thread.id)
                assert message is not None
                out.append((thread, message))
        return out

    # ----------------------------------------------------------------------------- routes

    async def modify_channel(self, call: Call) -> Reply:
        from .rest import Reply

        channel = self.rest._channel(call, Perm.MANAGE_CHANNELS)
        body = call.body if isinstance(call.body, dict) else {}
        if body.get("name"):
            channel.name = str(body["name"])
        if "available_tags" in body:
            tags = list(body["available_tags"] or [])
            errors: JSON = {}
            if len(tags) > TAGS_MAX:
                errors["available_tags"] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}
            for i, tag in enumerate(tags):
                if not 1 <= len(str(tag.get("name") or "")) <= TAG_NAME_MAX:
                    message = f"a tag's name has 1 to {TAG_NAME_MAX} characters"
                    self.fake.add_violation(call.record, f"available_tags.{i}.name", message, "limit")
                    errors.setdefault("available_tags", {})[str(i)] = {
                        "name": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": message}]}
                    }
            if errors:
                raise fail(r.INVALID_FORM_BODY, errors)
            channel.available_tags = [self._tag(tag) for tag in tags]
        await self.fake.dispatch("CHANNEL_UPDATE", channel.to_dict())
        return Reply(200, channel.to_dict())

    async def create_thread(self, call: Call) -> Reply:
        from .rest import Reply

        fake = self.fake
        forum = self.rest._channel(call, Perm.SEND_MESSAGES)
        if forum.type != FORUM:
            fake.add_violation(
                call.record, "<route>", "the fake makes threads in forums only", "unimplemented"
            )
            raise fail(r.INVALID_FORM_BODY)
        body = call.body if isinstance(call.body, dict) else {}
        message_body = body.get("message") if isinstance(body.get("message"), dict) else {}
        problems = message_problems(message_body, ("message",))
        for problem in problems:
            fake.add_violation(call.record, problem.field, problem.message, problem.source)
        if problems:
            raise fail(r.INVALID_FORM_BODY)
        tags = [int(t) for t in body.get("applied_tags") or []]
        known = {int(t["id"]) for t in forum.available_tags}
        if len(tags) > APPLIED_TAGS_MAX or any(t not in known for t in tags):
            fake.add_violation(call.record, "applied_tags", "not this forum's tags (or more than 5)", "limit")
            raise fail(r.INVALID_FORM_BODY, {"applied_tags": {"_errors": [{"code": "BASE_TYPE_CHOICES"}]}})
        if forum.flags & REQUIRE_TAG and not tags:
            raise fail(TAG_REQUIRED)
        self.rest._check_guild_upload(call, forum.guild_id)
        message_body = self.rest._content_permissions(call, forum.id, message_body, existing=None)
        thread_id = fake.snowflakes.next()
        room = Channel(
            thread_id, forum.guild_id, str(body.get("name") or ""), PUBLIC_THREAD, parent_id=forum.id
        )
        thread = Thread(room, fake.bot_user.id, tags)
        message = fake.messages.create(room, message_body, call.files, author=fake.bot_user, via="thread")
        self._rekey(message, thread_id)  # a forum post's first message has the thread's id
        room.last_message_id = forum.last_message_id = thread_id
        self.threads[thread_id] = thread
        fake.notify()
        return Reply(201, dict(thread.to_dict(), message=message.data))

    def _rekey(self, message: StoredMessage, new_id: int) -> None:
        store = self.fake.messages.by_id
        store.pop(message.id, None)
        message.id = new_id
        message.data["id"] = str(new_id)
        store[new_id] = message

    async def active_threads(self, call: Call) -> Reply:
        from .rest import Reply

        guild_id = call.int_param("guild_id")
        if guild_id not in self.fake.guilds:
            raise fail(r.UNKNOWN_GUILD)
        live: list[Any] = [
            t.to_dict() for t in self.threads.values() if t.channel.guild_id == guild_id and not t.archived
        ]
        return Reply(200, {"threads": live, "members": []})
