"""What every ``doctor`` check shares: a result row, its status, and the context checks fill in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.config import Settings
from bot.providers.profiles import ProviderProfile
from storage.db import Database


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    detail: str


def ok(check: str, detail: str) -> CheckResult:
    return CheckResult(check, Status.OK, detail)


def warn(check: str, detail: str) -> CheckResult:
    return CheckResult(check, Status.WARN, detail)


def fail(check: str, detail: str) -> CheckResult:
    return CheckResult(check, Status.FAIL, detail)


@dataclass
class Context:
    """What the checks share. Earlier checks fill ``profiles`` and ``db`` for later ones."""

    settings: Settings
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    online: bool = False
    quick: bool = False
    profiles: dict[str, ProviderProfile] | None = None
    db: Database | None = None
    db_current: bool = False  # the database exists and its schema is the latest
