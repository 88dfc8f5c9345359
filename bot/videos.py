"""Finished videos on their way to Discord: the engine's small store, and a bounded download.

Some vendors hand the video over as bytes (OpenAI-compatible ``/content``) instead of a public
link; the link they leave behind needs the API key, so it is useless to a member. The engine saves
those bytes next to the database (``videos/<job id>.mp4``) and records the path on the job;
delivery uploads from there. A link's video is downloaded to the same place, streamed to disk and
never held in memory, up to ``MAX_SOURCE_BYTES``: one larger than the channel takes is re-encoded to
fit (``bot.transcode``) as ``<job id>.fit.mp4``, and its poster frame is ``<job id>.jpg``.

These files stay for ``VIDEO_RETENTION_DAYS`` (``bot.retention`` sweeps them), so a result or a
gallery post retried after a restart uploads the same bytes without fetching or encoding them again.

On PostgreSQL (``Database.shared``) another process, on another machine, may post the result after a
takeover, and the file is not there. So saved bytes also go into the database (``storage.video_bytes``)
up to ``MAX_SHARED_BYTES``, and delivery asks ``local_copy`` for the file: the one on disk, else one
rebuilt from the database into this process's folder. On SQLite one process does everything and the
database holds no video.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.net import Fetcher, FetchFailed
from bot.net import TooLarge as TooLarge  # what ``fetch`` raises past its limit
from storage import video_bytes
from storage.db import Database

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's limit for a server without boosts
FETCH_TIMEOUT = 120.0  # the whole download; connect and read timeouts are bot.net's
MAX_SOURCE_BYTES = 1024 * 1024 * 1024  # a vendor's video larger than this is linked, not fetched
WRITE_CHUNK = 1024 * 1024  # bytes gathered before one write to disk (off the event loop)
# Saved bytes kept in a shared database at most this large: Discord's largest upload for a bot's
# server (boost level 2), so what could be uploaded as-is is there for any process. A larger video stays
# file-only — on a takeover elsewhere its result says the video could not be shown — rather than
# making every read of the row, and the database's backups, carry hundreds of megabytes.
MAX_SHARED_BYTES = 50 * 1024 * 1024


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
    if db.shared:  # another process may deliver it, where this file is not
        if len(data) <= MAX_SHARED_BYTES:
            await video_bytes.put(db, job_id, data, now=time.time())
        else:
            log.warning(
                "job %s: the video is %.1f MB, more than the %.0f MB kept in the database; only this"
                " process's videos/ has it",
                job_id,
                len(data) / 1e6,
                MAX_SHARED_BYTES / 1e6,
            )
    return str(path)


async def local_copy(db: Database, job_id: int, video_path: str) -> Path:
    """A file on this machine holding the job's saved video: ``video_path`` when it is there, else the
    bytes kept in a shared database written to this process's ``videos/`` (whole or not at all).

    Returns ``video_path`` unchanged (absent) when neither has it — delivery then says the video
    cannot be shown, as it did before. Never consults the database on SQLite (nothing is kept there).
    """
    saved = Path(video_path)
    if not db.shared or await asyncio.to_thread(saved.is_file):
        return saved
    dest = source_path(await folder(db), job_id)
    if await asyncio.to_thread(dest.is_file):  # rebuilt here before (or this process saved it)
        return dest
    data = await video_bytes.get(db, job_id)
    if data is None:
        log.info("job %s: the saved video is not on this machine nor in the database", job_id)
        return saved

    def write() -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: two deliveries rebuilding at once never write into one another's file.
        fd, partial = tempfile.mkstemp(dir=dest.parent, prefix=f"{job_id}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(partial, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise

    await asyncio.to_thread(write)
    log.info("job %s: rebuilt the saved video from the database (%d bytes)", job_id, len(data))
    return dest


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
