"""The videos kept beside the database: swept after ``VIDEO_RETENTION_DAYS`` unless a post still needs
them, and ``doctor`` says how much they take (and warns when the sweep does not keep up)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bot.ops.doctor import Status, check_database, run_checks
from bot.ops.doctor_videos import check_ffmpeg, check_videos
from bot.retention import DAY, Retention
from storage import jobs, posts
from storage.db import Database
from tests.backend import open_database
from tests.ops.conftest import Install
from tests.unit.conftest import insert_job


def _write(path: Path, size: int, age_days: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(size))
    when = time.time() - age_days * DAY
    os.utime(path, (when, when))


async def _job(db: Database, **fields: object) -> int:
    async with db.transaction() as tx:
        job_id = await insert_job(tx, guild_id=1, user_id=2, cost=1)
    await jobs.update(db, job_id, **fields)
    return job_id


async def test_old_videos_go_and_those_still_to_post_stay(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "bot.db")
    try:
        now = time.time()
        done = await _job(db, state="succeeded", message_id=10, delivered_at=now)
        unsent = await _job(db, state="succeeded", message_id=11)  # the result is not out yet
        gallery = await _job(db, state="succeeded", message_id=12, delivered_at=now)
        await posts.plan(db, gallery, posts.GALLERY, 99, nonce=f"g{gallery}-test", now=now)
        fresh = await _job(db, state="succeeded", message_id=13, delivered_at=now)
        folder = tmp_path / "videos"
        files = {
            "done": [folder / f"{done}.mp4", folder / f"{done}.fit.mp4", folder / f"{done}.jpg"],
            "unsent": [folder / f"{unsent}.mp4"],
            "gallery": [folder / f"{gallery}.fit.mp4"],
            "fresh": [folder / f"{fresh}.mp4"],
            "not ours": [folder / "notes.txt"],
        }
        for name, paths in files.items():
            for path in paths:
                await asyncio.to_thread(_write, path, 1000, 1.0 if name == "fresh" else 8.0)

        gone = await Retention(db, days=7).sweep()

        assert (gone.files, gone.bytes) == (3, 3000)
        left = {p.name for p in await asyncio.to_thread(lambda: list(folder.iterdir()))}
        assert left == {p.name for name, paths in files.items() if name != "done" for p in paths}
        await posts.mark_sent(db, gallery, posts.GALLERY, 5, now=now)  # posted: its files may go now
        assert (await Retention(db, days=7).sweep()).files == 1
        assert (await Retention(db, days=0).sweep()).files == 1  # 0 days: everything posted goes
    finally:
        await db.close()


async def test_doctor_reports_the_size_and_warns_when_the_sweep_lags(install: Install) -> None:
    folder = install.db_path.parent / "videos"
    for name, age in (("1.mp4", 0.5), ("1.jpg", 0.5), ("2.fit.mp4", 2.0)):
        await asyncio.to_thread(_write, folder / name, 3 * 1024 * 1024, age)
    results = await run_checks(install.settings, env=install.env, checks=[check_database, check_videos])
    (row,) = [r for r in results if r.check == "saved videos"]
    assert row.status is Status.OK
    assert "3 file(s), 9.0 MB" in row.detail and "VIDEO_RETENTION_DAYS" in row.detail

    install.values["VIDEO_RETENTION_DAYS"] = "0.5"
    results = await run_checks(install.settings, env=install.env, checks=[check_database, check_videos])
    (row,) = [r for r in results if r.check == "saved videos"]
    assert row.status is Status.WARN and "2.0 days old" in row.detail


async def test_doctor_names_the_ffmpeg_it_would_use(install: Install) -> None:
    (row,) = await run_checks(install.settings, env=install.env, checks=[check_ffmpeg])
    assert row.status is Status.OK and "ffmpeg" in row.detail
