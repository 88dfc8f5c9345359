"""Where the pictures live and how a picture proves what it was made from.

Why a hash in the PNG: the suite cannot run Chromium, but it can read a PNG's text chunk. Each PNG
carries the SHA-256 of the JSON it was drawn from and of the renderer that drew it, so a test can
say "this picture is not the current recording" without drawing anything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "docs" / "screenshots"
HERE = Path(__file__).resolve().parent
RENDERER = ("page.py", "widgets.py", "markdown.py", "discord.css", "chromium.py")
TAG = "soracord-source"  # the PNG text chunk holding ``source_hash``


def json_path(name: str, folder: Path = FOLDER) -> Path:
    return folder / f"{name}.json"


def png_path(name: str, folder: Path = FOLDER) -> Path:
    return folder / f"{name}.png"


def dump(scene: dict[str, Any]) -> str:
    """The committed form: stable key order as recorded, two-space indent, UTF-8, final newline."""
    return json.dumps(scene, indent=2, ensure_ascii=False) + "\n"


def source_hash(scene_text: str) -> str:
    """SHA-256 of a scene's JSON text and of every renderer file, in a fixed order."""
    digest = hashlib.sha256(scene_text.encode("utf-8"))
    for name in RENDERER:
        digest.update(b"\0" + name.encode() + b"\0" + (HERE / name).read_bytes())
    return digest.hexdigest()


def made_from(png: Path) -> str | None:
    """The ``source_hash`` a PNG says it was made from (None: not one of ours)."""
    with Image.open(png) as picture:
        text = getattr(picture, "text", {})
        value = text.get(TAG)
    return value if isinstance(value, str) else None
