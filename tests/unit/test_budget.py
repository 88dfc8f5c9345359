"""Key budgets: one per key value, a rolling hour like the vendor's, reservations that keep every
running job's polls payable, and a call log that outlives a restart."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from pydantic import SecretStr

from bot.engine.budget import Budgets, KeyPool
from bot.engine.key_budget import SETTLE, key_id
from bot.providers.base import ApiKey
from bot.providers.profiles import ProviderProfile, Timing
from storage.db import Database


class JumpClock:
    """Sleeping jumps the clock forward at once: one task, no real waiting."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


class StillClock(JumpClock):
    """Time stands still: only something happening on the key can wake a waiter."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


def keys(*names: str, secret: str | None = None) -> tuple[ApiKey, ...]:
    return tuple(ApiKey(name=n, secret=SecretStr(secret or f"secret-{n}")) for n in names)


def profile(
    name: str, keyset: tuple[ApiKey, ...], *, per_hour: int | None, slots: int | None = None
) -> ProviderProfile:
    return ProviderProfile(
        name=name,
        kind="nanophoto",
        base_url="http://vendor.invalid",
        keys=keyset,
        requests_per_hour=per_hour,
        max_concurrent=slots,
        timing=Timing(rate_limit_cooldown=60),
    )


def pool(
    clock: JumpClock, *names: str, per_hour: int | None, slots: int | None = None, healthy: bool = True
) -> KeyPool:
    """A pool over fresh budgets; ``healthy``: as if its keys had answered long enough without a
    fault that a poll is reserved one attempt (a new key is reserved two, see below)."""
    made = Budgets(clock).pool(profile("p", keys(*names), per_hour=per_hour, slots=slots))
    for name in names:
        made.budget(name).answers = SETTLE if healthy else 0
    return made


def jobs() -> Callable[[], int]:
    ids = itertools.count(1)
    return lambda: next(ids)


async def test_a_new_job_needs_room_for_its_create_and_its_reserved_polls() -> None:
    clock = JumpClock()
    p, take = pool(clock, "a", per_hour=9), jobs()
    started = [await p.acquire_task(take) for _ in range(3)]  # 3 × (create + 2 polls) = 9
    assert all(s is not None for s in started) and clock.t == 0
    assert p.calls_in_window("a") == 3
    # A fourth waits until the creates age out of the hour: the reserved polls keep their room.
    await p.acquire_task(take)
    assert clock.t == 3600.0


async def test_a_reserved_poll_always_finds_room_and_extra_polls_wait() -> None:
    clock = JumpClock()
    p = pool(clock, "a", per_hour=3)
    given = await p.acquire_task(lambda: 7)
    assert given is not None and given[0] == 7
    assert await p.spend(7, "a", deadline=1000) is not None  # the poll planned near the finish
    assert clock.t == 0
    # Only the deadline poll is left: an extra look would take its room, so it waits for the
    # deadline and is paid from the reservation there.
    assert await p.spend(7, "a", deadline=1000) is not None
    assert clock.t == 1000
    assert p.calls_in_window("a") == 3


async def test_waiting_for_budget_stops_at_the_deadline() -> None:
    clock = JumpClock()
    p = pool(clock, "a", per_hour=1)
    assert await p.spend(1, "a") is not None  # no reservation: free room
    assert await p.spend(1, "a", deadline=100.0) is None  # the next call could go only at t=3600
    assert clock.t == 100.0


async def test_polls_never_exceed_the_rolling_hour() -> None:
    clock = JumpClock()
    p = pool(clock, "a", per_hour=100)
    times = []
    for _ in range(250):
        await p.spend(1, "a")
        times.append(clock.t)
    for i, t in enumerate(times):  # no 3600-s window ever holds more than 100 calls
        assert sum(1 for u in times[: i + 1] if u > t - 3600) <= 100


async def test_profiles_on_one_key_value_share_one_budget_with_the_smallest_limit() -> None:
    clock = JumpClock()
    budgets = Budgets(clock)
    sora = budgets.pool(profile("sora", keys("np", secret="np-shared"), per_hour=100))
    tvc = budgets.pool(profile("tvc", keys("other-name", secret="np-shared"), per_hour=60))
    other = budgets.pool(profile("veo", keys("np2", secret="np-own"), per_hour=100))
    assert sora.budget("np") is tvc.budget("other-name") is not other.budget("np2")
    assert sora.budget("np").per_hour == 60
    await sora.spend(1, "np")
    await tvc.spend(2, "other-name")
    assert sora.calls_in_window("np") == tvc.calls_in_window("other-name") == 2
    kid = key_id(keys("np", secret="np-shared")[0])
    assert len(kid) == 16 and "np-shared" not in kid and sora.budget("np").id == kid


async def test_the_key_with_most_headroom_gets_the_job() -> None:
    clock = JumpClock()
    p = pool(clock, "a", "b", per_hour=100)
    for _ in range(30):
        await p.spend(1, "a")
    given = await p.acquire_task(lambda: 5)
    assert given is not None and given[1].name == "b"


async def test_a_429_pauses_only_that_key() -> None:
    clock = JumpClock()
    p = pool(clock, "a", "b", per_hour=None)
    p.cool_down("a")
    given = await p.acquire_task(lambda: 1)
    assert given is not None and given[1].name == "b"
    await p.spend(2, "a")
    assert clock.t == 60.0


async def test_task_slots_free_up_when_a_task_ends() -> None:
    clock = JumpClock()
    p, take = pool(clock, "a", per_hour=None, slots=1), jobs()
    first = await p.acquire_task(take)
    assert first is not None
    waiting = asyncio.create_task(p.acquire_task(take))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    p.release_task(first[0])
    given = await asyncio.wait_for(waiting, 1)
    assert given is not None and given[1].name == "a"


async def test_polls_waiting_for_room_go_before_new_jobs() -> None:
    clock = StillClock()
    p, take = pool(clock, "a", per_hour=6), jobs()
    a = await p.acquire_task(take)
    b = await p.acquire_task(take)
    assert a is not None and b is not None  # 2 creates, 4 polls reserved: the hour is spoken for
    await p.spend(a[0], "a", deadline=5000)  # job 1's planned poll; it is not done yet
    extra = asyncio.create_task(p.spend(a[0], "a", deadline=5000))  # a second look needs free room
    newcomer = asyncio.create_task(p.acquire_task(take))
    await asyncio.sleep(0.01)
    assert not extra.done() and not newcomer.done()
    p.release_task(b[0])  # job 2 ended at once: its two polls come back
    assert await asyncio.wait_for(extra, 1) is not None
    assert not newcomer.done()  # 1 room left: not enough for a create and two polls
    newcomer.cancel()


async def test_spare_room_is_offered_until_someone_waits() -> None:
    clock = JumpClock()
    p, take = pool(clock, "a", per_hour=100), jobs()
    given = [await p.acquire_task(take) for _ in range(3)]
    job = given[0]
    assert job is not None
    pace = p.pace(job[0], "a", remaining=180)
    # 100 − 3 creates − 6 reserved − 10 kept back = 81 spare for 3 jobs over 180 s: every 6.7 s.
    assert pace.budgeted and pace.spare is not None and abs(pace.spare - 180 * 3 / 81) < 1e-9
    assert pool(clock, "b", per_hour=None).pace(1, "b", 180).budgeted is False
    p.budget("a").waiting += 1  # a job waits in line for this key: every call counts again
    assert p.pace(job[0], "a", remaining=180).spare is None


async def test_the_call_log_survives_a_restart(db: Database) -> None:
    clock = JumpClock()
    clock.t = 10_000.0
    first = Budgets(clock, db).pool(profile("p", keys("a"), per_hour=100))
    for _ in range(7):
        await first.spend(1, "a")
    clock.t += 1800  # restarted half an hour later
    again = Budgets(clock, db)
    restarted = again.pool(profile("p", keys("a"), per_hour=100))
    await again.load()
    assert restarted.calls_in_window("a") == 7
    clock.t += 1801  # and an hour after the calls, they no longer count
    assert restarted.calls_in_window("a") == 0
    rows = await db.fetchall("SELECT key_id FROM key_calls")
    assert {r["key_id"] for r in rows} == {key_id(keys("a")[0])}  # the id, never the key


async def test_a_poll_is_reserved_the_attempts_the_key_takes() -> None:
    clock = JumpClock()
    p = pool(clock, "a", per_hour=100, healthy=False)
    budget = p.budget("a")
    assert budget.reserve() == 4  # a key not heard from yet: room for one retry of each poll
    for ok in [True] * SETTLE:
        budget.answered(ok)
    assert budget.reserve() == 2  # it answers every time: one attempt each
    for ok in [False, True] * 30:  # then every other call fails
        budget.answered(ok)
    assert budget.attempts() == 2 and budget.reserve() == 4
    given = await p.acquire_task(lambda: 9)
    assert given is not None and budget.claims[9] == 4 and budget.finals[9] == 2


def test_live_processes_split_a_keys_task_slots_to_exactly_its_limit() -> None:
    """Three processes on a key of 20 tasks at once start 7, 7 and 6 — 20 in all, not 3 × 6 — and
    each keeps at least one however many share a small key."""
    shares = []
    for rank in range(3):
        one = pool(JumpClock(), "k", per_hour=None, slots=20)
        one.share(3, rank)
        shares.append(one.task_slots())
    assert shares == [7, 7, 6] and sum(shares) == 20
    small = pool(JumpClock(), "k", per_hour=None, slots=2)
    small.share(5, 4)
    assert small.task_slots() == 1
    alone = pool(JumpClock(), "k", per_hour=None, slots=20)
    assert alone.task_slots() == 20 and pool(JumpClock(), "k", per_hour=None).task_slots() is None
