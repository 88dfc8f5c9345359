"""HTML page → PNG with the machine's headless Chromium, then cut to the message and made small.

Why the machine's: a test tool's own browser download fails on a closed network, and Debian's
``chromium`` is one ``apt-get install`` away. Nothing is installed from here: ``find`` says what is
missing and the caller stops. The flags are the ones that work headless here (as root, with no
network): no sandbox, no GPU, no background connections, a fresh profile every time.
Why cut and quantize: Chromium shoots the whole window; the page's height is only known once laid
out, so the picture is shot tall and cropped to the last row that is not background, then reduced
to 128 colours (flat UI colours survive it), which keeps each picture to tens of kilobytes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, PngImagePlugin

from tools.screenshots.store import TAG

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--run-all-compositor-stages-before-draw",
    "--virtual-time-budget=2000",
)
WIDTH = 660  # the page's width (discord.css ``body``)
TALL = 2400  # shot height before the crop; a scene taller than this is cut
WAIT = 30  # seconds one run may take (it takes one or two)
ATTEMPTS = 3
SCALE = 2  # device pixels per CSS pixel: sharp on high-density screens
MARGIN = 16  # CSS pixels kept below the last message
COLOURS = 128  # enough for anti-aliased text on flat colours
BACKGROUND = (0x31, 0x33, 0x38)
NEEDS = "needs Chromium: apt-get install -y chromium (Debian), or set CHROMIUM=/path/to/chrome"


class Missing(RuntimeError):
    """What the machine lacks, in one line."""


def find() -> str:
    """The Chromium to run: ``$CHROMIUM``, else the first of ``NAMES`` on ``PATH``."""
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        if shutil.which(chosen) is None:
            raise Missing(f"CHROMIUM={chosen} is not an executable; {NEEDS}")
        return chosen
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise Missing(f"no chromium on PATH; {NEEDS}")


def emoji_font_missing() -> bool:
    """True when fontconfig knows no colour emoji font (the cards' ✅ ⏳ would show as boxes)."""
    if shutil.which("fc-list") is None:
        return False
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False)
    return "emoji" not in listed.stdout.lower()


def shoot(browser: str, html: str, out: Path, source: str) -> None:
    """Render ``html`` to ``out``, cropped, quantized and tagged with ``source``."""
    with tempfile.TemporaryDirectory(prefix="soracord-shot-") as tmp:
        page, raw = Path(tmp) / "page.html", Path(tmp) / "shot.png"
        page.write_text(html, encoding="utf-8")
        command = [
            browser,
            *FLAGS,
            f"--user-data-dir={Path(tmp) / 'profile'}",
            f"--window-size={WIDTH},{TALL}",
            f"--force-device-scale-factor={SCALE}",
            f"--screenshot={raw}",
            page.as_uri(),
        ]
        for _ in range(ATTEMPTS):
            if _run(command, raw):
                finish(raw, out, source)
                return
        raise RuntimeError(f"chromium made no picture of {out.name} in {ATTEMPTS} tries: {' '.join(command)}")


def _run(command: list[str], raw: Path) -> bool:
    """One Chromium run; True when it wrote the picture. Headless Chromium now and then hangs on its
    way out after writing the file, so a run that outlives ``WAIT`` is ended and its file kept."""
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    ) as process:
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return raw.exists() and raw.stat().st_size > 0


def finish(raw: Path, out: Path, source: str) -> None:
    with Image.open(raw) as shot:
        picture = shot.convert("RGB")
    picture = picture.crop((0, 0, picture.width, content_bottom(picture)))
    small = picture.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    info = PngImagePlugin.PngInfo()
    info.add_text(TAG, source)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, format="PNG", optimize=True, pnginfo=info)


def content_bottom(picture: Image.Image) -> int:
    """The height to keep: the last row holding anything but background, plus ``MARGIN``."""
    background = Image.new("RGB", picture.size, BACKGROUND)
    ink = ImageChops.difference(picture, background).convert("L").point(lambda v: 255 if v > 8 else 0)
    box = ink.getbbox()
    bottom = box[3] if box else picture.height
    return min(picture.height, bottom + MARGIN * SCALE)
