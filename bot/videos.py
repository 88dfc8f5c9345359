"""Finished videos on their way to Discord: the engine's small store, and a bounded download.

Some vendors hand the video over as bytes (OpenAI-compatible ``/content``) instead of a public
link; the link they leave behind needs the API key, so it is useless to a member. The engine saves
those bytes next to the database (``videos/<job id>.mp4``) and records the path on the job;
delivery uploads from there. Links are downloaded only up to the size Discord would accept, so a
huge video never sits in memory for nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from bot.net import Fetcher, FetchFailed
from bot.net import TooLarge as TooLarge  # what ``fetch`` raises past its limit
from storage.db import Database

log = logging.getLogger(__name__)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's limit for a server without boosts
FETCH_TIMEOUT = 120.0  # the whole download; connect and read timeouts are bot.net's


async def folder(db: Database) -> Path:
    """``videos/`` beside the database file (the working directory for an in-memory database)."""
    row = await db.fetchone("SELECT file FROM pragma_database_list WHERE name = 'main'")
    base = Path(row["file"]).parent if row and row["file"] else Path.cwd()
    return base / "videos"


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


async def read_saved(path: str, limit: int) -> bytes | None:
    """The saved video when it exists and is at most ``limit`` bytes; ``None`` otherwise."""

    def read() -> bytes | None:
        file = Path(path)
        try:
            if file.stat().st_size > limit:
                return None
            return file.read_bytes()
        except OSError:
            return None

    return await asyncio.to_thread(read)


async def discard(path: str) -> None:
    """Remove a saved video once Discord holds the copy members use (uploaded with the result)."""
    await asyncio.to_thread(Path(path).unlink, missing_ok=True)


def saved_size(path: str) -> int | None:
    with contextlib.suppress(OSError):
        return Path(path).stat().st_size
    return None


async def fetch(fetcher: Fetcher, url: str, limit: int) -> bytes:
    """Download a vendor's video link, never more than ``limit`` bytes (``TooLarge`` past that).

    The link is the vendor's to choose, so it goes through ``bot.net``: ``LinkRefused`` when the bot
    will not fetch it; ``FetchFailed`` for a network failure, a timeout or an HTTP error status.
    """
    async with fetcher.open(url, max_bytes=limit, time_limit=FETCH_TIMEOUT) as answer:
        if not 200 <= answer.status < 300:
            raise FetchFailed(f"the video link answered HTTP {answer.status}")
        return await answer.read()
