"""Finished videos on their way to Discord: the engine's small store, and a bounded download.

Some vendors hand the video over as bytes (OpenAI-compatible ``/content``) instead of a public
link; the link they leave behind needs the API key, so it is useless to a member. The engine saves
those bytes next to the database (``videos/<job id>.mp4``) and records the path on the job;
delivery uploads from there. A link's video is downloaded to the same place, streamed to disk and
never held in memory, up to ``MAX_SOURCE_BYTES``: one larger than the channel takes is re-encoded to
fit (``bot.transcode``) as ``<job id>.fit.mp4``, and its poster frame is ``<job id>.jpg``.

These files stay for ``VIDEO_RETENTION_DAYS`` (``bot.retention`` sweeps them), so a result or a
gallery post retried after a restart uploads the same bytes without fetching or encoding them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bot.net import Fetcher, FetchFailed
from bot.net import TooLarge as TooLarge  # what ``fetch`` raises past its limit
from storage.db import Database

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's limit for a server without boosts
FETCH_TIMEOUT = 120.0  # the whole download; connect and read timeouts are bot.net's
MAX_SOURCE_BYTES = 1024 * 1024 * 1024  # a vendor's video larger than this is linked, not fetched
WRITE_CHUNK = 1024 * 1024  # bytes gathered before one write to disk (off the event loop)


async def folder(db: Database) -> Path:
    """``videos/`` in the database's folder (beside an SQLite file; ``Database.folder``)."""
    return db.folder / "videos"


def source_path(videos: Path, job_id: int) -> Path:
    """Where the job's video is kept as the vendor made it (saved bytes, or a downloaded link)."""
    return videos / f"{job_id}.mp4"


def fitted_path(videos: Path, job_id: int) -> Path:
    return videos / f"{job_id}.fit.mp4"


def poster_path(videos: Path, job_id: int) -> Path:
    return videos / f"{job_id}.jpg"


def job_of(file: Path) -> int | None:
    """The job a file in ``videos/`` belongs to (its name starts with the job id)."""
    head = file.name.split(".", 1)[0]
    return int(head) if head.isdigit() else None


async def save(db: Database, job_id: int, data: bytes) -> str:
    """Write the video a vendor handed over; returns the path to store on the job."""
    path = (await folder(db)) / f"{job_id}.mp4"

    def write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)  # never a half-written file under the final name

    await asyncio.to_thread(write)
    return str(path)


async def fetch(fetcher: Fetcher, url: str, limit: int) -> bytes:
    """Download a vendor's video link, never more than ``limit`` bytes (``TooLarge`` past that).

    The link is the vendor's to choose, so it goes through ``bot.net``: ``LinkRefused`` when the bot
    will not fetch it; ``FetchFailed`` for a network failure, a timeout or an HTTP error status.
    """
    async with fetcher.open(url, max_bytes=limit, time_limit=FETCH_TIMEOUT) as answer:
        if not 200 <= answer.status < 300:
            raise FetchFailed(f"the video link answered HTTP {answer.status}")
        return await answer.read()


async def download(fetcher: Fetcher, url: str, dest: Path, max_bytes: int = MAX_SOURCE_BYTES) -> int:
    """Stream a vendor's video link into ``dest`` (whole or not at all); returns its size in bytes.

    The same refusals as ``fetch`` (``LinkRefused``, ``FetchFailed``, ``TooLarge`` past
    ``max_bytes``); the bytes go to disk a megabyte at a time, so memory stays flat whatever the size.
    """
    partial = dest.with_name(dest.name + ".part")
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    handle = await asyncio.to_thread(partial.open, "wb")
    size = 0
    try:
        async with fetcher.open(url, max_bytes=max_bytes, time_limit=FETCH_TIMEOUT) as answer:
            if not 200 <= answer.status < 300:
                raise FetchFailed(f"the video link answered HTTP {answer.status}")
            pending = bytearray()
            async for chunk in answer.chunks():
                pending += chunk
                size += len(chunk)
                if len(pending) >= WRITE_CHUNK:
                    await asyncio.to_thread(handle.write, bytes(pending))
                    pending.clear()
            await asyncio.to_thread(handle.write, bytes(pending))
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(partial.replace, dest)
    except BaseException:
        handle.close()
        partial.unlink(missing_ok=True)
        raise
    return size


@dataclass(frozen=True)
class Usage:
    files: int
    bytes: int
    oldest: float | None  # modification time of the oldest file (seconds since the epoch)


def usage(videos: Path) -> Usage:
    """What ``videos/`` holds (blocking: call it off the event loop)."""
    count = total = 0
    oldest: float | None = None
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(videos):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    count, total = count + 1, total + stat.st_size
                    oldest = stat.st_mtime if oldest is None else min(oldest, stat.st_mtime)
    return Usage(count, total, oldest)


def sweep(videos: Path, *, before: float, keep: set[int]) -> Usage:
    """Delete files last written before ``before`` except the jobs in ``keep``; returns what went.

    Blocking: call it off the event loop. A file whose name names no job (not the bot's) is left.
    """
    count = total = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(videos):
            job_id = job_of(Path(entry.path))
            if job_id is None or job_id in keep:
                continue
            with contextlib.suppress(OSError):
                stat = entry.stat(follow_symlinks=False)
                if entry.is_file(follow_symlinks=False) and stat.st_mtime < before:
                    os.unlink(entry.path)
                    count, total = count + 1, total + stat.st_size
    return Usage(count, total, None)
