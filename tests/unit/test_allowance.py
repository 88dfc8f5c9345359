"""Allowance periods: the key decides 'exactly once per period', so its edges matter."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.engine.allowance import period_key
from bot.engine.caps import start_of_day


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_week_keys_follow_iso_weeks_across_a_year_end() -> None:
    assert period_key("week", ts("2026-12-28T00:00:00")) == "2026-W53"
    assert period_key("week", ts("2027-01-03T23:59:59")) == "2026-W53"
    assert period_key("week", ts("2027-01-04T00:00:00")) == "2027-W01"


def test_month_keys_change_at_midnight_utc() -> None:
    assert period_key("month", ts("2026-11-30T23:59:59")) == "2026-11"
    assert period_key("month", ts("2026-12-01T00:00:00")) == "2026-12"


def test_daily_spend_resets_at_midnight_utc() -> None:
    assert start_of_day(ts("2026-11-21T19:45:00")) == ts("2026-11-21T00:00:00")
