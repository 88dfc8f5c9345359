"""Key budgets shared by processes: every call — every HTTP attempt, retries included — is booked in
the database's call log under the key's row lock before it goes out, so processes on one
PostgreSQL never take more than the key's hourly limit between them, and on SQLite the calls of a
previous process still count after a restart.

"Processes" here are separate ``Database`` objects (separate connection pools, as separate
processes have), each with budgets of its own, on one event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.engine.budget import Budgets, KeyPool
from bot.engine.key_budget import WINDOW, KeyBudget, SharedLog, key_id
from bot.net import Fetcher
from bot.providers.attempts import gated
from bot.providers.base import ApiKey
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.profiles import ProviderProfile, Timing
from storage.db import Database
from tests.fakes.nanophoto import STATUS_PATH, FakeNanophoto

SECRET = "np-shared-by-every-process"
T0 = 1_000_000.0
LIMIT = 100


class StillClock:
    """Time stands still at ``t``: a call either finds room now or gives up (``until=now``)."""

    def __init__(self, t: float = T0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


class JumpClock(StillClock):
    """Sleeping jumps the clock forward at once."""

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


class FastClock:
    """Wall time sped up: an hour takes ``hour`` real seconds. Shared by the "processes", as
    machines whose clocks agree."""

    def __init__(self, hour: float) -> None:
        self.scale = WINDOW / hour
        self.start = time.monotonic()

    def now(self) -> float:
        return T0 + (time.monotonic() - self.start) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)


class Counted:
    """A ``SharedLog`` that keeps what it was asked: the times booked, the trips to the database."""

    def __init__(self, inner: SharedLog) -> None:
        self.inner = inner
        self.booked: list[float] = []
        self.trips = 0

    async def reserve(self, kid: str, at: float, limit: int, *, held: int, free: bool) -> tuple[bool, int]:
        self.trips += 1
        booked, others = await self.inner.reserve(kid, at, limit, held=held, free=free)
        if booked:
            self.booked.append(at)
        return booked, others

    async def window(self, kid: str, start: float) -> list[float]:
        self.trips += 1
        return await self.inner.window(kid, start)


def profile(
    name: str, key_name: str, *, per_hour: int | None = LIMIT, secret: str = SECRET
) -> ProviderProfile:
    return ProviderProfile(
        name=name,
        kind="nanophoto",
        base_url="http://vendor.invalid",
        keys=(ApiKey(name=key_name, secret=SecretStr(secret)),),
        requests_per_hour=per_hour,
        timing=Timing(rate_limit_cooldown=60),
    )


def process(db: Database, clock: StillClock | FastClock, n: int, per_hour: int | None = LIMIT) -> KeyPool:
    """One process's pool for the shared key: its own profile and key names, the same key value."""
    return Budgets(clock, db).pool(profile(f"profile-{n}", f"key-{n}", per_hour=per_hour))


def counted(pool: KeyPool) -> Counted:
    budget = pool.budget(None)
    assert budget.shared is not None
    budget.shared = Counted(budget.shared)
    return budget.shared


def most_in_an_hour(times: list[float]) -> int:
    """The most calls any rolling hour holds (the busiest one ends at a call)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t - WINDOW < u <= t) for t in ordered), default=0)


async def logged(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) AS n FROM key_calls WHERE key_id = $1", (shared_id(),))
    assert row is not None
    return int(row["n"])


def shared_id() -> str:
    return key_id(ApiKey(name="any", secret=SecretStr(SECRET)))


@pytest.fixture
async def four(pg_url: str) -> AsyncIterator[list[Database]]:
    """Four processes on one PostgreSQL database."""
    dbs = [await Database.open(pg_url, migrate=False) for _ in range(4)]
    try:
        yield dbs
    finally:
        for db in dbs:
            await db.close()


async def test_four_processes_racing_for_one_key_get_its_limit_between_them(four: list[Database]) -> None:
    """150 calls each, all at once, nobody willing to wait: exactly the key's 100 go out."""
    clock = StillClock()
    pools = [process(db, clock, n) for n, db in enumerate(four)]

    async def call(pool: KeyPool, job: int) -> bool:
        return await pool.spend(job, None, until=clock.now()) is not None

    got = await asyncio.gather(*(call(p, job) for p in pools for job in range(150)))
    assert sum(got) == LIMIT
    assert await logged(four[0]) == LIMIT
    # Each process was refused by the log at least once, and its copy of the hour is the log's now.
    assert all(p.calls_in_window(None) == LIMIT for p in pools)


