"""Fixtures every suite may use: a throwaway PostgreSQL cluster, and a fresh database on it per test.

The cluster starts once per session (``tests.pg_cluster``) and only when a test asks for it; each
test gets a new database copied from a migrated template (``CREATE DATABASE … TEMPLATE``, ~30 ms),
dropped afterwards. Without PostgreSQL on the machine those tests are skipped and say why — except
under CI (``CI`` set), where a missing server is a failure: CI must run both backends.

``SORACORD_TEST_BACKEND=postgres`` runs the suites that open their database through
``database_for`` (the e2e stack) on PostgreSQL: each test's SQLite file becomes that test's fresh
PostgreSQL database. Unset (or ``sqlite``), everything stays on SQLite, the quick default.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from storage.db import Database
from tests.pg_cluster import Cluster, cluster, why_not

TEMPLATE = "soracord_template"
BACKEND = os.environ.get("SORACORD_TEST_BACKEND", "sqlite")
_names = itertools.count(1)
_test_url: str | None = None  # this test's PostgreSQL database under SORACORD_TEST_BACKEND=postgres
_test_path: Path | None = None  # the file it stands for (the test's first)


async def _make_template(pg: Cluster) -> None:
    admin = await asyncpg.connect(pg.url())
    try:
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    db = await Database.open(pg.url(TEMPLATE))  # migrated once; every test's copy starts migrated
    await db.close()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One PostgreSQL cluster for the session (skipped, or failed under CI, when none can start)."""
    reason = why_not()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the PostgreSQL tests, but: {reason}")
        pytest.skip(reason)
    with cluster() as pg:
        asyncio.run(_make_template(pg))
        yield pg


async def _admin(pg: Cluster, sql: str) -> None:
    admin = await asyncpg.connect(pg.url())
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a new, migrated, empty database for this test alone.

    Synchronous (its own short event loop), so an async fixture may depend on it.
    """
    name = f"test_{os.getpid()}_{next(_names)}"
    asyncio.run(_admin(pg_cluster, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    try:
        yield pg_cluster.url(name)
    finally:
        asyncio.run(_admin(pg_cluster, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(autouse=True)
def _backend_under_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under ``SORACORD_TEST_BACKEND=postgres``, give the test a PostgreSQL database of its own."""
    global _test_url, _test_path
    if BACKEND != "postgres":
        yield
        return
    _test_url = request.getfixturevalue("pg_url")
    try:
        yield
    finally:
        _test_url = _test_path = None


def database_for(path: Path) -> Path | str:
    """What a test opens for ``path``: the file itself, or this test's PostgreSQL database.

    The test's first file becomes the PostgreSQL database (reopened: the same one, as a restart
    would); any other file it opens stays an SQLite file, a fresh database as the test meant.
    """
    global _test_path
    if _test_url is None:
        return path
    if _test_path is None:
        _test_path = path
    return _test_url if path == _test_path else path
