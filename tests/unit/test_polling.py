"""Poll timing: near the expected finish, extrapolated from a percentage, patient on a budget."""

from __future__ import annotations

from bot.engine.estimates import History
from bot.engine.polling import first_delay, next_delay
from bot.providers.profiles import Timing

T = Timing(expected=120, first_poll=30, poll_interval=15)
KEY = ("nano", "text", "sora2", 10)


def test_history_needs_a_few_samples_then_uses_them() -> None:
    h = History()
    assert h.typical(KEY, 120) == 120
    for s in (60, 90, 100, 110, 170):
        h.add(KEY, s)
    assert h.typical(KEY, 120) == 100
    assert h.slow(KEY, 120) == 170


def test_budgeted_first_poll_waits_for_the_slow_end() -> None:
    assert first_delay(T, typical=100, slow=170, budgeted=True) == 170
    assert first_delay(T, typical=100, slow=170, budgeted=False) == 30  # early, to read a percentage


def test_percentage_predicts_the_finish() -> None:
    # 40 s in and 25% done: about 120 s remain.
    assert abs(next_delay(T, 40, 300, 25, budgeted=False) - 120 * 1.03) < 1e-6


def test_without_percentage_wait_for_typical_then_tighter() -> None:
    assert next_delay(T, 30, 120, None, budgeted=False) == 90
    assert next_delay(T, 130, 120, None, budgeted=False) == 15
    assert next_delay(T, 130, 120, None, budgeted=True) == 30


def test_a_vague_percentage_looks_again_at_the_earliest_finish() -> None:
    # 40 s in and 4% done: done somewhere between 4% and 5%, so the finish is 800–1000 s away.
    # Aiming at the latest would be up to 20% late; looking at the earliest is never late.
    assert next_delay(T, 40, 300, 4, budgeted=False) == 40 * 95 / 5
