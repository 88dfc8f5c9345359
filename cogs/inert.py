"""Member and vendor text made inert before the bot shows it, and Discord's length limits.

Discord renders markdown in message content, embed descriptions and field values. Echoed as it is,
a prompt ``[click](https://evil)`` would show under the bot's name as a masked link, ``# big`` as a
heading, ``||x||`` as a spoiler, ``<@&id>`` as a role chip. ``inert`` backslash-escapes every
character that can start markdown, so the text reads exactly as it was typed.

``discord.utils.escape_markdown`` is not enough on its own: it escapes only the first ``[`` of
``[a](x) [b](y)`` (so the second is still a masked link), leaves ``<@id>``, ``<#id>``, ``<t:…>`` and
ordered lists alone, and needs ``escape_mentions`` for ``@everyone``. What is kept as it is:

* web addresses (``https://…``), whole: escaping inside one would break it, and a bare address shows
  where it goes — only a *masked* link hides that;
* a single ``_`` between two letters or digits (``snake_case``), which Discord never reads as
  emphasis, so names stay readable even inside a code span, where a backslash would show.

Each escape stays with its character, so ``inert(text, limit)`` never cuts one in half.
Mentions never ping from the bot's messages anyway (the client allows none by default, a result
allows only its requester); the escapes make them read as text, not as a highlighted name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from bot.i18n import Msg

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
EMBED_TOTAL = 6000
MODAL_TITLE = 45
INPUT_LABEL = 45
INPUT_PLACEHOLDER = 100

ELLIPSIS = "…"
ZWSP = "\u200b"
_URL = re.compile(r"(?:https?|steam)://[^\s<>]+")
_ORDERED = re.compile(r"\d+\.")
_ALWAYS = frozenset("\\*~|`[]<")
_LINE_START = frozenset("#->+")
_MENTION_WORDS = ("everyone", "here")
# What a masked link's target may keep as it is; everything else (``()[]<>``, spaces) is %-encoded.
_LINK_SAFE = ":/?#@!$&'*+,;=%-._~"


def inert(text: str, limit: int | None = None) -> str:
    """``text`` with every markdown and mention escaped; at most ``limit`` characters (``…`` marks a cut)."""
    pieces = list(_pieces(text))
    if limit is None or sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept).rstrip() + ELLIPSIS


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with ``…`` — the last guard before a Discord limit.

    For text that is already safe to show; a backslash left alone at the cut is dropped, so it
    cannot escape the ellipsis or anything after it.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    trailing = len(cut) - len(cut.rstrip("\\"))
    if trailing % 2:
        cut = cut[:-1]
    return cut + ELLIPSIS


def inert_msg(message: Msg) -> Msg:
    """``message`` with every text parameter (nested ones too) made inert; the template's own
    markdown stays. For messages that carry a vendor's or a member's words."""
    return Msg(message.key, {name: _inert_value(v) for name, v in message.params.items()})


def _inert_value(value: Any) -> Any:
    if isinstance(value, Msg):
        return inert_msg(value)
    if isinstance(value, str):
        return inert(value)
    return value


def link_target(url: str | None) -> str | None:
    """``url`` as the target of a masked link we write ourselves (``[Open the video](…)``): web
    addresses only, with anything that could close the link or start another %-encoded."""
    if not url or not url.startswith(("https://", "http://")):
        return None
    return quote(url, safe=_LINK_SAFE)


def _pieces(text: str) -> Iterator[str]:
    """``text`` as the pieces it is shown as: characters, escaped characters and whole addresses."""
    i, n = 0, len(text)
    line_start = True
    while i < n:
        ch = text[i]
        url = _URL.match(text, i) if ch in "hs" else None
        if url is not None:
            yield url.group()
            i, line_start = url.end(), False
            continue
        if ch in "\r\n":
            yield ch
            i, line_start = i + 1, True
            continue
        if line_start and ch in " \t":
            yield ch
            i += 1
            continue
        if line_start and (ordered := _ORDERED.match(text, i)) is not None:
            yield ordered.group()[:-1] + "\\."  # `1. item` would be a list
            i, line_start = ordered.end(), False
            continue
        if (line_start and ch in _LINE_START) or ch in _ALWAYS:
            yield "\\" + ch
        elif ch == "_":
            yield "_" if _intraword(text, i) else "\\_"
        elif ch == "@" and text.startswith(_MENTION_WORDS, i + 1):
            yield "@" + ZWSP
        else:
            yield ch
        i, line_start = i + 1, False


def _intraword(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()
