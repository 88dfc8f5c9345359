"""Fixtures for the operations tests: a healthy installation in ``tmp_path`` that a test can break.

``Install`` is what an operator would have: a settings object, a providers file whose keys come
from an environment mapping, and a migrated database — an SQLite file, or under PostgreSQL
(``tests.backend``) the test's database on the server, named by ``DATABASE_URL`` beside the path.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import bot.logs
from bot.config import Settings, load_settings
from tests.backend import database_env, open_database

BOT_USER_ID = "123456789012345678"
TOKEN = (
    base64.urlsafe_b64encode(BOT_USER_ID.encode()).decode().rstrip("=") + ".GxYzAb." + "s3cr3tHmacPart" * 3
)
KEY_ENV = "ALPHA_API_KEY"
KEY = "sk-alpha-very-secret-0123456789"

PROVIDERS_TOML = f"""
[profiles.alpha]
kind = "nanophoto"
base_url = "{{base_url}}"
key_env = ["{KEY_ENV}"]
"""


@dataclass
class Install:
    root: Path
    env: dict[str, str]
    values: dict[str, str]

    @property
    def settings(self) -> Settings:
        return load_settings(env=self.values)

    @property
    def db_path(self) -> Path:
        return Path(self.values["DATABASE_PATH"])

    @property
    def database(self) -> Path | str:
        """What the bot opens: ``DATABASE_URL`` when set (PostgreSQL), else the file."""
        return self.values.get("DATABASE_URL") or self.db_path

    def use_database(self, path: Path, *, migrated: bool = True) -> None:
        """Point the settings at the database ``path`` stands for (a new one on first use)."""
        self.values.pop("DATABASE_URL", None)
        self.values.update(database_env(path, migrated=migrated))

    @property
    def providers(self) -> Path:
        return Path(self.values["PROVIDERS_FILE"])

    def write_providers(self, base_url: str = "http://127.0.0.1:9") -> None:
        self.providers.write_text(PROVIDERS_TOML.format(base_url=base_url), encoding="utf-8")


@pytest.fixture
async def install(tmp_path: Path) -> Install:
    inst = Install(
        root=tmp_path,
        env={KEY_ENV: KEY},
        values={
            "DISCORD_TOKEN": TOKEN,
            "PROVIDERS_FILE": str(tmp_path / "providers.toml"),
        },
    )
    inst.use_database(tmp_path / "data" / "soracord.db")
    inst.write_providers()
    db = await open_database(inst.db_path)
    await db.close()
    return inst


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Undo ``configure_logging`` (root handlers, level, warnings capture) after a test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(False)
        bot.logs._installed = None
