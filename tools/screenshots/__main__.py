"""``python -m tools.screenshots [record|render|html DIR] [scene ...]`` — ``make screenshots``.

With no verb: check for Chromium (before anything runs, so a missing browser costs nothing), record
the scenes into ``docs/screenshots/<scene>.json``, then draw each into ``<scene>.png``. ``record``
only records (no Chromium needed); ``render`` redraws the committed JSON; ``html DIR`` writes the
pages for a look in a browser. A missing requirement is one line on stderr and exit status 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from tools.screenshots import chromium, store
from tools.screenshots.page import page
from tools.screenshots.scenes import SCENES, record

USAGE = "usage: python -m tools.screenshots [record|render|html DIR] [scene ...]"


def _record(names: list[str]) -> None:
    for scene in asyncio.run(record(names)):
        path = store.json_path(scene["scene"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(store.dump(scene), encoding="utf-8")
        print(f"recorded {path.relative_to(store.ROOT)}")


def _render(names: list[str], browser: str) -> None:
    for name in names:
        text = store.json_path(name).read_text(encoding="utf-8")
        out = store.png_path(name)
        chromium.shoot(browser, page(json.loads(text)), out, store.source_hash(text))
        print(f"drew {out.relative_to(store.ROOT)} ({out.stat().st_size // 1024} KB)")


def _html(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        scene = json.loads(store.json_path(name).read_text(encoding="utf-8"))
        (folder / f"{name}.html").write_text(page(scene), encoding="utf-8")
        print(f"wrote {folder / name}.html")


def main(argv: list[str]) -> int:
    verb = argv[0] if argv and argv[0] in {"record", "render", "html"} else "all"
    rest = argv[1:] if verb != "all" else argv
    if verb == "html":
        if not rest:
            print(USAGE, file=sys.stderr)
            return 2
        folder, rest = Path(rest[0]), rest[1:]
    unknown = [n for n in rest if n not in SCENES]
    if unknown:
        print(f"screenshots: no scene {', '.join(unknown)} (scenes: {', '.join(SCENES)})", file=sys.stderr)
        return 2
    names = rest or list(SCENES)
    if verb == "html":
        _html(folder, names)
        return 0
    browser = None
    if verb in {"all", "render"}:
        try:
            browser = chromium.find()
        except chromium.Missing as missing:
            print(f"screenshots: {missing}", file=sys.stderr)
            return 2
        if chromium.emoji_font_missing():
            print(
                "screenshots: no emoji font, emoji will show as boxes (apt-get install -y fonts-noto-color-emoji)"
            )
    logging.basicConfig(level=logging.WARNING)
    if verb in {"all", "record"}:
        _record(names)
    if browser is not None:
        _render(names, browser)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
