"""One process per SQLite database: a lock file beside it, held for the process's lifetime.

Two bots on one file run every command twice (one grant of 50 wrote +100) and poll every job twice;
SQLite itself would let them. So ``run`` (and ``generate``) take an exclusive ``flock`` on
``<database>.lock`` before opening the database and keep it until they exit; the kernel drops it
when the process dies, however it dies, so a crash never leaves a stale lock. A second process finds
the lock taken and stops with one line naming the first (``AlreadyRunning``: pid, host, since when).

The file also carries what the running process says about itself — who it is, and whether its
database writes are failing (``publish``) — for ``doctor``, which reads it without writing. It is
written through a memory map of one page allocated at start, so the report still gets through
when the disk is full or the process may not grow any file: exactly when it matters.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import mmap
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PAGE = 4096  # the size of the lock file: one page, allocated once, rewritten in place
ACQUIRE_WAIT = 2.0  # a process that just exited (a restart) or a doctor's probe lets go within this


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@dataclass(frozen=True)
class Holder:
    """What the lock file says about the process that holds (or last held) it."""

    info: dict[str, Any]

    @property
    def pid(self) -> int | None:
        value = self.info.get("pid")
        return value if isinstance(value, int) else None

    def describe(self) -> str:
        """``pid 4242 on host "box", `run` since 2026-05-01 12:00:00 UTC``."""
        parts = [f"pid {self.pid}" if self.pid is not None else "pid unknown"]
        if self.info.get("host"):
            parts.append(f'on host "{self.info["host"]}"')
        if self.info.get("command"):
            parts.append(f"`{self.info['command']}`")
        started = self.info.get("started_at")
        if isinstance(started, int | float):
            parts.append("since " + datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
        return " ".join(parts)


class AlreadyRunning(Exception):
    """Another process holds the database's lock; the message is one line, safe to print."""

    def __init__(self, database: Path, holder: Holder | None) -> None:
        who = holder.describe() if holder is not None else "pid unknown"
        super().__init__(
            f"another soracord process ({who}) is using {database}; stop it first, or point "
            "DATABASE_PATH at another file (one database serves one process)"
        )
        self.holder = holder


def read(database: Path) -> Holder | None:
    """What the lock file beside ``database`` says, or None when there is none (or it is unreadable)."""
    path = lock_path(database)
    for _ in range(3):  # a read that catches a rewrite half-way sees bad JSON: read again
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        text = raw.rstrip(b"\0 \n").decode("utf-8", "replace")
        if not text:
            return None
        with contextlib.suppress(ValueError):
            info = json.loads(text)
            if isinstance(info, dict):
                return Holder(info)
        time.sleep(0.01)
    return None


def is_held(database: Path) -> bool:
    """True while some process holds the lock (a shared, non-blocking probe, let go at once)."""
    try:
        fd = os.open(lock_path(database), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the probe's shared lock, if it got one
    return False


class InstanceLock:
    """The held lock. ``acquire`` it before opening the database; ``release`` (or exit) lets go."""

    def __init__(self, database: Path, fd: int, info: dict[str, Any]) -> None:
        self.database = database
        self._fd = fd
        self._info = info
        self._map: mmap.mmap | None = None

    @classmethod
    def acquire(cls, database: Path, *, command: str, wait: float = ACQUIRE_WAIT) -> InstanceLock:
        """Take the lock or raise ``AlreadyRunning`` naming the process that has it."""
        path = lock_path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise AlreadyRunning(database, read(database)) from None
                time.sleep(0.05)
            except OSError as exc:  # a filesystem without locks (some network mounts): say so, go on
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise
                print(
                    f"soracord: {path}: this filesystem cannot lock files ({exc.strerror}); nothing "
                    "stops a second process on this database",
                    file=sys.stderr,
                )
                break
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started_at": round(time.time(), 3),
            "argv": sys.argv[:3],
        }
        lock = cls(database, fd, info)
        lock._allocate()
        return lock

    def _allocate(self) -> None:
        """Write the page once (allocating it on disk) and map it; without room, go without a report."""
        try:
            os.pwrite(self._fd, self._encode(self._info), 0)
            os.ftruncate(self._fd, PAGE)
            self._map = mmap.mmap(self._fd, PAGE)
        except OSError as exc:
            print(
                f"soracord: {lock_path(self.database)}: no status report for doctor ({exc})", file=sys.stderr
            )
            self._map = None

    @staticmethod
    def _encode(info: dict[str, Any]) -> bytes:
        data = json.dumps(info, ensure_ascii=False, separators=(",", ":")).encode("utf-8")[: PAGE - 1]
        return data + b"\n" + b" " * (PAGE - len(data) - 1)

    def publish(self, **fields: Any) -> None:
        """Add ``fields`` to what the lock file says (``None`` removes one); never raises."""
        for name, value in fields.items():
            if value is None:
                self._info.pop(name, None)
            else:
                self._info[name] = value
        if self._map is not None:
            with contextlib.suppress(ValueError, OSError):
                self._map[:] = self._encode(self._info)

    def release(self) -> None:
        if self._fd < 0:
            return
        self.publish(stopped_at=round(time.time(), 3))
        if self._map is not None:
            with contextlib.suppress(ValueError, OSError):
                self._map.close()
            self._map = None
        os.close(self._fd)  # drops the lock
        self._fd = -1

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
