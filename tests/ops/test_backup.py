"""``python -m bot backup``: a consistent copy while the bot writes, never over an existing file."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bot.ops.backup import BackupError, backup
from storage import jobs, ledger
from storage.db import Database, _migrations
from tests.ops.conftest import Install

pytestmark = pytest.mark.sqlite_only("backup copies the SQLite file (PostgreSQL is pg_dump's)")


async def _writer(db: Database, stop: asyncio.Event, rounds: int = 2000) -> int:
    """What a busy bot does: grant, queue a job with its hold, settle it — one transaction each."""
    done = 0
    for i in range(rounds):
        if stop.is_set():
            break
        guild, user = 1 + i % 3, 10 + i % 7
        async with db.transaction() as tx:
            await ledger.grant(tx, guild, user, 5, actor_id=None, reason="top-up")
            job_id = await jobs.insert(
                tx,
                guild_id=guild,
                channel_id=100,
                user_id=user,
                profile="alpha",
                kind="text",
                model="sora2",
                duration=10,
                request_json="{}",
                cost=3,
            )
            await ledger.hold(tx, guild, user, job_id, 3)
        if i % 2:
            async with db.transaction() as tx:
                await ledger.capture(tx, job_id)
        done += 1
        await asyncio.sleep(0)
    return done


async def test_backup_while_writing_is_consistent(install: Install, tmp_path: Path) -> None:
    db = await Database.open(install.db_path)
    stop = asyncio.Event()
    try:
        writer = asyncio.create_task(_writer(db, stop))
        await asyncio.sleep(0.05)  # let it get going
        copies = []
        for n in range(3):
            assert not writer.done(), "the writer should still be writing while the copy is taken"
            copies.append(await backup(install.db_path, tmp_path / f"copy{n}.db"))
            await asyncio.sleep(0.01)
        stop.set()
        written = await asyncio.wait_for(writer, timeout=30)
    finally:
        stop.set()
        await db.close()
    assert written > 0
    latest = len(_migrations())
    for result in copies:
        assert result.schema_version == latest
        assert result.size == result.path.stat().st_size > 0
        assert not list(result.path.parent.glob(f".{result.path.name}.*"))  # no temporary left behind
        copy = await Database.open(result.path, migrate=False)
        try:
            assert await copy.schema_version() == latest
            assert await ledger.invariant_violations(copy) == []
            row = await copy.fetchone("SELECT COUNT(*) AS n FROM ledger_entries")
            assert row is not None
        finally:
            await copy.close()


async def test_backup_refuses_to_overwrite_unless_forced(install: Install, tmp_path: Path) -> None:
    dest = tmp_path / "b.db"
    dest.write_bytes(b"precious")
    with pytest.raises(BackupError, match="--force"):
        await backup(install.db_path, dest)
    assert dest.read_bytes() == b"precious"
    result = await backup(install.db_path, dest, force=True)
    assert result.schema_version == len(_migrations())
    assert dest.read_bytes()[:16] == b"SQLite format 3\x00"


async def test_backup_of_a_missing_database_says_so(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="DATABASE_PATH"):
        await backup(tmp_path / "none.db", tmp_path / "b.db")
    assert not (tmp_path / "b.db").exists()


def test_cli_backup_prints_size_and_version(install: Install) -> None:
    from tests.ops.test_doctor import _cli

    dest = install.root / "backups" / "nightly.db"
    done = _cli(install, "backup", str(dest))
    assert done.returncode == 0, done.stderr
    assert "bytes" in done.stdout and f"schema version {len(_migrations())}" in done.stdout
    done = _cli(install, "backup", str(dest))
    assert done.returncode == 1 and "--force" in done.stderr
    with contextlib.suppress(FileNotFoundError):
        assert _cli(install, "backup", "--force", str(dest)).returncode == 0
