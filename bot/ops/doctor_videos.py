"""``doctor`` checks of the videos kept beside the database, and of the ffmpeg that fits them.

``videos/`` grows with every delivered video (the vendor's copy, a fitted copy, a poster) and shrinks
by the retention sweep (``bot.retention``); an operator sizing a disk wants to know how much it holds
and whether the sweep keeps up — a file much older than the retention means the bot is not running,
or a post is stuck waiting (``doctor`` lists unsent results elsewhere). Without ffmpeg a video over
the upload limit cannot be re-encoded, so it is linked, and the link expires: worth a warning.
"""

from __future__ import annotations

import asyncio
import time

from bot import videos
from bot.ops.checks import CheckResult, Context, ok, warn
from bot.retention import DAY
from bot.transcode import find_ffmpeg

SLACK_DAYS = 1.0  # the sweep runs hourly; a file this much past the retention is a sign


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


async def check_videos(ctx: Context) -> list[CheckResult]:
    """How many files ``videos/`` holds and their size; WARN when the sweep seems not to keep up."""
    if ctx.db is None:
        return []
    folder = await videos.folder(ctx.db)
    held = await asyncio.to_thread(videos.usage, folder)
    days = ctx.settings.video_retention_days
    kept = f"kept {days:g} day(s) (VIDEO_RETENTION_DAYS)"
    if not held.files:
        return [ok("saved videos", f"none in {folder}; {kept}")]
    detail = f"{held.files} file(s), {_mb(held.bytes)} in {folder}; {kept}"
    age = (time.time() - held.oldest) / DAY if held.oldest is not None else 0.0
    if age > days + SLACK_DAYS:
        return [
            warn(
                "saved videos",
                f"{detail}; the oldest is {age:.1f} days old: the hourly sweep runs only while the bot "
                "does, and keeps the files of results and gallery posts not yet sent",
            )
        ]
    return [ok("saved videos", detail)]


async def check_ffmpeg(ctx: Context) -> list[CheckResult]:
    """ffmpeg re-encodes videos over a channel's upload limit; without it they are linked."""
    exe = await asyncio.to_thread(find_ffmpeg)
    if exe is None:
        return [
            warn(
                "ffmpeg",
                "not found: videos over a channel's upload limit are linked (and the link expires) "
                "instead of re-encoded; install the imageio-ffmpeg package or put ffmpeg on PATH",
            )
        ]
    return [ok("ffmpeg", f"{exe} (videos over the upload limit are re-encoded to fit)")]
