"""Provider profiles: the operator's TOML file of configured vendor accounts.

A profile names one vendor protocol (``kind``), where it lives, the keys to use and the limits and
timings to respect. Keys are normally given as environment variable names so the file itself holds
no secret. A bad file fails start-up with the file, the profile and the field named.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Container, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bot.providers.base import ApiKey


class ProfileError(Exception):
    """The profiles file cannot be used; the message names file, profile and field."""


T = TypeVar("T", str, int)


def narrowed(
    profile: str,
    field: str,
    chosen: tuple[T, ...] | None,
    default: tuple[T, ...],
    *,
    offer: str,
    offered: Container[T] | None = None,
) -> tuple[T, ...]:
    """A profile's ``models``/``durations`` (``default`` when unset), checked against the vendor's offer.

    Every entry must be in ``offered`` (``default`` unless given) and the list must not be empty;
    otherwise ``ProfileError`` names the field, says what the vendor ``offer``s and what was wrong.
    """
    picked = default if chosen is None else chosen
    allowed = default if offered is None else offered
    unknown = [v for v in picked if v not in allowed]
    if unknown or not picked:
        raise ProfileError(
            f"profile `{profile}`: field `{field}`: {offer}"
            + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "; the list is empty")
        )
    return tuple(picked)


class Timing(BaseModel):
    """Polling hints (seconds). The defaults are nanophoto's own cadence (docs/vendors.md, "nanophoto:
    common rules", A9); a profile sets its vendor's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expected: float = Field(180.0, gt=0)  # typical generation time before the bot has history
    first_poll: float = Field(60.0, gt=0)  # never poll earlier than this
    poll_interval: float = Field(15.0, gt=0)
    timeout: float = Field(1200.0, gt=0)
    backoff_max: float = Field(120.0, gt=0)
    rate_limit_cooldown: float = Field(60.0, gt=0)  # pause a key this long after a 429


class ProviderProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: str
    base_url: str
    keys: tuple[ApiKey, ...] = Field(min_length=1)
    requests_per_hour: int | None = Field(None, gt=0)
    max_concurrent: int | None = Field(None, gt=0)
    timing: Timing = Timing()
    models: tuple[str, ...] | None = None  # restricts the vendor's models/tiers
    durations: tuple[int, ...] | None = None  # restricts the vendor's durations
    # Per model, where a vendor lets one profile's models differ (OpenAI-compatible resellers).
    model_durations: dict[str, tuple[int, ...]] = Field(default_factory=dict)
    model_sizes: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # e.g. "720x1280" (resellers)
    retired: tuple[str, ...] = ()  # models the vendor no longer serves: kept for old jobs, never offered
    # Credits by price point ("model:duration[:resolution][:audio]", see PricePoint.key).
    prices: dict[str, int] = Field(default_factory=dict)
    request_timeout: float = Field(60.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


def _keys_from(raw: Mapping[str, object], env: Mapping[str, str], where: str) -> list[ApiKey]:
    keys: list[ApiKey] = []
    env_names = raw.get("key_env", [])
    if isinstance(env_names, str):
        env_names = [env_names]
    if not isinstance(env_names, list):
        raise ProfileError(f"{where}: `key_env` must be a list of environment variable names")
    for var in env_names:
        value = env.get(str(var), "")
        if not value:
            raise ProfileError(f"{where}: `key_env` names {var}, which is not set in the environment")
        keys.append(ApiKey(name=str(var), secret=SecretStr(value)))
    return keys


def load_profiles(path: Path, env: Mapping[str, str] | None = None) -> dict[str, ProviderProfile]:
    """Read and check every profile in ``path``; raise ``ProfileError`` naming what is wrong."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: file not found (set PROVIDERS_FILE)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML ({exc})") from None
    section = data.get("profiles")
    if not isinstance(section, dict) or not section:
        raise ProfileError(f"{path}: no [profiles.<name>] tables found")
    profiles: dict[str, ProviderProfile] = {}
    for name, raw in section.items():
        where = f"{path}: profile `{name}`"
        if not isinstance(raw, dict):
            raise ProfileError(f"{where}: must be a table")
        fields = {k: v for k, v in raw.items() if k != "key_env"}
        fields["keys"] = _keys_from(raw, env, where)
        try:
            profiles[name] = ProviderProfile(name=name, **fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(profile)"
            raise ProfileError(f"{where}: field `{loc}`: {first['msg']}") from None
    return profiles
