"""A recorded message as members see it, made stable enough to commit.

Why a subset: the page needs what Discord draws (author, the command it answers, content, embeds,
buttons, attachments, "edited", "only you can see this") and nothing of the routing. Why stable:
the committed JSON is compared with a fresh recording, so what changes from run to run without
meaning anything is rewritten — snowflake ids become small numbers in order of appearance, the fakes'
loopback ports become made-up hosts, vendor ids (UUIDs) are numbered, and every time is moved so
that the moment the message was looked at is ``SEEN_AT``, a fixed instant: a ``<t:…:R>`` timestamp
then reads the same ("in 3 minutes") however fast the machine ran the scene.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tests.fakes.discord import FakeDiscord, StoredMessage

SEEN_AT = 1_793_543_520  # 2026-11-01 14:32 UTC: the instant every picture is looked at
SNOWFLAKE = re.compile(r"(?<!\d)\d{17,20}(?!\d)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HEX_ID = re.compile(r"(?<=_)[0-9a-f]{12,32}\b")  # vendors' ``task_<hex>``, ``video_<hex>`` ids
TIMESTAMP = re.compile(r"<t:(-?\d+)((?::[tTdDfFR])?)>")
ATTACHMENT_KEYS = ("filename", "size", "content_type", "width", "height", "url")


def _name(user: Mapping[str, Any] | None) -> str | None:
    if not user:
        return None
    return str(user.get("global_name") or user.get("username") or "")


def view(fake: FakeDiscord, message: StoredMessage) -> dict[str, Any]:
    """What Discord draws for ``message`` now (a deep copy: later edits do not reach it)."""
    data = copy.deepcopy(message.data)
    meta = data.get("interaction_metadata") or {}
    out: dict[str, Any] = {
        "author": {"name": _name(data.get("author")), "bot": bool(data["author"].get("bot"))},
        "command": meta.get("name") if meta.get("type") == 2 else None,
        "user": _name(meta.get("user")),
        "ephemeral": message.ephemeral,
        "edited": data.get("edited_timestamp") is not None,
        "content": data.get("content") or "",
        "mentions": [{"id": str(u["id"]), "name": _name(u)} for u in data.get("mentions") or []],
        "embeds": data.get("embeds") or [],
        "components": data.get("components") or [],
        "attachments": [{k: a.get(k) for k in ATTACHMENT_KEYS} for a in data.get("attachments") or []],
    }
    reference = data.get("message_reference")
    if reference:
        target = fake.messages.get(int(reference["message_id"]))
        if target is not None:
            title = next((e.get("title") for e in target.embeds if e.get("title")), None)
            out["reply_to"] = {"author": _name(target.data.get("author")), "text": target.content or title}
    return out


class Stable:
    """Rewrites one scene's values the same way everywhere, in order of first appearance."""

    def __init__(self, origins: Mapping[str, str], seen_wall: float) -> None:
        self._origins = sorted(origins.items(), key=lambda kv: -len(kv[0]))
        self._shift = SEEN_AT - seen_wall
        self._ids: dict[str, str] = {}
        self._uuids: dict[str, str] = {}
        self._hex: dict[str, str] = {}

    def apply(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self.apply(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.apply(v) for v in value]
        if isinstance(value, str):
            return self._iso(value) if key == "timestamp" else self._text(value)
        return value

    def _text(self, text: str) -> str:
        for origin, host in self._origins:
            text = text.replace(origin, host)
        text = TIMESTAMP.sub(lambda m: f"<t:{round(int(m.group(1)) + self._shift)}{m.group(2)}>", text)
        text = SNOWFLAKE.sub(lambda m: self._number(self._ids, m.group(), 1_000_000_000_000_000_000), text)
        text = UUID.sub(
            lambda m: f"00000000-0000-4000-8000-{self._number(self._uuids, m.group(), 0):0>12}", text
        )
        return HEX_ID.sub(lambda m: f"{self._number(self._hex, m.group(), 0):0>{len(m.group())}}", text)

    @staticmethod
    def _number(seen: dict[str, str], raw: str, base: int) -> str:
        if raw not in seen:
            seen[raw] = str(base + len(seen) + 1)
        return seen[raw]

    def _iso(self, text: str) -> str:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return self._text(text)
        return datetime.fromtimestamp(round(moment.timestamp() + self._shift), UTC).isoformat()
