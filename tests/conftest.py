"""Fixtures every suite may use: the backend under test, and fresh PostgreSQL databases.

Which backend the suite runs on is one setting (``tests.backend``: ``SORACORD_TEST_BACKEND=postgres``
for a throwaway cluster, or ``SORACORD_TEST_DATABASE_URL`` for a server of your own); unset, it is
SQLite, the quick default. Tests open their databases through ``tests.backend.open_database`` /
``database_for``, so the same test runs on either.

PostgreSQL is reached only when a test needs it: the session then starts the cluster once
(``tests.pg_cluster``, about a second) or connects to the given server, and migrates a template that
every test's database is copied from (``CREATE DATABASE … TEMPLATE``, ~30 ms), dropped afterwards.
Without PostgreSQL on the machine those tests are skipped and say why — except under CI (``CI``
set), where a missing server is a failure: CI must run both backends.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests import backend
from tests.backend import Admin, Databases, ExternalServer, Server, TestDatabases
from tests.backend import database_for as database_for  # the e2e suites import it from here
from tests.pg_cluster import cluster, why_not

SQLITE_ONLY = "sqlite_only"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SQLITE_ONLY}(reason): the test can only mean SQLite (its file, lock, WAL or errors); "
        "skipped with the reason when the suite runs on PostgreSQL",
    )


def pytest_report_header(config: pytest.Config) -> str:
    if not backend.POSTGRES:
        where = "files in tmp_path"
    else:  # never the URL itself: it may hold a password
        where = "SORACORD_TEST_DATABASE_URL's server" if backend.SERVER_URL else "a throwaway cluster"
    return f"database backend: {backend.BACKEND} ({where})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under PostgreSQL, skip what can only mean SQLite, saying why (it ran in the SQLite run)."""
    if not backend.POSTGRES:
        return
    for item in items:
        mark = item.get_closest_marker(SQLITE_ONLY)
        if mark is not None:
            reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Databases]:
    """The session's PostgreSQL: the given server, or a cluster started for it (skipped, or failed
    under CI, when none can start). Stopped, and every database made dropped, at the end."""
    with contextlib.ExitStack() as stack:
        server: Server
        if backend.SERVER_URL is not None:
            server, root = ExternalServer(backend.SERVER_URL), backend.SERVER_URL
        else:
            reason = why_not()
            if reason is not None:
                if os.environ.get("CI"):
                    pytest.fail(f"CI runs the PostgreSQL tests, but: {reason}")
                pytest.skip(reason)
            pg = stack.enter_context(cluster())
            server, root = pg, pg.url()
        admin = Admin(server, root)
        stack.callback(admin.close)
        databases = Databases(admin)
        stack.callback(databases.close)
        databases.make_template()
        backend.session = databases
        stack.callback(setattr, backend, "session", None)
        yield databases


@pytest.fixture
def pg_url(pg_databases: Databases) -> Iterator[str]:
    """The URL of a new, migrated, empty database for this test alone (dropped after it).

    Synchronous (the admin thread's loop does the work), so an async fixture may depend on it.
    """
    url = pg_databases.create()
    try:
        yield url
    finally:
        pg_databases.drop(url)


@pytest.fixture(autouse=True)
def _backend_under_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under PostgreSQL, the databases this test names by path (``database_for``), dropped after it."""
    if not backend.POSTGRES:
        yield
        return
    databases: Databases = request.getfixturevalue("pg_databases")
    backend.current = TestDatabases(databases)
    try:
        yield
    finally:
        current, backend.current = backend.current, None
        current.drop_all()
