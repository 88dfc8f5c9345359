"""Which database backend the tests run on, and the one way a test opens (or reads) its database.

One setting picks the backend for the whole suite:

* nothing set (or ``SORACORD_TEST_BACKEND=sqlite``): SQLite files in ``tmp_path``, the quick default;
* ``SORACORD_TEST_BACKEND=postgres``: PostgreSQL on a throwaway cluster the session starts from the
  machine's own packages (``tests.pg_cluster``);
* ``SORACORD_TEST_DATABASE_URL=postgresql://…``: PostgreSQL on that server instead (no cluster is
  started). The tests create and drop databases of their own there (``test_…`` and a template), and
  only ever connect to the URL's own database to do so — so point it at a server, not at data.

Why one helper rather than a fixture per suite: tests name their databases by path (``tmp_path /
"bot.db"``), reopen them to play a restart, and sometimes open two at once. ``database_for(path)``
keeps all of that meaning on PostgreSQL: each distinct path a test names becomes a fresh, migrated
database of its own (made on first use from a migrated template, ~30 ms), the same path reopens the
same database, and every one is dropped when the test ends. On SQLite it is the path itself.

A test that can only mean SQLite (the file lock, WAL, a backup of the file, the file read with
``sqlite3``) is marked ``@pytest.mark.sqlite_only("why")`` and skipped, with that reason, under
PostgreSQL; it ran in the SQLite run.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import sqlite3
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.db import Database, is_url
from storage.tx import sqlite_sql

T = TypeVar("T")

_CHOICE = os.environ.get("SORACORD_TEST_BACKEND", "").strip().lower()
SERVER_URL = os.environ.get("SORACORD_TEST_DATABASE_URL", "").strip() or None
if _CHOICE not in ("", "sqlite", "postgres"):
    raise RuntimeError(f"SORACORD_TEST_BACKEND must be 'sqlite' or 'postgres', not {_CHOICE!r}")
if SERVER_URL is not None and not is_url(SERVER_URL):
    raise RuntimeError(f"SORACORD_TEST_DATABASE_URL must be a postgresql:// URL, not {SERVER_URL!r}")
# The URL alone means PostgreSQL there; an explicit SORACORD_TEST_BACKEND=sqlite beside it keeps the
# SQLite run and sends only the tests that ask for PostgreSQL (``pg_url``) to that server.
BACKEND = _CHOICE or ("postgres" if SERVER_URL is not None else "sqlite")
POSTGRES = BACKEND == "postgres"
ADMIN_TIMEOUT = 60.0  # seconds one CREATE/DROP DATABASE may take (a DROP waits out its connections)


class Server(Protocol):
    def url(self, database: str = "postgres") -> str: ...


class ExternalServer:
    """The server ``SORACORD_TEST_DATABASE_URL`` names: other databases there are reached by swapping
    the URL's database name, keeping its user, host, port and options."""

    def __init__(self, url: str) -> None:
        self._parts = urlsplit(url)

    def url(self, database: str | None = None) -> str:
        if database is None:
            return urlunsplit(self._parts)
        return urlunsplit(self._parts._replace(path=f"/{database}"))


class Admin:
    """One connection to the server's maintenance database, on an event loop of its own thread.

    Tests need databases made and dropped from anywhere: a synchronous fixture, a test's running
    event loop (``database_for`` is called inside async tests, where ``asyncio.run`` cannot be), a
    hypothesis machine with its own loop. A thread with its own loop serves them all, blocking the
    caller for one statement; a single connection for the session saves a connect per database.
    """

    def __init__(self, server: Server, root_url: str) -> None:
        self.server = server
        self._root_url = root_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-admin", daemon=True)
        self._thread.start()
        self._conn: asyncpg.Connection | None = None

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = ADMIN_TIMEOUT) -> T:
        """Run ``coro`` on the admin loop and wait for its value (from any thread but that one)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _execute(self, sql: str) -> None:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._root_url)
        await self._conn.execute(sql)

    def execute(self, sql: str) -> None:
        self.run(self._execute(sql))

    def close(self) -> None:
        async def _close() -> None:
            if self._conn is not None and not self._conn.is_closed():
                await self._conn.close()

        try:
            self.run(_close(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


class Databases:
    """The PostgreSQL databases of one session: a migrated template, and fresh copies of it."""

    def __init__(self, admin: Admin) -> None:
        self.admin = admin
        # Unique on a shared server: two sessions (two engineers, or CI beside a developer) never
        # pick the same names. Lowercase hex: PostgreSQL folds unquoted names to lowercase.
        self._tag = f"{os.getpid()}_{secrets.token_hex(3)}"
        self.template = f"soracord_template_{self._tag}"
        self._names = itertools.count(1)
        self._made: set[str] = set()

    def make_template(self) -> None:
        """Create and migrate the template once: every test's copy then starts migrated."""
        self.admin.execute(f"CREATE DATABASE {self.template}")

        async def migrate() -> None:
            db = await Database.open(self.admin.server.url(self.template))
            await db.close()

        self.admin.run(migrate())

    def create(self, *, migrated: bool = True) -> str:
        """A new empty database, migrated unless told (``template0``: not even a schema); its URL.
        Names start ``test_`` (tests rely on that)."""
        name = f"test_{self._tag}_{next(self._names)}"
        self.admin.execute(f"CREATE DATABASE {name} TEMPLATE {self.template if migrated else 'template0'}")
        self._made.add(name)
        return self.admin.server.url(name)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        # FORCE: a test that failed half-way may have left a pool or a bot process connected.
        self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._made.discard(name)

    def close(self) -> None:
        for name in sorted(self._made):
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.execute(f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)")
        self._made.clear()


