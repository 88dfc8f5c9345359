"""Message storage: create, edit and delete messages the way Discord applies the bodies it receives.

One store for every route (channel messages, interaction callbacks, webhook edits, followups,
messages "typed" by a simulated member), so a test reads the resulting state — content, embeds,
components, attachments, who was pinged, whether the deferred "thinking…" is still showing — in
one place, whichever route the bot used.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .payloads import JSON, Channel, MessageFlag, User, attachment_payload, guess_content_type, iso
from .records import (
    EMPTY_MESSAGE,
    INVALID_FORM_BODY,
    FakeInteraction,
    MessageEdit,
    StoredMessage,
    UploadedFile,
    fail,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")

# Which message flags a client may set; the rest (EPHEMERAL, LOADING, ...) belong to the server.
_CLIENT_FLAGS = (
    MessageFlag.SUPPRESS_EMBEDS | MessageFlag.SUPPRESS_NOTIFICATIONS | MessageFlag.IS_COMPONENTS_V2
)


def _walk(components: Iterable[JSON]) -> Iterator[JSON]:
    for component in components:
        yield component
        yield from _walk(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                yield from _walk([component[key]])


def number_components(components: list[JSON]) -> list[JSON]:
    """Discord gives every component a numeric ``id`` when the sender did not."""
    used = {c["id"] for c in _walk(components) if isinstance(c.get("id"), int)}
    counter = 1
    for component in _walk(components):
        if not isinstance(component.get("id"), int):
            while counter in used:
                counter += 1
            component["id"] = counter
            used.add(counter)
    return components


def find_component(components: list[JSON], custom_id: str) -> JSON | None:
    return next((c for c in _walk(components) if c.get("custom_id") == custom_id), None)


def file_index(upload: UploadedFile) -> int | None:
    match = _FILE_FIELD.match(upload.field)
    return int(match.group(1)) if match else None


class MessageStore:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.by_id: dict[int, StoredMessage] = {}
        self.blobs: dict[int, tuple[bytes, str]] = {}

    # ---------------------------------------------------------------------------- attachments

    def attachment_from_bytes(
        self,
        channel_id: int,
        data: bytes,
        filename: str,
        *,
        content_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
        description: str | None = None,
        ephemeral: bool = False,
        size: int | None = None,
    ) -> JSON:
        attachment_id = self.fake.snowflakes.next()
        content_type = content_type or guess_content_type(filename)
        self.blobs[attachment_id] = (data, content_type)
        url = self.fake.cdn_url(channel_id, attachment_id, filename)
        return attachment_payload(
            attachment_id,
            filename=filename,
            size=len(data) if size is None else size,
            url=url,
            content_type=content_type,
            width=width,
            height=height,
            description=description,
            ephemeral=ephemeral,
        )

    def _new_attachments(self, channel_id: int, body: JSON, files: list[UploadedFile]) -> dict[int, JSON]:
        """Uploaded parts keyed by their ``files[n]`` index, described by ``attachments[].id == n``."""
        described = {}
        for entry in body.get("attachments") or []:
            try:
                described[int(entry.get("id"))] = entry
            except (TypeError, ValueError):
                continue
        result = {}
        for upload in files:
            index = file_index(upload)
            if index is None:
                continue
            meta = described.get(index, {})
            filename = meta.get("filename") or upload.filename or f"file{index}"
            result[index] = self.attachment_from_bytes(
                channel_id, upload.data, filename, description=meta.get("description"), size=upload.size
            )
        return result

    # ------------------------------------------------------------------------------- mentions

    def _mentions(
        self, guild_id: int | None, content: str, allowed: JSON | None
    ) -> tuple[list[JSON], list[str], bool]:
        parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
        allowed_users = {int(u) for u in (allowed or {}).get("users") or []}
        allowed_roles = {int(r) for r in (allowed or {}).get("roles") or []}
        guild = self.fake.guilds.get(guild_id or 0)
        users: list[JSON] = []
        for raw in dict.fromkeys(USER_MENTION.findall(content)):
            user_id = int(raw)
            if "users" in parse or user_id in allowed_users:
                users.append(self.fake.user_payload(user_id, guild))
        roles = [
            r
            for r in dict.fromkeys(ROLE_MENTION.findall(content))
            if "roles" in parse or int(r) in allowed_roles
        ]
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        return users, roles, everyone

    def _apply_mentions(self, message: StoredMessage, allowed: JSON | None) -> None:
        users, roles, everyone = self._mentions(message.guild_id, message.content, allowed)
        message.data.update(mentions=users, mention_roles=roles, mention_everyone=everyone)

    # ------------------------------------------------------------------------- create / edit

    def create(
        self,
        channel: Channel,
        body: JSON,
        files: list[UploadedFile],
        *,
        author: User,
        via: str,
        interaction: FakeInteraction | None = None,
        ephemeral: bool = False,
        loading: bool = False,
        message_type: int = 0,
        attachments: list[JSON] | None = None,
    ) -> StoredMessage:
        """``attachments`` are ready-made (``make_attachment``) for messages a simulated member posts."""
        fake = self.fake
        body = copy.deepcopy(body)  # never touch the recorded request
        message_id = fake.snowflakes.next()
        uploads = self._new_attachments(channel.id, body, files)
        ordered = list(attachments or []) + [uploads[i] for i in sorted(uploads)]
        reference = self._reference(channel, body.get("message_reference"))
        if reference is not None and message_type == 0:
            message_type = 19  # REPLY
        flags = int(body.get("flags") or 0) & _CLIENT_FLAGS
        if ephemeral:
            flags |= MessageFlag.EPHEMERAL
        if loading:
            flags |= MessageFlag.LOADING
        data: JSON = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "author": author.to_dict(),
            "content": body.get("content") or "",
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": ordered,
            "embeds": [dict(e, type=e.get("type") or "rich") for e in body.get("embeds") or []],
            "pinned": False,
            "type": message_type,
            "flags": int(flags),
            "components": number_components(list(body.get("components") or [])),
        }
        if reference is not None:
            data["message_reference"] = reference
        if interaction is not None:
            data["webhook_id"] = str(interaction.application_id)
            data["application_id"] = str(interaction.application_id)
            data["interaction_metadata"] = fake.interaction_metadata(interaction)
        message = StoredMessage(
            id=message_id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            data=data,
            created_at=fake.clock(),
            via=via,
            interaction_id=interaction.id if interaction else None,
            ephemeral=ephemeral,
            files={int(a["id"]): self.blobs[int(a["id"])][0] for a in ordered if int(a["id"]) in self.blobs},
        )
        if not loading:
            self._require_not_empty(message)
        self._apply_mentions(message, body.get("allowed_mentions"))
        self.by_id[message_id] = message
        channel.last_message_id = message_id
        return message

    def _reference(self, channel: Channel, reference: JSON | None) -> JSON | None:
        """A reply's reference as Discord stores it; a gone message fails the send unless
        ``fail_if_not_exists`` is false, when the message goes out as no reply at all."""
        if not reference or reference.get("type", 0) != 0:  # 1 (forward) is not used by the bot
            return None
        target = self.by_id.get(int(reference.get("message_id") or 0))
        if target is None or target.deleted or target.ephemeral or target.channel_id != channel.id:
            if reference.get("fail_if_not_exists", True):
                errors = {"message_reference": {"_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE"}]}}
                raise fail(INVALID_FORM_BODY, errors)
            return None
        return {
            "type": 0,
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
            "guild_id": str(target.guild_id),
        }

    def edit(
        self, message: StoredMessage, body: JSON, files: list[UploadedFile], *, via: str
    ) -> StoredMessage:
        body = copy.deepcopy(body)
        data = message.data
        old = {key: data.get(key) for key in ("content", "embeds", "components", "attachments", "flags")}
        if "content" in body:
            data["content"] = body["content"] or ""
        if "embeds" in body:
            data["embeds"] = [dict(e, type=e.get("type") or "rich") for e in body["embeds"] or []]
        if "components" in body:
            data["components"] = number_components(list(body["components"] or []))
        uploads = self._new_attachments(message.channel_id, body, files)
        if "attachments" in body:
            keep_ids = {str(a.get("id")) for a in body["attachments"] or []}
            kept = [a for a in data["attachments"] if a["id"] in keep_ids]
            data["attachments"] = kept + [uploads[i] for i in sorted(uploads)]
        elif uploads:
            data["attachments"] = list(data["attachments"]) + [uploads[i] for i in sorted(uploads)]
        server_flags = int(data.get("flags") or 0) & ~_CLIENT_FLAGS & ~MessageFlag.LOADING
        client_flags = int(body["flags"] or 0) if "flags" in body else int(data.get("flags") or 0)
        data["flags"] = int(server_flags | (client_flags & _CLIENT_FLAGS))
        try:
            self._require_not_empty(message)
        except Exception:
            data.update(old)
            raise
        for attachment in data["attachments"]:
            blob = self.blobs.get(int(attachment["id"]))
            if blob is not None:
                message.files[int(attachment["id"])] = blob[0]
        data["edited_timestamp"] = iso()
        if "content" in body or "allowed_mentions" in body:
            self._apply_mentions(message, body.get("allowed_mentions"))
        message.edits.append(MessageEdit(self.fake.clock(), body, via))
        return message

    def _require_not_empty(self, message: StoredMessage) -> None:
        data = message.data
        if not (
            data.get("content") or data.get("embeds") or data.get("attachments") or data.get("components")
        ):
            raise fail(EMPTY_MESSAGE)

    # ---------------------------------------------------------------------------------- reads

    def get(self, message_id: int) -> StoredMessage | None:
        return self.by_id.get(message_id)

    def in_channel(self, channel_id: int) -> list[StoredMessage]:
        return sorted((m for m in self.by_id.values() if m.channel_id == channel_id), key=lambda m: m.id)

    def gateway_view(self, message: StoredMessage, *, content: bool) -> JSON:
        """MESSAGE_CREATE/UPDATE data; without the MESSAGE_CONTENT intent the content fields are blank."""
        data: dict[str, Any] = dict(message.data)
        guild = self.fake.guilds.get(message.guild_id or 0)
        member = guild.members.get(message.author_id) if guild else None
        if member is not None:
            member_data = member.to_dict()
            member_data.pop("user", None)
            data["member"] = member_data
        if not content:
            data.update(content="", embeds=[], attachments=[], components=[])
        if message.nonce is not None:
            data["nonce"] = message.nonce
        return data

    def created_view(self, message: StoredMessage) -> JSON:
        """What Create Message answers: the message, with the nonce it was sent with."""
        data = copy.deepcopy(message.data)
        if message.nonce is not None:
            data["nonce"] = message.nonce
        return data
