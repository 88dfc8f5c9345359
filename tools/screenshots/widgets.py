"""Buttons, menus and media as Discord draws them, for ``page``.

Why placeholders for media: the fakes' pictures and videos are a few coloured pixels, which would
only look broken; a labelled box the size Discord gives the real thing shows where it goes and what
it is (its file name, its size) without pretending to be the video.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

JSON = dict[str, Any]
Text = Callable[[str], str]  # markdown → HTML
SELECTS = {3, 5, 6, 7, 8}
LINK_ICON = (
    '<svg width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">'
    '<path d="M14 3h7v7M21 3l-9 9M19 14v5a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2h5"/></svg>'
)


def size_words(size: int | None) -> str:
    """Bytes as Discord writes them beside a file: ``2.00 KB``, ``9.54 MB``."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KB", "MB", "GB"):
        size_f = size / 1024
        if size_f < 1024 or unit == "GB":
            return f"{size_f:.2f} {unit}"
        size = int(size_f)
    raise AssertionError("unreachable")


def file_name(url: str | None) -> str:
    """The last part of a link's path (``attachment://poster.jpg`` → ``poster.jpg``)."""
    if not url:
        return ""
    return urlsplit(url).path.rsplit("/", 1)[-1] or url


def picture(label: str, css: str, ratio: str = "16 / 9") -> str:
    """Where a picture goes: a box of the picture's shape, named."""
    return (
        f'<div class="{css} media" style="aspect-ratio: {ratio}">'
        f'<span class="glyph">🖼️</span><span class="label">{html.escape(label)}</span></div>'
    )


def ratio_of(width: object, height: object) -> str:
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return f"{width} / {height}"
    return "16 / 9"


def attachment(item: JSON) -> str:
    name = str(item.get("filename") or "file")
    kind = str(item.get("content_type") or "")
    size = size_words(item.get("size"))
    if kind.startswith("video/") or name.endswith((".mp4", ".webm", ".mov")):
        return (
            '<div class="video media"><span class="play"></span>'
            f'<div class="bar"><span>{html.escape(name)}</span><span>{size}</span></div></div>'
        )
    if kind.startswith("image/"):
        label = f"{name} · {size}" if size else name
        return picture(label, "image", ratio_of(item.get("width"), item.get("height")))
    return (
        f'<div class="file"><span class="glyph">📄</span><div><a>{html.escape(name)}</a>'
        f'<div class="size">{size}</div></div></div>'
    )


def emoji(value: JSON | None) -> str:
    if not value:
        return ""
    if value.get("id"):
        return f'<span class="glyph">:{html.escape(str(value.get("name") or ""))}:</span>'
    return html.escape(str(value.get("name") or ""))


def button(item: JSON) -> str:
    style = int(item.get("style") or 2)
    classes = f"button s{style}" + (" disabled" if item.get("disabled") else "")
    inner = emoji(item.get("emoji"))
    if item.get("label"):
        inner += f"<span>{html.escape(str(item['label']))}</span>"
    if style == 5:
        inner += LINK_ICON
    return f'<span class="{classes}">{inner}</span>'


def select(item: JSON) -> str:
    words = item.get("placeholder") or "Make a selection"
    return f'<div class="select"><span>{html.escape(str(words))}</span><span>▾</span></div>'


def component(item: JSON, text: Text) -> str:
    """One component, action rows and Components V2 layouts included; unknown ones are named."""
    kind = int(item.get("type") or 0)
    children = item.get("components") or []
    if kind == 1:
        return f'<div class="row">{"".join(component(c, text) for c in children)}</div>'
    if kind == 2:
        return button(item)
    if kind in SELECTS:
        return select(item)
    if kind == 10:  # text display
        return f'<div class="content">{text(str(item.get("content") or ""))}</div>'
    if kind == 9:  # section: text with a button or thumbnail beside it
        accessory = item.get("accessory")
        side = component(accessory, text) if isinstance(accessory, dict) else ""
        body = "".join(component(c, text) for c in children)
        return f'<div style="display:flex;gap:12px"><div style="flex:1">{body}</div>{side}</div>'
    if kind == 11:  # thumbnail
        return picture(file_name((item.get("media") or {}).get("url")), "thumb")
    if kind == 12:  # media gallery
        return "".join(
            picture(file_name((i.get("media") or {}).get("url")), "image") for i in item.get("items") or []
        )
    if kind == 14:
        return '<div class="separator"></div>'
    if kind == 17:  # container
        colour = item.get("accent_color")
        accent = f' style="border-left-color:#{int(colour):06x}"' if colour is not None else ""
        return f'<div class="container"{accent}>{"".join(component(c, text) for c in children)}</div>'
    return f'<div class="file">component type {kind}</div>'
