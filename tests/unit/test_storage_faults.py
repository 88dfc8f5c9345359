"""Which database errors are the disk's or the host's (retried, never a job's failure), and the words
an operator reads about each."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from storage.faults import advice, describe, is_storage_fault


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (sqlite3.OperationalError("database is locked"), "write lock"),
        (sqlite3.OperationalError("database or disk is full"), "full"),
        (sqlite3.OperationalError("disk I/O error"), "free space"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "not writable"),
        (sqlite3.DatabaseError("database disk image is malformed"), "backup"),
        (OSError(errno.ENOSPC, "No space left on device"), "full"),
        (OSError(errno.EFBIG, "File too large"), "full"),
    ],
)
def test_faults_of_the_disk_are_retried_and_explained(error: BaseException, hint: str) -> None:
    assert is_storage_fault(error)
    assert hint in advice(error)
    assert advice(describe(error)) == advice(error)  # the lock file carries the text; doctor says the same


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.IntegrityError("CHECK constraint failed: balance >= 0"),
        sqlite3.ProgrammingError("Cannot operate on a closed database."),
        OSError(errno.ENOENT, "No such file or directory"),
        ValueError("a bug"),
    ],
)
def test_faults_of_the_statement_or_the_code_are_not(error: BaseException) -> None:
    assert not is_storage_fault(error)
