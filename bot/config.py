"""Settings: read once from the environment (and ``.env``) in ``bot/__main__.py``, then passed down.

Nothing reads the environment at import time. A missing or invalid setting becomes one plain line
naming the setting and what is allowed (``SettingsError``), never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

README_SECTION = 'README.md, section "Configuration"'


class SettingsError(Exception):
    """A setting is missing or invalid; the message is safe to print as it is."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr = Field(description="The bot token from the Discord developer portal.")
    database_path: Path = Field(Path("./data/soracord.db"), description="SQLite file, created on first run.")
    database_url: str | None = Field(
        None,
        description="A postgresql:// URL: keep everything in PostgreSQL instead of DATABASE_PATH (for "
        "several processes on one database); empty = SQLite at DATABASE_PATH.",
    )
    dev_guild_id: int | None = Field(
        None, gt=0, description="Sync commands to this server only, instantly (development)."
    )
    providers_file: Path = Field(Path("./providers.toml"), description="TOML file of provider profiles.")
    default_profile: str | None = Field(None, description="Profile used when a command names none.")
    welcome_credits: int = Field(
        20, ge=0, le=1_000_000, description="Credits a member receives once, the first time they generate."
    )
    confirm_above: int = Field(
        50,
        ge=0,
        le=1_000_000,
        description="A job that costs more credits asks its member to confirm first, in servers that set "
        "no threshold of their own (/settings limits); 0 = never ask.",
    )
    progress_edit_interval: float = Field(
        3.0, ge=0.0, le=60.0, description="Seconds between two edits of one progress message."
    )
    shutdown_grace: float = Field(
        60.0,
        ge=0.0,
        le=600.0,
        description="Seconds a stopping bot waits for creates in flight to come back, so their videos "
        "are not refunded while the vendor bills them (compose's stop_grace_period must be longer).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["plain", "json"] = Field(
        "plain", description="`plain` lines for people, `json` lines for a log collector."
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="Serve Prometheus metrics on this port; empty = off."
    )
    metrics_host: str = Field(
        "127.0.0.1", min_length=1, description="Address the metrics endpoint listens on."
    )
    video_retention_days: float = Field(
        7.0,
        ge=0.0,
        le=3650.0,
        description="Days the videos kept beside the database (videos/: saved, downloaded, re-encoded, "
        "posters) stay before they are deleted; 0 = at the next hourly sweep once they are posted.",
    )
    shard_count: int | None = Field(
        None,
        ge=1,
        le=4096,
        description="How many gateway shards the bot has in all, across its `run` processes; empty = "
        "one process connects every shard Discord recommends.",
    )
    shard_ids: str | None = Field(
        None,
        description="The shards this `run` process connects, as `0,1` (each below SHARD_COUNT); empty = all.",
    )
    lease_seconds: float = Field(
        10.0,
        ge=1.0,
        le=600.0,
        description="How long a process's hold on its jobs lasts unrenewed: on PostgreSQL, the jobs of a "
        "process that died are driven by another this long after.",
    )
    fetch_allow_private: bool = Field(
        False,
        description="Let the bot fetch links on private, loopback and link-local addresses "
        "(members' images, vendors' videos). For development and tests only; never in production.",
    )

    @field_validator("discord_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty")
        return value

    @field_validator(
        "dev_guild_id",
        "default_profile",
        "metrics_port",
        "database_url",
        "shard_count",
        "shard_ids",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (SQLite takes DATABASE_PATH instead)")
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shard_list(cls, value: str | None) -> str | None:
        if value is not None:
            parts = [p.strip() for p in value.split(",")]
            if not parts or not all(p.isdigit() for p in parts) or len(set(parts)) != len(parts):
                raise ValueError("must be distinct shard numbers separated by commas, such as 0,1")
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("SHARD_IDS needs SHARD_COUNT (how many shards there are in all)")
            too_big = [i for i in self.shards or () if i >= self.shard_count]
            if too_big:
                raise ValueError(f"SHARD_IDS names shard {too_big[0]}, but SHARD_COUNT is {self.shard_count}")
        return self

    @property
    def shards(self) -> list[int] | None:
        """The shards this process connects (None: all of them, ``shard_count`` or Discord's count)."""
        if self.shard_ids is None:
            return None if self.shard_count is None else list(range(self.shard_count))
        return sorted(int(p) for p in self.shard_ids.split(","))

    @property
    def database(self) -> Path | str:
        """What ``Database.open`` takes: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url if self.database_url is not None else self.database_path


NO_TOKEN = "not-needed"  # stands in for DISCORD_TOKEN in commands that never talk to Discord


def load_settings(
    env: Mapping[str, str] | None = None, env_file: Path | None = Path(".env"), *, need_token: bool = True
) -> Settings:
    """Build the settings or raise ``SettingsError`` with one line a person can act on.

    ``need_token=False`` (e.g. ``generate``) accepts a missing token; nothing may use it then.
    """
    try:
        if env is not None:
            values = {k.lower(): v for k, v in env.items()}
            if not need_token:
                values.setdefault("discord_token", NO_TOKEN)
            return Settings.model_validate(values)
        try:
            return Settings(_env_file=env_file)
        except ValidationError as exc:
            missing_token = any(
                e["loc"] == ("discord_token",) and e["type"] == "missing" for e in exc.errors()
            )
            if need_token or not missing_token:
                raise
            return Settings(_env_file=env_file, discord_token=SecretStr(NO_TOKEN))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        if name == "DISCORD_TOKEN" and first["type"] == "missing":
            raise SettingsError(
                f"DISCORD_TOKEN is not set: put the bot token in .env (see {README_SECTION})."
            ) from None
        field = Settings.model_fields.get(name.lower())
        hint = f" — {field.description}" if field is not None and field.description else "."
        raise SettingsError(f"{name} is invalid: {first['msg']}{hint} See {README_SECTION}.") from None
