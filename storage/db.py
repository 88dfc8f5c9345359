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
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from storage.notify import MEMO_CHANNEL, Bus, Memo, check_channel, check_payload
from storage.tx import Body, Row, Tx

if TYPE_CHECKING:
    from storage.group_commit import GroupCommit
    from storage.worker import CommitOrder

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
    # Whether other processes may open this database at once (PostgreSQL): then jobs are shared by
    # lease (``storage.leases``) and nothing cached is trusted across processes. SQLite: one process.
    shared: bool = False
    _order: CommitOrder  # each backend's: a read that saw a commit resumes after the code that made it

    def __init__(self) -> None:
        # This process's listeners (``listen``), fed by ``notify`` here or, on PostgreSQL, by the
        # listener connection from every process (``storage.notify``).
        self._bus = Bus()
        # Small, rarely written rows read on every command (server settings), kept by the repository
        # that writes them (write-through) and dropped when any process writes them (``MEMO_CHANNEL``).
        # On SQLite one process owns the data, so an entry is current until this process changes it;
        # PostgreSQL bounds how long one is trusted (``PostgresDatabase``).
        self.memo = Memo()
        self.listen(MEMO_CHANNEL, self.memo.heard)
        self._group: GroupCommit | None = None

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

    async def claim_gateway(self, shards: list[int] | None) -> bool:
        """Whether this process may connect ``shards`` (None: all) — False when another does. SQLite's
        file lock answers that before the file is opened (``bot.instance``: one process in all);
        PostgreSQL needs the server to answer."""
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

    @property
    def group(self) -> GroupCommit:
        """This database's group-commit queue (``storage.group_commit``), made on first use."""
        if self._group is None:
            from storage.group_commit import GroupCommit

            self._group = GroupCommit(self)
        return self._group

    async def group_write(self, body: Body[T]) -> T:
        """``write(body)``, batched with the other writes waiting now: one transaction for them all,
        a savepoint each, so ``body`` still lands or is refused alone (``storage.group_commit``)."""
        return await self.group.write(body)

    @abstractmethod
    async def read(self, body: Body[T]) -> T:
        """Run ``body(tx)`` as one read transaction (one snapshot)."""

    @abstractmethod
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """A read outside any transaction: it sees only committed writes, never half of one."""

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    # ---- signals between processes (``storage.notify``) -----------------------------------------

    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell every listener on ``channel`` in every process (this one's included) ``payload``.

        Call it after the write it announces has committed, never inside its transaction: a listener
        that hears it and reads must find the write. On SQLite the listeners are called before this
        returns (one process: nobody else could hear); on PostgreSQL it is one ``pg_notify`` on its own
        (autocommit, outside any transaction), heard by each process's listener connection — this
        one's too — a millisecond or so later. ``channel`` is ``[a-z_]{1,40}``; ``payload`` is under
        8000 bytes. A notification can be missed (a listener reconnecting): listeners then hear ``"*"``.
        """
        check_channel(channel)
        check_payload(payload)
        await self._send(channel, payload)

    def listen(self, channel: str, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(payload)`` for every notification on ``channel``; returns the unsubscribe.

        ``callback`` is synchronous, runs on the event loop and must be quick (drop a cache entry,
        wake a task); one that raises is logged and the others still run. A payload of ``"*"`` means
        "you may have missed something": drop everything cached from ``channel``'s rows. On
        PostgreSQL every process hears ``"*"`` when its listener (re)starts ``LISTEN`` on a channel.
        """
        check_channel(channel)
        return self._bus.add(channel, callback)

    async def listening(self, within: float = 5.0) -> bool:
        """Whether every channel listened to so far now hears other processes' notifications,
        waiting up to ``within`` seconds for it (start-up, tests). At once on SQLite."""
        return True

    async def _send(self, channel: str, payload: str) -> None:
        """Deliver a checked notification: to this process's listeners (SQLite: the only process)."""
        self._bus.deliver(channel, payload)
