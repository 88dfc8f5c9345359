"""The lock file beside the database: one holder at a time, named to whoever is refused, and the
report the holder publishes for ``doctor`` (through a memory map, readable while it runs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import instance
from bot.instance import AlreadyRunning, InstanceLock


def test_a_second_holder_is_refused_with_one_line_naming_the_first(tmp_path: Path) -> None:
    database = tmp_path / "data" / "bot.db"
    with InstanceLock.acquire(database, command="run"):
        assert instance.is_held(database)
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock.acquire(database, command="run", wait=0.1)
        message = str(refused.value)
        assert "\n" not in message
        assert f"pid {os.getpid()}" in message and str(database) in message and "`run`" in message
        assert "DATABASE_PATH" in message
    assert not instance.is_held(database)
    with InstanceLock.acquire(database, command="generate"):  # free again: the next one takes it
        holder = instance.read(database)
        assert holder is not None and holder.info["command"] == "generate"


def test_the_holder_publishes_what_doctor_reads_and_removes_it_again(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    lock = InstanceLock.acquire(database, command="run")
    try:
        assert instance.lock_path(database).stat().st_size == instance.PAGE  # allocated once, at start
        lock.publish(db_error="disk I/O error", db_errors=3)
        holder = instance.read(database)
        assert (
            holder is not None
            and holder.info["db_error"] == "disk I/O error"
            and holder.info["db_errors"] == 3
        )
        lock.publish(db_error=None, db_errors=None)
        holder = instance.read(database)
        assert holder is not None and "db_error" not in holder.info and holder.pid == os.getpid()
    finally:
        lock.release()
    holder = instance.read(database)
    assert holder is not None and "stopped_at" in holder.info  # what the last one was, for doctor


def test_no_lock_file_means_nobody_holds_it(tmp_path: Path) -> None:
    assert not instance.is_held(tmp_path / "none.db")
    assert instance.read(tmp_path / "none.db") is None
