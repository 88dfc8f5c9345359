"""A recorded scene (``docs/screenshots/<name>.json``) as one HTML page in Discord's dark theme.

Why HTML: Chromium lays text out the way the Discord client (itself Chromium) does — wrapping,
emoji, widths — so the picture is close to the real thing without drawing any of it by hand. The
page needs nothing from the network: the style is inlined and media are placeholders (``widgets``).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools.screenshots import widgets
from tools.screenshots.markdown import Markdown, timestamp

JSON = dict[str, Any]
CSS = Path(__file__).with_name("discord.css")
AVATAR_COLOURS = ("#5865f2", "#3ba55c", "#faa61a", "#ed4245", "#eb459f", "#757e8a")
BOT_COLOUR = "#5865f2"
EYE = (
    '<svg width="16" height="16" viewBox="0 0 24 24" fill="currentColor"><path d="M12 5C5.6 5 2 12 2 12s3.6 7 '
    '10 7 10-7 10-7-3.6-7-10-7Zm0 11a4 4 0 1 1 0-8 4 4 0 0 1 0 8Zm0-2a2 2 0 1 0 0-4 2 2 0 0 0 0 4Z"/></svg>'
)


def avatar(name: str, bot: bool = False, mini: bool = False) -> str:
    colour = BOT_COLOUR if bot else AVATAR_COLOURS[sum(map(ord, name)) % len(AVATAR_COLOURS)]
    letter = html.escape(name[:1].upper() or "?")
    return f'<span class="avatar{" mini" if mini else ""}" style="background:{colour}">{letter}</span>'


def clock(epoch: int) -> str:
    """``Today at 14:32``: how Discord dates a message of today."""
    return f"Today at {datetime.fromtimestamp(epoch, UTC):%H:%M}"


def _fields(fields: list[JSON], text: Markdown, narrow: bool) -> str:
    """Discord's grid: inline fields share a row (3 a row, 2 beside a thumbnail), others take one."""
    per_row = 2 if narrow else 3
    rows: list[list[JSON]] = []
    for field in fields:
        if field.get("inline") and rows and rows[-1][-1].get("inline") and len(rows[-1]) < per_row:
            rows[-1].append(field)
        else:
            rows.append([field])
    cells = []
    for row in rows:
        span = 12 // len(row) if row[0].get("inline") else 12
        for field in row:
            cells.append(
                f'<div class="field" style="grid-column: span {span}">'
                f'<div class="fname">{text(str(field.get("name") or ""))}</div>'
                f'<div class="fvalue">{text(str(field.get("value") or ""))}</div></div>'
            )
    return f'<div class="fields">{"".join(cells)}</div>' if cells else ""


def embed(item: JSON, text: Markdown) -> str:
    colour = item.get("color")
    border = f"#{int(colour):06x}" if colour is not None else "#1e1f22"
    thumb = (item.get("thumbnail") or {}).get("url")
    parts = []
    author = (item.get("author") or {}).get("name")
    if author:
        parts.append(f'<div class="author">{html.escape(str(author))}</div>')
    if item.get("title"):
        title = text(str(item["title"]))
        if item.get("url"):
            title = f'<a href="{html.escape(str(item["url"]))}">{title}</a>'
        parts.append(f'<div class="title">{title}</div>')
    if item.get("description"):
        parts.append(f'<div class="description">{text(str(item["description"]))}</div>')
    parts.append(_fields(item.get("fields") or [], text, narrow=bool(thumb)))
    image = item.get("image") or {}
    if image.get("url"):
        ratio = widgets.ratio_of(image.get("width"), image.get("height"))
        parts.append(widgets.picture(widgets.file_name(image["url"]), "image", ratio))
    footer = item.get("footer") or {}
    when = item.get("timestamp")
    if footer.get("text") or when:
        words = html.escape(str(footer.get("text") or ""))
        if when:
            moment = int(datetime.fromisoformat(str(when)).timestamp())
            words += (" • " if words else "") + timestamp(moment, "f", text.now)
        parts.append(f'<div class="footer">{words}</div>')
    side = widgets.picture(widgets.file_name(thumb), "thumb", "1 / 1") if thumb else ""
    return f'<div class="embed" style="border-left-color:{border}"><div class="main">{"".join(parts)}</div>{side}</div>'


def _context(message: JSON) -> str:
    """The line above a message: who used which command, or what it replies to."""
    reply = message.get("reply_to")
    if reply:
        author = str(reply.get("author") or "")
        return (
            f'<div class="context"><span class="spine"></span>{avatar(author, bot=True, mini=True)}'
            f'<span class="who">@{html.escape(author)}</span>'
            f'<span class="excerpt">{html.escape(str(reply.get("text") or ""))}</span></div>'
        )
    if message.get("command") and message.get("user"):
        user = str(message["user"])
        return (
            f'<div class="context"><span class="spine"></span>{avatar(user, mini=True)}'
            f'<span class="who">{html.escape(user)}</span> used '
            f'<span class="cmd">/{html.escape(str(message["command"]))}</span></div>'
        )
    return ""


def message_html(message: JSON, *, now: int, viewer: str) -> str:
    names = {str(m["id"]): str(m["name"]) for m in message.get("mentions") or []}
    text = Markdown(now=now, names=names)
    author = message.get("author") or {}
    name = str(author.get("name") or "")
    mentioned = viewer in names.values()
    body = [
        _context(message),
        avatar(name, bot=bool(author.get("bot"))),
        f'<div class="head"><span class="name">{html.escape(name)}</span>'
        + ('<span class="tag">APP</span>' if author.get("bot") else "")
        + f'<span class="when">{clock(now)}</span></div>',
    ]
    if message.get("content"):
        edited = '<span class="edited">(edited)</span>' if message.get("edited") else ""
        body.append(f'<div class="content">{text(str(message["content"]))}{edited}</div>')
    body += [widgets.attachment(a) for a in message.get("attachments") or []]
    body += [embed(e, text) for e in message.get("embeds") or []]
    rows = "".join(widgets.component(c, text) for c in message.get("components") or [])
    if rows:
        body.append(f'<div class="rows">{rows}</div>')
    if message.get("ephemeral"):
        body.append(f'<div class="only-you">{EYE} Only you can see this • <a>Dismiss message</a></div>')
    return f'<div class="msg{" mentioned" if mentioned else ""}">{"".join(body)}</div>'


def page(scene: JSON) -> str:
    """The whole page for ``scene``, self-contained."""
    now, viewer = int(scene["seen_at"]), str(scene["viewer"])
    messages = "".join(message_html(m, now=now, viewer=viewer) for m in scene["messages"])
    title = html.escape(str(scene.get("caption") or scene["scene"]))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS.read_text(encoding='utf-8')}</style></head><body>{messages}</body></html>"
    )
