"""The repository's shape, kept by a test so it stays true: small files, SQL only in storage, Discord
only in the cogs and the app, and nothing read from outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for part in ("bot", "cogs", "storage") for p in (ROOT / part).rglob("*.py"))
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")
DISCORD_IMPORT = re.compile(r"^\s*(import discord|from discord\b)", re.MULTILINE)


def test_the_sources_were_found() -> None:
    assert len(SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_source_file_is_over_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


def test_the_engine_holds_no_sql() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "bot" / "engine").rglob("*.py") if SQL.search(p.read_text())
    ]
    assert offenders == []


def test_only_the_cogs_and_the_app_import_discord() -> None:
    allowed = {ROOT / "bot" / "app.py"}
    offenders = [
        str(p.relative_to(ROOT))
        for p in SOURCES
        if p.parts[len(ROOT.parts)] != "cogs" and p not in allowed and DISCORD_IMPORT.search(p.read_text())
    ]
    assert offenders == []


def test_nothing_reads_files_beside_the_repository() -> None:
    sibling = "shared"  # the folder some checkouts have beside them; the repository must not need it
    outside = re.compile(rf"\.\./{sibling}|{sibling}/specs|PROVIDERS\.md|DESIGN\.md")
    checked = [*SOURCES, *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py"), ROOT / "Makefile"]
    offenders = [str(p.relative_to(ROOT)) for p in checked if outside.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
