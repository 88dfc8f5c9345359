"""Getting a finished video into the channel: the bytes to upload, fitted when they are too large.

Delivery asks for one thing — a file at most the channel's upload limit — and this module finds it,
cheapest first: the copy kept in ``videos/`` (saved bytes, or an earlier download), an earlier fitted
copy, then the vendor's link downloaded to disk, then a fit (``bot.transcode``). Only when all of
that fails does the result fall back to the vendor's link, which expires. The poster frame is taken
from whichever copy exists, uploaded or not, so the card shows the video even when it is linked.

A video the vendor left in parts (a job's ``video_parts``: shots never joined) becomes that same
downloaded copy: each part is fetched through ``bot.net`` — all of them within the one size cap a
single video has — and joined in order (``Transcoder.join``), and from there it lands as any video
does. When a part cannot be had or the join fails, the landing says so and delivery lists the parts.

Nothing here knows Discord: delivery turns a ``Landing`` into a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot import videos
from bot.net import Fetcher, FetchFailed, LinkRefused, TooLarge
from bot.transcode import FitFailed, Fitted, Transcoder
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Landing:
    """What delivery can post. ``upload`` is set when a file fits; ``size`` is the source's, if known."""

    upload: Path | None = None
    size: int | None = None
    fitted: Fitted | None = None  # set when ``upload`` is a re-encoded copy made just now or before
    poster: Path | None = None
    refused: bool = False  # the vendor's link is one the bot will not fetch (``bot.net``)
    unreachable: bool = False  # the link could not be downloaded (an error, a timeout)
    saved: bool = False  # the source is bytes the vendor handed over: there is no public link


def _size(path: Path) -> int | None:
    with contextlib.suppress(OSError):
        return path.stat().st_size if path.is_file() else None
    return None


class Lander:
    def __init__(self, db: Database, fetcher: Fetcher, transcoder: Transcoder) -> None:
        self._db = db
        self._fetcher = fetcher
        self.transcoder = transcoder

    async def land(
        self,
        job_id: int,
        *,
        video_path: str | None,
        video_url: str | None,
        limit: int,
        parts: Sequence[str] = (),
    ) -> Landing:
        """The file to upload for job ``job_id`` within ``limit`` bytes, and its poster, or why not.

        ``parts``: the links of a video left in parts, in play order (when there is no ``video_url``)."""
        folder = await videos.folder(self._db)
        saved = video_path is not None
        # A saved video may have been saved by another process, elsewhere: ``local_copy`` finds it.
        source = (
            await videos.local_copy(self._db, job_id, video_path)
            if video_path
            else videos.source_path(folder, job_id)
        )
        size = await asyncio.to_thread(_size, source)
        if size is None and not saved and not video_url and parts:
            joined = await self._join(job_id, parts, source)
            if isinstance(joined, Landing):
                return joined
            size = joined
        if size is None and not saved and video_url:
            try:
                size = await videos.download(self._fetcher, video_url, source)
            except LinkRefused as exc:
                log.warning(
                    "job %s: the provider's video link is refused (%s); not shown", job_id, exc.reason
                )
                return Landing(refused=True)
            except TooLarge as exc:
                log.info("job %s: the video is larger than the bot downloads; linking it", job_id)
                return Landing(size=exc.size)
            except (FetchFailed, ValueError, OSError) as exc:
                log.info("job %s: could not download the video (%s); linking it", job_id, exc)
                return Landing(unreachable=True)
        if size is None:
            return Landing(saved=saved)
        poster = await self._poster(source, videos.poster_path(folder, job_id))
        if size <= limit:
            return Landing(upload=source, size=size, poster=poster, saved=saved)
        fitted = await self._fit(job_id, source, videos.fitted_path(folder, job_id), size, limit)
        if fitted is None:
            return Landing(size=size, poster=poster, saved=saved)
        return Landing(upload=fitted.path, size=size, fitted=fitted, poster=poster, saved=saved)

    async def _join(self, job_id: int, parts: Sequence[str], dest: Path) -> int | Landing:
        """Download every part into a folder of its own and join them into ``dest``; its size, or
        the ``Landing`` that says why not. The parts share one cap: the joined video's."""
        await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
        work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=f"{job_id}.parts-", dir=dest.parent))
        try:
            files: list[Path] = []
            room = videos.MAX_SOURCE_BYTES
            for number, url in enumerate(parts, start=1):
                file = work / f"shot-{number}.mp4"
                room -= await videos.download(self._fetcher, url, file, max_bytes=room)
                files.append(file)
            await self.transcoder.join(files, dest)
            size = await asyncio.to_thread(_size, dest)
            if size is None or size > videos.MAX_SOURCE_BYTES:  # a re-encode can come out larger
                await asyncio.to_thread(dest.unlink, True)
                log.info("job %s: the joined video is larger than the bot keeps; listing its parts", job_id)
                return Landing(size=size)
            return size
        except LinkRefused as exc:
            log.warning("job %s: a part's link is refused (%s); not shown", job_id, exc.reason)
            return Landing(refused=True)
        except TooLarge as exc:
            log.info(
                "job %s: its %d parts are larger than the bot downloads; listing them", job_id, len(parts)
            )
            return Landing(size=exc.size)
        except (FetchFailed, ValueError, OSError) as exc:
            log.info("job %s: could not download its %d parts (%s); listing them", job_id, len(parts), exc)
            return Landing(unreachable=True)
        except FitFailed as exc:
            log.warning("job %s: could not join its %d parts (%s); listing them", job_id, len(parts), exc)
            return Landing(unreachable=True)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)

    async def _fit(self, job_id: int, source: Path, dest: Path, size: int, limit: int) -> Fitted | None:
        earlier = await asyncio.to_thread(_size, dest)
        if earlier is not None and earlier <= limit:  # fitted before a restart, or for a smaller limit
            return Fitted(dest, earlier, size, 0.0, 0, 0, 0.0)
        try:
            return await self.transcoder.fit(source, dest, limit)
        except FitFailed as exc:
            log.warning("job %s: could not fit %d bytes into %d (%s); linking it", job_id, size, limit, exc)
        except OSError as exc:
            log.warning("job %s: could not fit the video (%s); linking it", job_id, exc)
        return None

    async def _poster(self, source: Path, dest: Path) -> Path | None:
        if await asyncio.to_thread(_size, dest):
            return dest
        try:
            return await self.transcoder.poster(source, dest)
        except (FitFailed, OSError) as exc:
            log.info("no poster frame for %s (%s)", source.name, exc)
            return None
