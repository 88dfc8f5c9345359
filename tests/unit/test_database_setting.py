"""One setting picks the backend: ``DATABASE_URL`` (PostgreSQL) when set, else ``DATABASE_PATH``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from bot.ops.doctor_pg import shown

TOKEN = {"DISCORD_TOKEN": "x.y.z"}


def test_sqlite_is_the_default() -> None:
    settings = load_settings({**TOKEN, "DATABASE_PATH": "d/s.db"})
    assert settings.database_url is None and settings.database == Path("d/s.db")
    assert load_settings({**TOKEN, "DATABASE_URL": ""}).database == Path("./data/soracord.db")


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/soracord", "postgres://db/soracord"])
def test_a_postgresql_url_wins(url: str) -> None:
    assert load_settings({**TOKEN, "DATABASE_URL": url, "DATABASE_PATH": "d/s.db"}).database == url


@pytest.mark.parametrize("url", ["sqlite:///data/s.db", "data/s.db", "mysql://db/x"])
def test_anything_else_is_refused_by_name(url: str) -> None:
    with pytest.raises(SettingsError, match=r"(?i)database_url"):
        load_settings({**TOKEN, "DATABASE_URL": url})


def test_the_password_is_never_shown() -> None:
    assert shown("postgresql://bot:hunter2@db:5432/x") == "postgresql://bot:***@db:5432/x"
    assert shown("postgresql://bot@db/x") == "postgresql://bot@db/x"