class TestDatabases:
    """One test's databases by the path it named them with (see the module doc)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, databases: Databases) -> None:
        self._databases = databases
        self._by_path: dict[Path, str] = {}

    def url_for(self, path: Path, *, migrated: bool = True) -> str:
        """The database ``path`` stands for, made on first use: migrated (a copy of the template,
        which is what opening a new file and migrating it gives), or empty, as a new file opened
        with ``migrate=False`` is."""
        key = Path(os.path.abspath(path))
        if key not in self._by_path:
            self._by_path[key] = self._databases.create(migrated=migrated)
        return self._by_path[key]

    def drop_all(self) -> None:
        for url in self._by_path.values():
            self._databases.drop(url)
        self._by_path.clear()


# The session's databases and the running test's, set by the fixtures in ``tests/conftest.py``.
session: Databases | None = None
current: TestDatabases | None = None


def database_for(path: Path, *, migrated: bool = True) -> Path | str:
    """What a test opens for ``path``: the SQLite file itself, or (under PostgreSQL) the URL of the
    fresh database this test's ``path`` stands for — the same one each time the test asks. The
    first ask makes it: ``migrated=False`` leaves it empty (a new file opened unmigrated)."""
    if not POSTGRES:
        return path
    if current is None:
        raise RuntimeError("database_for() under PostgreSQL is for a running test (tests/conftest.py)")
    return current.url_for(path, migrated=migrated)


async def open_database(path: Path, **options: Any) -> Database:
    """``Database.open`` on what ``path`` stands for. Saved videos go beside ``path`` on both backends
    (a PostgreSQL database would otherwise keep them in ``./data`` of the working directory)."""
    target = database_for(path, migrated=options.get("migrate", True))
    if is_url(target):
        options.setdefault("folder", path.parent)
    return await Database.open(target, **options)


def database_env(path: Path, *, migrated: bool = True) -> dict[str, str]:
    """The bot's settings for the database ``path`` stands for: ``DATABASE_PATH`` always (the videos'
    folder, the instance lock's file), and ``DATABASE_URL`` too under PostgreSQL (which wins)."""
    env = {"DATABASE_PATH": str(path)}
    target = database_for(path, migrated=migrated)
    if is_url(target):
        env["DATABASE_URL"] = str(target)
    return env


def query(target: Path | str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """Rows (``row["name"]`` and ``row[0]`` both work) read beside a running bot, from a plain
    connection of the test's own: a read-only ``sqlite3`` one on a file (WAL lets it in beside the
    bot's), or one asyncpg connection on a URL. SQL in the repositories' dialect: ``$1`` parameters.

    Synchronous, so a polling check (``until(lambda: …)``) can call it; on PostgreSQL it runs on the
    admin thread's loop, whatever loop the caller is in.
    """
    if is_url(target):
        return _admin().run(_pg_fetch(str(target), sql, tuple(params)))
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sqlite_sql(sql), tuple(params)).fetchall()
    finally:
        conn.close()


def execute(target: Path | str, sql: str, params: Sequence[Any] = ()) -> int:
    """One write from a connection of the test's own (autocommit); how many rows it changed."""
    if is_url(target):
        return _admin().run(_pg_execute(str(target), sql, tuple(params)))
    conn = sqlite3.connect(target, isolation_level=None, timeout=5)
    try:
        return conn.execute(sqlite_sql(sql), tuple(params)).rowcount
    finally:
        conn.close()


def columns(target: Path | str) -> list[tuple[str, str, str]]:
    """Every (table, column, type) of the schema, the type upper-case as the backend names it
    (``REAL`` on SQLite, ``DOUBLE PRECISION`` on PostgreSQL)."""
    if is_url(target):
        rows = query(
            target,
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
        )
        return [(str(r[0]), str(r[1]), str(r[2]).upper()) for r in rows]
    found: list[tuple[str, str, str]] = []
    tables = [r[0] for r in query(target, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for col in query(target, f"PRAGMA table_info({table})"):
            found.append((str(table), str(col[1]), str(col[2]).upper()))
    return found


def _admin() -> Admin:
    if session is None:
        raise RuntimeError("no PostgreSQL session: is SORACORD_TEST_BACKEND=postgres set?")
    return session.admin


async def _pg_fetch(url: str, sql: str, params: tuple[Any, ...]) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *params))
    finally:
        await conn.close()


async def _pg_execute(url: str, sql: str, params: tuple[Any, ...]) -> int:
    conn = await asyncpg.connect(url)
    try:
        status = str(await conn.execute(sql, *params))
    finally:
        await conn.close()
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
