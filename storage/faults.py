"""Faults of the database's file or host, told apart from faults of a statement, and what to do.

A locked file, a full disk, a failing device or a read-only mount is nobody's job's fault: the job
is as good as it was, and the same write works once the operator has freed the space or stopped
the other process. So the engine retries these (``is_storage_fault``) instead of failing a job,
and the logs and ``doctor`` say what is wrong in an operator's words (``advice``). A statement
that breaks a constraint (``IntegrityError``) or misuses the API (``ProgrammingError``, e.g. a
closed database) is not one of them: retrying it would change nothing.
"""

from __future__ import annotations

import errno
import sqlite3

import asyncpg

# The OS errors a write to a full, over-quota, oversized, failing or read-only disk gives.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})
# PostgreSQL's faults of the server or the way to it: gone, restarting, full, out of connections, a
# read-only standby, or a transaction the server rolled back to break a deadlock or a conflict.
_PG_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now, query cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # disk full, out of memory, too many connections
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    asyncpg.exceptions.TransactionRollbackError,  # serialization failure, deadlock detected
)  # not the builtin ConnectionError: a vendor's reset connection must stay the vendor's fault
# A statement that broke a constraint, on either backend: a bug or a race to surface, never retried.
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    asyncpg.IntegrityConstraintViolationError,
)

_ADVICE = (
    (
        ("locked", "busy"),
        "another process holds the database's write lock (a second bot on this file, an open "
        "sqlite3 shell, a backup tool): stop it",
    ),
    (
        ("full", "no space", "quota", "too large"),
        "the disk holding the database is full: free space there",
    ),
    (
        ("i/o", "input/output"),
        "writing to the disk holding the database fails: check its free space and the device",
    ),
    (
        ("readonly", "read-only", "unable to open", "permission"),
        "the database file or its folder is not writable by the bot's user (or the disk was "
        "remounted read-only): fix that",
    ),
    (
        ("malformed", "not a database"),
        "the database file is damaged: stop the bot and restore the latest backup",
    ),
)


def is_storage_fault(exc: BaseException) -> bool:
    """True for an error of the database's file or host, worth retrying: never a job's failure."""
    if isinstance(exc, sqlite3.OperationalError):  # locked, busy, full, I/O, read-only, cannot open
        return True
    if type(exc) is sqlite3.DatabaseError:  # "database disk image is malformed", "file is not a database"
        return True
    if isinstance(exc, _PG_FAULTS):
        return True
    return isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS  # a video file beside the database


def describe(exc: BaseException) -> str:
    """The error in one line, e.g. ``disk I/O error`` or ``[Errno 28] No space left on device``."""
    return " ".join(str(exc).split()) or type(exc).__name__


def advice(error: BaseException | str) -> str:
    """What an operator should do about ``error`` (an exception, or its ``describe`` text)."""
    text = describe(error) if isinstance(error, BaseException) else error
    lowered = text.lower()
    for words, hint in _ADVICE:
        if any(w in lowered for w in words):
            return hint
    return "check the disk holding the database and the database file"