async def test_processes_that_wait_for_room_never_put_more_than_the_limit_in_any_hour(
    four: list[Database],
) -> None:
    """The same race, but every call waits for room, on clocks that move (an hour in 0.4 s): the
    calls go out hour after hour as the oldest age out, and no rolling hour ever holds more than
    100 of them, across all processes."""
    clock = FastClock(hour=0.4)
    pools = [process(db, clock, n) for n, db in enumerate(four)]
    logs = [counted(p) for p in pools]

    async def calls(pool: KeyPool, job: int, n: int) -> None:
        for _ in range(n):
            assert await pool.spend(job, None) is not None

    async with asyncio.timeout(30):
        await asyncio.gather(*(calls(p, job, 20) for p in pools for job in range(3)))  # 4 × 60 calls
    booked = [t for log in logs for t in log.booked]
    assert len(booked) == 240
    assert most_in_an_hour(booked) <= LIMIT  # (exactly 100 unless a loaded machine stretched the first hour)
    assert max(booked) - min(booked) >= 2 * WINDOW  # 240 calls at 100 an hour span two hours at least


async def test_a_budget_without_a_limit_never_asks_the_database(four: list[Database]) -> None:
    pool = process(four[0], StillClock(), 0, per_hour=None)
    log = counted(pool)
    for job in range(20):
        assert await pool.spend(job, None) is not None
    assert log.trips == 0
    assert await logged(four[0]) == 0


async def test_a_call_the_copy_of_the_hour_has_no_room_for_never_asks_the_database(
    four: list[Database],
) -> None:
    clock = StillClock()
    pool = process(four[0], clock, 0)
    log = counted(pool)
    for job in range(LIMIT):
        assert await pool.spend(job, None) is not None
    assert log.trips == LIMIT
    for job in range(50):
        assert await pool.spend(job, None, until=clock.now()) is None
    assert log.trips == LIMIT  # the copy said "full": no round trip


async def test_a_hand_out_books_the_create_and_a_process_refused_waits_for_the_oldest_call(
    four: list[Database],
) -> None:
    """Another process took the whole hour: a new job is handed its key only once the oldest of
    those calls ages out — the create is booked before the job leaves the line."""
    first, second = process(four[0], StillClock(), 0), process(four[1], JumpClock(), 1)
    for job in range(LIMIT):
        assert await first.spend(job, None) is not None
    given = await second.acquire_task(lambda: 7)
    assert given is not None and given[0] == 7
    clock = second.budget(None).clock
    assert clock.now() >= T0 + WINDOW  # it waited for the first process's calls to age out
    assert await logged(four[1]) == LIMIT + 1  # ... and booked its create (the oldest went first)


async def test_calls_of_a_process_before_a_restart_still_count(tmp_path: Path) -> None:
    """SQLite serves one process, but that process restarts: the new one is refused what the old
    one spent within the hour, whether or not it read the log back at start."""
    path = tmp_path / "bot.db"
    clock = StillClock()
    db = await Database.open(path)
    before = process(db, clock, 0)
    for job in range(70):
        assert await before.spend(job, None) is not None
    await db.close()

    for load in (False, True):
        db = await Database.open(path)
        try:
            budgets = Budgets(clock, db)
            after = budgets.pool(profile("other-profile", "other-name"))
            if load:
                await budgets.load()
                assert after.calls_in_window(None) == 100  # 70 before, 30 in the first restart
            got = [await after.spend(job, None, until=clock.now()) is not None for job in range(50)]
            assert sum(got) == (30 if not load else 0)
            assert after.calls_in_window(None) == LIMIT
        finally:
            await db.close()


@pytest.fixture
async def vendor() -> AsyncIterator[tuple[FakeNanophoto, VendorHttp]]:
    async with (
        FakeNanophoto() as fake,
        Fetcher(allow_private=True) as private,  # the fake is on 127.0.0.1
        VendorHttp(retry=RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01), fetcher=private) as http,
    ):
        yield fake, http


@pytest.fixture(params=["sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """An SQLite file, or a fresh PostgreSQL database's URL (synchronous: ``pg_url`` runs its own loop)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "bot.db"


async def test_every_attempt_is_booked_retries_included(
    target: Path | str, vendor: tuple[FakeNanophoto, VendorHttp]
) -> None:
    """A job's create is booked at hand-out (its first attempt prepaid) and its retry through the
    gate: the log holds exactly what the vendor counted."""
    fake, http = vendor
    db = await Database.open(target)
    try:
        key = fake.api_key()
        pool = Budgets(JumpClock(), db).pool(
            ProviderProfile(
                name="p",
                kind="nanophoto",
                base_url=fake.base_url,
                keys=(key,),
                requests_per_hour=LIMIT,
                timing=Timing(rate_limit_cooldown=60),
            )
        )
        given = await pool.acquire_task(lambda: 1)
        assert given is not None
        fake.fail_next("status", status=503, times=1)
        with gated(pool.gate(1, key.name, prepaid=1, floor=1.0)):
            resp = await http.request_json(
                "POST", fake.base_url + STATUS_PATH, key=key, json_body={}, timeout_s=2.0, idempotent=True
            )
        assert resp.status == 400  # the retry reached the real route
        assert fake.count(route="status") == 2
        rows = await db.fetchall("SELECT at FROM key_calls WHERE key_id = $1", (key_id(key),))
        assert len(rows) == 2  # the prepaid first attempt (booked at hand-out) and the retry
        budget: KeyBudget = pool.budget(key.name)
        assert len(budget.calls) == 2
    finally:
        await db.close()
