"""``python -m bot backup PATH``: a consistent copy of the SQLite database, taken while the bot runs.

SQLite's online backup API copies the pages through its own read connection. The database runs
in WAL mode, so one read transaction sees one committed state and never blocks the bot's writer;
the copy is therefore taken in one step (``pages=-1``). Copying in small steps would restart from
scratch every time the bot wrote in between, which under a busy bot may never finish.

The copy is written next to ``PATH`` under a temporary name, switched to a single self-contained
file (``journal_mode=DELETE``), checked, and only then put in place: ``os.link`` refuses to replace
an existing file (unless ``--force``), so a half-written or clobbered backup is never left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_S = 10.0


class BackupError(Exception):
    """The backup was not made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    schema_version: int


def _schema_version(conn: sqlite3.Connection) -> int:
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def _copy(source: Path, dest: Path, force: bool) -> BackupResult:
    if not source.is_file():
        raise BackupError(f"no database at {source} (check DATABASE_PATH)")
    if dest.exists() and not force:
        raise BackupError(f"{dest} already exists; choose another path or pass --force to replace it")
    if dest.exists() and not dest.is_file():
        raise BackupError(f"{dest} exists and is not a file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA quick_check").fetchone()
                if not check or check[0] != "ok":
                    raise BackupError(f"the copy failed its integrity check ({check[0] if check else '?'})")
                version = _schema_version(dst)
            finally:
                dst.close()
        finally:
            src.close()
        if force:
            os.replace(tmp, dest)
        else:
            try:
                os.link(tmp, dest)  # atomic, and fails if dest appeared meanwhile
            except FileExistsError:
                raise BackupError(
                    f"{dest} already exists; choose another path or pass --force to replace it"
                ) from None
            except OSError:  # a filesystem without hard links: fall back to a checked rename
                if dest.exists():
                    raise BackupError(f"{dest} already exists") from None
                os.replace(tmp, dest)
        return BackupResult(path=dest, size=dest.stat().st_size, schema_version=version)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


async def backup(source: Path, dest: Path, *, force: bool = False) -> BackupResult:
    """Copy the database at ``source`` to ``dest`` (in a worker thread; the event loop keeps going)."""
    return await asyncio.to_thread(_copy, source, dest, force)
