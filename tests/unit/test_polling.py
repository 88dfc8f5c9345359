"""Poll timing: near the expected finish, extrapolated from a percentage, patient on a tight budget,
often when the budget has room to spare; and estimates that learn the vendor's time."""

from __future__ import annotations

from bot.engine.estimates import History, generation_seconds
from bot.engine.polling import Pace, first_delay, next_delay
from bot.providers.profiles import Timing

T = Timing(expected=120, first_poll=30, poll_interval=15)
KEY = ("nano", "text", "sora2", 10)
TIGHT, FREE = Pace(budgeted=True), Pace(budgeted=False)


def test_history_needs_a_few_samples_then_uses_them() -> None:
    h = History()
    assert h.typical(KEY, 120) == 120
    for s in (60, 90, 100, 110, 170):
        h.add(KEY, s)
    assert h.typical(KEY, 120) == 100
    assert h.slow(KEY, 120) == 170


def test_budgeted_first_poll_waits_for_the_slow_end() -> None:
    assert first_delay(T, typical=100, slow=170, pace=TIGHT) == 170
    assert first_delay(T, typical=100, slow=170, pace=FREE) == 30  # early, to read a percentage


def test_percentage_predicts_the_finish() -> None:
    # 40 s in and 25% done: about 120 s remain.
    assert abs(next_delay(T, 40, 300, 25, pace=FREE) - 120 * 1.03) < 1e-6


def test_without_percentage_wait_for_typical_then_tighter() -> None:
    assert next_delay(T, 30, 120, None, pace=FREE) == 90
    assert next_delay(T, 130, 120, None, pace=FREE) == 15
    assert next_delay(T, 130, 120, None, pace=TIGHT) == 30


def test_a_vague_percentage_looks_again_at_the_earliest_finish() -> None:
    # 40 s in and 4% done: done somewhere between 4% and 5%, so the finish is 800–1000 s away.
    # Aiming at the latest would be up to 20% late; looking at the earliest is never late.
    assert next_delay(T, 40, 300, 4, pace=FREE) == 40 * 95 / 5


def test_spare_budget_buys_a_look_every_interval_and_tight_falls_back_to_fewest() -> None:
    spare = Pace(budgeted=True, spare=6.0)  # the spare room could pay for a poll every 6 s
    assert first_delay(T, typical=100, slow=170, pace=spare) == 15  # never sooner than the interval
    assert next_delay(T, 30, 120, None, pace=spare) == 15
    assert next_delay(T, 30, 120, None, pace=TIGHT) == 90
    thin = Pace(budgeted=True, spare=50.0)  # spare room, but less of it: spaced out to last
    assert next_delay(T, 30, 120, None, pace=thin) == 50
    assert first_delay(T, typical=100, slow=40, pace=thin) == 40  # never later than the tight plan


def test_the_vendors_time_wins_else_the_middle_of_the_interval() -> None:
    assert generation_seconds(95.0, 1000.0, 1060.0, finished_seen=1180.0) == 95.0
    assert generation_seconds(None, 1000.0, 1060.0, finished_seen=1180.0) == 120.0  # (60 + 180) / 2
    assert generation_seconds(None, 1000.0, None, finished_seen=1180.0) == 90.0  # done by the first look
    assert generation_seconds(0.0, 1000.0, None, finished_seen=1010.0) == 5.0  # a 0 is no figure
    assert generation_seconds(None, None, None, finished_seen=1.0) is None


def test_estimates_go_down_as_well_as_up() -> None:
    h = History()
    for s in (200, 210, 190):
        h.add(KEY, s)
    assert h.typical(KEY, 120) == 200
    for s in (100, 95, 105, 98, 102, 99):  # the vendor got faster: the figures it reports say so
        h.add(KEY, s)
    assert h.typical(KEY, 120) == 102
