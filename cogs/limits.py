"""Every embed the bot sends, cut to Discord's limits as the last step before it goes out.

The renderers keep each part short on purpose (excerpts, one field a step); this is the guard for
what they cannot foresee — a vendor's 2,100-character storyboard link, a page of ledger lines
whose reasons double in length once made inert. Discord refuses the whole message for one part
over its limit (400, Invalid Form Body), and a refused card edit or reply is a member left without
an answer. So: text is cut with ``…`` (``cogs.inert.clip``), a link longer than Discord takes is
dropped (a cut link would lead somewhere else), fields past the 25th are dropped, and while the
total is over 6,000 characters the description, then the last fields, give way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import discord

from cogs.inert import (
    EMBED_DESCRIPTION,
    EMBED_TITLE,
    EMBED_TOTAL,
    FIELD_NAME,
    FIELD_VALUE,
    FOOTER,
    ZWSP,
    clip,
)

URL = 2048  # every embed URL: the embed's, an image's, a thumbnail's, an icon's
FIELDS = 25
AUTHOR_NAME = 256
ELLIPSIS_LINE = "…"
MIN_DESCRIPTION = 200  # what the description keeps before fields are dropped to fit the total


def lines_within(lines: Iterable[str], limit: int = EMBED_DESCRIPTION) -> str:
    """Whole lines, as many as fit ``limit`` joined by newlines; ``…`` on a line of its own when some
    were left out (a first line longer than the limit on its own is cut)."""
    items = list(lines)
    joined = "\n".join(items)
    if len(joined) <= limit:
        return joined
    kept: list[str] = []
    used = 0
    for line in items:
        extra = len(line) + (1 if kept else 0)
        if used + extra + 1 + len(ELLIPSIS_LINE) > limit:
            break
        kept.append(line)
        used += extra
    if not kept:
        return clip(items[0], limit)
    return "\n".join([*kept, ELLIPSIS_LINE])


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """``embed`` within every limit Discord sets (a new embed when anything had to change)."""
    data: dict[str, Any] = dict(embed.to_dict())
    if not _fit(data):
        return embed
    return discord.Embed.from_dict(data)


def _fit(data: dict[str, Any]) -> bool:
    before = repr(data)
    _text(data, "title", EMBED_TITLE)
    _text(data, "description", EMBED_DESCRIPTION)
    if len(str(data.get("url") or "")) > URL:
        data.pop("url")
    for part in ("image", "thumbnail"):
        if len(str((data.get(part) or {}).get("url") or "")) > URL:
            data.pop(part)
    footer = data.get("footer")
    if isinstance(footer, dict):
        _text(footer, "text", FOOTER)
        _link(footer, "icon_url")
    author = data.get("author")
    if isinstance(author, dict):
        _text(author, "name", AUTHOR_NAME)
        _link(author, "url")
        _link(author, "icon_url")
    fields = list(data.get("fields") or [])[:FIELDS]
    for field in fields:
        field["name"] = clip(str(field.get("name") or ZWSP), FIELD_NAME)
        field["value"] = clip(str(field.get("value") or ZWSP), FIELD_VALUE)
    if "fields" in data:
        data["fields"] = fields
    _fit_total(data)
    return repr(data) != before


def _fit_total(data: dict[str, Any]) -> None:
    over = _total(data) - EMBED_TOTAL
    description = str(data.get("description") or "")
    if over > 0 and len(description) > MIN_DESCRIPTION:
        data["description"] = clip(description, max(MIN_DESCRIPTION, len(description) - over))
    fields = data.get("fields") or []
    while _total(data) > EMBED_TOTAL and fields:
        fields.pop()


def _total(data: dict[str, Any]) -> int:
    parts = [data.get("title"), data.get("description")]
    parts += [(data.get("footer") or {}).get("text"), (data.get("author") or {}).get("name")]
    for field in data.get("fields") or []:
        parts += [field.get("name"), field.get("value")]
    return sum(len(str(p)) for p in parts if p)


def _text(data: dict[str, Any], key: str, limit: int) -> None:
    if isinstance(data.get(key), str):
        data[key] = clip(data[key], limit)


def _link(data: dict[str, Any], key: str) -> None:
    if len(str(data.get(key) or "")) > URL:
        data.pop(key)
