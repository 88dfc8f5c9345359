"""The streamed export: every entry once, in time order, formulas kept inert, gzip when it would not fit."""

from __future__ import annotations

import csv
import gzip
import io
import tempfile
from pathlib import Path

import pytest

from bot.engine import export
from bot.engine.credits import inert
from bot.errors import UserError
from storage import ledger
from storage.db import Database

GUILD, OTHER = 1, 9


async def grants(db: Database, n: int, guild: int = GUILD) -> None:
    async with db.transaction() as tx:
        for i in range(n):
            reason = "=SUM(A1)" if i == 3 else f"thanks {i}"
            await ledger.grant(tx, guild, 100 + i % 7, 1 + i % 5, actor_id=None, reason=reason)


async def test_pages_join_up_to_every_entry_once_in_order(db: Database) -> None:
    await grants(db, 250)
    await grants(db, 10, guild=OTHER)
    done = await export.write(db, GUILD, 0, 2e9, name="x.csv", upload_limit=1 << 20, inert=inert, page_rows=7)
    try:
        rows = list(csv.DictReader(io.StringIO(done.path.read_text(encoding="utf-8"))))
        assert (done.rows, done.compressed, done.filename) == (250, False, "x.csv")
        stored = await db.fetchall(
            "SELECT id FROM ledger_entries WHERE guild_id = $1 ORDER BY created_at, id", (GUILD,)
        )
        assert [int(r["id"]) for r in rows] == [r["id"] for r in stored]
        assert rows[3]["reason"] == "'=SUM(A1)"  # a formula is kept as text
        assert done.size == done.path.stat().st_size
    finally:
        done.discard()
    assert not done.path.exists()


async def test_too_big_for_the_upload_limit_is_gzipped(db: Database) -> None:
    await grants(db, 400)
    plain = await export.write(db, GUILD, 0, 2e9, name="x.csv", upload_limit=1 << 20, inert=inert)
    packed = await export.write(db, GUILD, 0, 2e9, name="x.csv", upload_limit=plain.size - 1, inert=inert)
    try:
        assert packed.compressed and packed.filename == "x.csv.gz" and packed.size < plain.size
        assert gzip.decompress(packed.path.read_bytes()) == plain.path.read_bytes()
    finally:
        plain.discard()
        packed.discard()


async def test_still_too_big_when_compressed_is_refused_and_leaves_no_file(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await grants(db, 50)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "exports"))
    (tmp_path / "exports").mkdir()
    with pytest.raises(UserError) as refused:
        await export.write(db, GUILD, 0, 2e9, name="x.csv", upload_limit=10, inert=inert)
    assert refused.value.key == "errors.export_too_large"
    assert list((tmp_path / "exports").iterdir()) == []


async def test_the_range_is_half_open(db: Database) -> None:
    await grants(db, 5)
    times = sorted(e.created_at for e in await ledger.entries(db, GUILD, 100))
    assert times
    done = await export.write(db, GUILD, times[0], times[0], name="x.csv", upload_limit=1 << 20, inert=inert)
    try:
        assert done.rows == 0
    finally:
        done.discard()
