"""The credit export as a file: streamed page by page, so a server with a million entries costs nothing.

Why streamed: the all-time CSV of a large server (118k rows, 7.9 MB) used to be read whole and
formatted on the event loop — over a second, with stalls of half a second that made every other
member wait. Here each page is one trip to a read connection (``storage.ledger.guild_page``, keyset
by time and id) and is turned into CSV text on that connection's thread, so rows never reach the
event loop as objects (which also spares it the garbage collector's pauses); the loop only hands the
text to a worker thread that appends it to a temporary file, while the next page is read. A CSV
larger than the channel's upload limit is gzip-compressed (CSV shrinks about sixfold); one still too
large is refused with the advice to export fewer days. Every cell a member or manager typed goes
through ``inert``, so a spreadsheet shows it as text.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bot.errors import UserError
from storage import ledger
from storage.db import Database, Row

PAGE_ROWS = 1000  # rows a trip: a page is a millisecond or two of work on the read connection's thread
HEADER = ("id", "time_utc", "member_id", "kind", "amount", "job_id", "actor_id", "reason")


@dataclass(frozen=True)
class Export:
    """A finished export on disk. The caller uploads ``path`` as ``filename`` and then ``discard()``s it."""

    path: Path
    filename: str
    rows: int
    size: int
    compressed: bool

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def renderer(inert: Callable[[str], str]) -> Callable[[list[Row]], bytes]:
    """CSV bytes for a page of ``ledger.guild_page`` rows (runs on a read connection's thread)."""

    def render(rows: list[Row]) -> bytes:
        out = io.StringIO()
        when = datetime.fromtimestamp
        csv.writer(out).writerows(
            (
                entry_id,
                when(created_at, UTC).isoformat(timespec="seconds"),
                user_id,
                kind,
                amount,
                job_id or "",
                actor_id or "",
                inert(reason or ""),
            )
            for entry_id, created_at, user_id, kind, amount, job_id, actor_id, reason in rows
        )
        return out.getvalue().encode("utf-8")

    return render


def _open() -> tuple[Path, BinaryIO]:
    fd, name = tempfile.mkstemp(prefix="soracord-export-", suffix=".csv")
    file = os.fdopen(fd, "wb")
    out = io.StringIO()
    csv.writer(out).writerow(HEADER)
    file.write(out.getvalue().encode("utf-8"))
    return Path(name), file


def _gzip(path: Path) -> Path:
    packed = path.with_name(path.name + ".gz")
    with path.open("rb") as src, gzip.open(packed, "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    path.unlink()
    return packed


async def write(
    db: Database,
    guild_id: int,
    start: float,
    end: float,
    *,
    name: str,
    upload_limit: int,
    inert: Callable[[str], str],
    page_rows: int = PAGE_ROWS,
) -> Export:
    """Write the server's entries in ``[start, end)`` to a temporary CSV (``name``), compressed if it
    would not fit ``upload_limit`` bytes. Raises ``UserError`` when even the compressed file is too big."""
    render = renderer(inert)
    path, file = await asyncio.to_thread(_open)
    rows = 0
    writing: asyncio.Future[int] | None = None
    try:
        after: tuple[float, int] | None = None
        while True:
            page = await ledger.guild_page(
                db, guild_id, start, end, after=after, limit=page_rows, render=render
            )
            if writing is not None:
                await writing  # the previous page, appended while this one was read
                writing = None
            if page is None:
                break
            text, count, after = page
            rows += count
            writing = asyncio.ensure_future(asyncio.to_thread(file.write, text))
        await asyncio.to_thread(file.close)
        size, compressed = path.stat().st_size, False
        if size > upload_limit:
            path, compressed = await asyncio.to_thread(_gzip, path), True
            size = path.stat().st_size
            if size > upload_limit:
                raise UserError("errors.export_too_large", size=_mib(size), limit=_mib(upload_limit))
    except BaseException:
        with contextlib.suppress(Exception):
            if writing is not None:
                await writing
            await asyncio.to_thread(file.close)
        path.unlink(missing_ok=True)
        raise
    return Export(path, name + (".gz" if compressed else ""), rows, size, compressed)


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"
