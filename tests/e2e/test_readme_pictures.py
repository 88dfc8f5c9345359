"""The README's pictures show what the bot shows today (issue 14, "Pictures in the README").

No Chromium here: the scenes are recorded again, in process, against the fakes and compared with the
committed JSON (``tools/screenshots``: every run of a scene gives the same JSON, its clock standing
still), and each PNG the README shows must carry the hash of that JSON and of the renderer that drew
it. A change to what members see therefore fails here until ``make screenshots`` is run.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tools.screenshots import store
from tools.screenshots.scenes import SCENES, record

README = store.ROOT / "README.md"
PICTURE = re.compile(r"docs/screenshots/([a-z0-9_-]+)\.png")
FIX = "run `make screenshots` (needs Debian's chromium) and commit docs/screenshots/"


def first_difference(old: Any, new: Any, where: str = "") -> str:
    """Where two JSON values first differ, and how (a readable failure instead of two whole scenes)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return first_difference(old.get(key), new.get(key), f"{where}.{key}")
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for n, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                return first_difference(a, b, f"{where}[{n}]")
    return f"{where or 'the top'}: committed {old!r}, now {new!r}"


def test_the_readme_shows_each_scene_and_each_picture_was_drawn_from_its_recording() -> None:
    shown = PICTURE.findall(README.read_text(encoding="utf-8"))
    assert sorted(set(shown)) == sorted(SCENES), f"the README should show each of {sorted(SCENES)}"
    for name in shown:
        png, recorded = store.png_path(name), store.json_path(name)
        assert png.is_file() and recorded.is_file(), f"{png.name} or {recorded.name} is missing: {FIX}"
        made_from = store.made_from(png)
        assert made_from == store.source_hash(recorded.read_text(encoding="utf-8")), (
            f"{png.name} was not drawn from the committed {recorded.name} by the current renderer: {FIX}"
        )


async def test_the_committed_recordings_are_what_the_bot_shows_now() -> None:
    for scene in await record():
        path = store.json_path(scene["scene"])
        committed = json.loads(path.read_text(encoding="utf-8"))
        assert scene == committed, f"{path.name} differs at {first_difference(committed, scene)}: {FIX}"
        assert store.dump(scene) == path.read_text(encoding="utf-8")  # and written as ``record`` writes it
