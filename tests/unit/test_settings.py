"""Settings and the command line: a person starting the bot gets one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from storage.db import latest_version

ROOT = Path(__file__).resolve().parents[2]


def run_bot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "PROVIDERS_FILE"}}
    clean.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_no_token_exits_2_naming_the_setting_and_the_readme(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DISCORD_TOKEN" in lines[0]
    assert "README.md" in lines[0] and "Configuration" in lines[0]
    assert "Traceback" not in result.stderr


def test_invalid_setting_names_it_and_what_is_allowed(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {"DISCORD_TOKEN": "x.y.z", "LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    assert "LOG_LEVEL" in result.stderr and "'DEBUG'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_profiles_file_is_named(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {"DISCORD_TOKEN": "x.y.z", "PROVIDERS_FILE": "nope.toml"})
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "PROVIDERS_FILE" in result.stderr
    assert "Traceback" not in result.stderr
    assert "x.y.z" not in result.stderr


def test_migrate_creates_the_database_with_its_folder(tmp_path: Path) -> None:
    result = run_bot(tmp_path, {"DISCORD_TOKEN": "x.y.z", "DATABASE_PATH": "deep/dir/s.db"}, "migrate")
    assert result.returncode == 0, result.stderr
    assert f"schema version {latest_version()}" in result.stdout
    assert (tmp_path / "deep/dir/s.db").exists()
    again = run_bot(tmp_path, {"DISCORD_TOKEN": "x.y.z", "DATABASE_PATH": "deep/dir/s.db"}, "migrate")
    assert "up to date" in again.stdout


def test_defaults_and_blank_optionals() -> None:
    settings = load_settings({"DISCORD_TOKEN": "t", "DEV_GUILD_ID": "", "DEFAULT_PROFILE": ""})
    assert settings.database_path == Path("data/soracord.db")
    assert settings.dev_guild_id is None and settings.default_profile is None
    assert settings.welcome_credits == 20
    assert settings.confirm_above == 50  # a job over 50 credits asks its member first


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DISCORD_TOKEN": "  "}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "t", "DEV_GUILD_ID": "abc"}, "DEV_GUILD_ID"),
        ({"DISCORD_TOKEN": "t", "WELCOME_CREDITS": "-1"}, "WELCOME_CREDITS"),
        ({"DISCORD_TOKEN": "t", "CONFIRM_ABOVE": "-5"}, "CONFIRM_ABOVE"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert str(info.value).startswith(named)


def test_token_never_printed() -> None:
    settings = load_settings({"DISCORD_TOKEN": "super-secret-token"})
    assert "super-secret-token" not in repr(settings)
    assert "super-secret-token" not in str(settings.model_dump())
