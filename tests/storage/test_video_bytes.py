"""Saved video bytes where every process sharing the database can read them, until delivered.

On PostgreSQL a job's result may be posted by another process, on another machine, after a takeover:
the file the first process saved is not there, so the bytes go into ``video_bytes`` too (up to a cap)
and delivery rebuilds the file from them. On SQLite one process does everything: the table stays
empty. The repository itself behaves the same on both backends (the conformance ``db`` fixture).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import videos
from bot.retention import Retention
from storage import jobs, posts, video_bytes
from storage.db import Database
from tests.storage.conftest import insert_job

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64  # NUL bytes included


async def _read(path: str | Path) -> bytes:
    return await asyncio.to_thread(Path(path).read_bytes)


async def _unlink(path: str | Path) -> None:
    await asyncio.to_thread(Path(path).unlink)


async def _job(db: Database, **fields: Any) -> int:
    async with db.transaction() as tx:
        job_id = await insert_job(tx, guild_id=1, user_id=2, cost=1)
    if fields:
        await jobs.update(db, job_id, **fields)
    return job_id


# ---- the repository, on both backends ---------------------------------------------------------------


async def test_put_get_drop(db: Database) -> None:
    job_id = await _job(db)
    assert await video_bytes.get(db, job_id) is None
    await video_bytes.put(db, job_id, VIDEO, now=1.0)
    await video_bytes.put(db, job_id, VIDEO, now=2.0)  # a retried save writes the row again
    assert await video_bytes.get(db, job_id) == VIDEO
    row = await db.fetchone("SELECT size, created_at FROM video_bytes WHERE job_id = $1", (job_id,))
    assert row is not None and (int(row["size"]), float(row["created_at"])) == (len(VIDEO), 2.0)
    assert await video_bytes.drop(db, job_id) is True
    assert await video_bytes.drop(db, job_id) is False
    assert await video_bytes.get(db, job_id) is None


async def test_sweep_drops_what_was_delivered_and_keeps_what_waits(db: Database) -> None:
    now = time.time()
    done = await _job(db, state="succeeded", message_id=10, delivered_at=now)
    unsent = await _job(db, state="succeeded", message_id=11)  # the result is not out yet
    gallery = await _job(db, state="succeeded", message_id=12, delivered_at=now)
    await posts.plan(db, gallery, posts.GALLERY, 99, nonce=f"g{gallery}-test", now=now)
    cardless = await _job(db, state="succeeded")  # no card: delivered_at is never set
    for job_id in (done, unsent, gallery, cardless):
        await video_bytes.put(db, job_id, VIDEO, now=now - 10)

    assert await video_bytes.sweep(db, before=now - 100) == 1
    assert await video_bytes.get(db, done) is None
    assert all([await video_bytes.get(db, j) == VIDEO for j in (unsent, gallery, cardless)])

    await posts.mark_sent(db, gallery, posts.GALLERY, 5, now=now)  # posted: its bytes may go now
    assert await video_bytes.sweep(db, before=now - 100) == 1
    assert await video_bytes.sweep(db, before=now) == 1  # the card-less one, past the retention
    assert await video_bytes.get(db, unsent) == VIDEO


# ---- two processes on one PostgreSQL database ---------------------------------------------------


@pytest.fixture
async def pair(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Process A and process B: one database, each its own folder (its own machine's disk)."""
    a = await Database.open(pg_url, folder=tmp_path / "a")
    b = await Database.open(pg_url, folder=tmp_path / "b")
    try:
        assert a.shared and b.shared
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_another_process_delivers_bytes_it_never_saw(pair: tuple[Database, Database]) -> None:
    a, b = pair
    job_id = await _job(a)
    saved = await videos.save(a, job_id, VIDEO)
    await jobs.update(a, job_id, state="succeeded", message_id=10, video_path=saved)
    assert await _read(saved) == VIDEO
    await _unlink(saved)  # A's machine is gone; B never had the file

    job = await jobs.get(b, job_id)
    assert job is not None and job.video_path == saved
    local = await videos.local_copy(b, job_id, job.video_path)
    assert local == videos.source_path(await videos.folder(b), job_id) and await _read(local) == VIDEO
    left = await asyncio.to_thread(lambda: [p.name for p in local.parent.iterdir()])
    assert left == [local.name]  # no partial file left behind
    assert await videos.local_copy(b, job_id, job.video_path) == local  # rebuilt once, then reused

    await jobs.update(b, job_id, delivered_at=time.time())
    await Retention(b, days=7).sweep()
    assert await video_bytes.get(a, job_id) is None  # delivered: the row is gone


async def test_the_file_on_disk_is_used_first(pair: tuple[Database, Database]) -> None:
    a, _ = pair
    job_id = await _job(a)
    saved = await videos.save(a, job_id, VIDEO)
    assert await videos.local_copy(a, job_id, saved) == Path(saved)


async def test_bytes_over_the_cap_stay_file_only(
    pair: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = pair
    monkeypatch.setattr(videos, "MAX_SHARED_BYTES", len(VIDEO) - 1)
    job_id = await _job(a)
    saved = await videos.save(a, job_id, VIDEO)
    assert await _read(saved) == VIDEO
    assert await video_bytes.get(a, job_id) is None
    assert sum("kept in the database" in r.getMessage() for r in caplog.records) == 1
    await _unlink(saved)  # as on B's machine
    local = await videos.local_copy(b, job_id, saved)
    # Nowhere, on disk or in the database: delivery says the video cannot be shown, as before.
    assert local == Path(saved) and not await asyncio.to_thread(local.exists)


# ---- SQLite: one process, nothing in the database ----------------------------------------------------


async def test_sqlite_keeps_no_bytes(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.db")
    try:
        assert not db.shared
        job_id = await _job(db)
        saved = await videos.save(db, job_id, VIDEO)
        assert await _read(saved) == VIDEO
        assert await db.fetchone("SELECT job_id FROM video_bytes") is None
        assert await videos.local_copy(db, job_id, saved) == Path(saved)
    finally:
        await db.close()
