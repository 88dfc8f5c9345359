"""The storage interface: one ``Database`` over two backends, chosen by what it is opened on.

* a path (the default): SQLite, embedded, for one process (``storage.sqlite``);
* a ``postgresql://`` URL: PostgreSQL through asyncpg, for several processes (``storage.postgres``).

The repositories (``storage/*.py``) are written once against this interface and ``storage.tx.Tx``;
what the two dialects cannot share is a hook here or in the backend, never an ``if`` in the
repositories. Each backend ships its own numbered migrations with the same numbers and names
(``storage/migrations`` for SQLite, ``storage/migrations_pg`` for PostgreSQL), so a schema version
means the same tables on both.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

from storage.tx import Body, Row, Tx

__all__ = ["BUSY_TIMEOUT_MS", "READERS", "Backend", "Database", "Row", "Tx", "is_url", "latest_version"]

T = TypeVar("T")
Backend = Literal["sqlite", "postgres"]
MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
MIGRATION_FOLDERS: dict[Backend, str] = {"sqlite": "migrations", "postgres": "migrations_pg"}
URL_SCHEMES = ("postgresql://", "postgres://")
# SQLite's knobs, read from here when a connection opens (tests lower them here).
BUSY_TIMEOUT_MS = 5000
READERS = 2  # a long read (an export page, a metrics scrape) leaves the other free for members


def is_url(target: Path | str) -> bool:
    """Whether ``target`` names a PostgreSQL server rather than an SQLite file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def _migrations(backend: Backend = "sqlite") -> list[tuple[int, str, str]]:
    """The numbered migrations shipped for ``backend``, in order: (number, file name, SQL)."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("storage").joinpath(MIGRATION_FOLDERS[backend]).iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 001..N without gaps: {numbers}")
    return found


def latest_version(backend: Backend = "sqlite") -> int:
    """The schema version this code expects (the newest migration it ships)."""
    return len(_migrations(backend))


class Database(ABC):
    """Owns the connections. Open with ``await Database.open(target)``; close with ``close()``.

    Writes: ``write(body)`` runs ``body(tx)`` as one transaction (on SQLite in one trip to the write
    connection's thread: ``body`` may await only ``tx``'s own calls); ``transaction()`` is the same as
    a block, for bodies that need the event loop between statements. Either rolls back on an
    exception. Reads: ``read(body)`` is one snapshot; ``fetchall``/``fetchone`` one statement that
    sees only committed writes.
    """

    backend: Backend

    def __init__(self) -> None:
        # Small, rarely written rows read on every command (server settings), kept by the repository
        # that writes them: one process owns the data, so a write-through memo is always current.
        self.memo: dict[tuple[str, int], Any] = {}

    @classmethod
    async def open(
        cls, target: Path | str, *, migrate: bool = True, readers: int = READERS, folder: Path | None = None
    ) -> Database:
        """Open (creating it if needed) and migrate; ``readers=0`` reads SQLite on the write connection.

        ``folder`` is where a PostgreSQL database keeps its files (``./data`` when None); an SQLite
        file keeps them beside itself.
        """
        if is_url(target):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target), migrate=migrate, folder=folder)
        from storage.sqlite import SqliteDatabase

        return await SqliteDatabase.open_file(Path(target), migrate=migrate, readers=readers)

    async def claim_sole_process(self) -> bool:
        """Whether this is the only bot on the data (False: another runs). SQLite's file lock answers
        that before the file is opened (``bot.instance``); PostgreSQL needs the server to answer."""
        return True

    @property
    @abstractmethod
    def folder(self) -> Path:
        """Where files that go with the data are kept (saved videos): beside an SQLite file."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def schema_version(self) -> int: ...

    @abstractmethod
    async def migrate(self) -> list[str]:
        """Apply every migration newer than the schema version, each atomically. Returns their names."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """One write transaction; rolled back if the block raises."""

    @abstractmethod
    async def write(self, body: Body[T]) -> T:
        """Run ``body(tx)`` as one write transaction; its value comes back, its exception rolls back."""

    @abstractmethod
    async def read(self, body: Body[T]) -> T:
        """Run ``body(tx)`` as one read transaction (one snapshot)."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """A read outside any transaction: it sees only committed writes, never half of one."""

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None
