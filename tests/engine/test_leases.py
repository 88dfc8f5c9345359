"""Leases on one PostgreSQL database shared by two engines, as two processes would share it.

Each engine has its own connection pool (its own ``Database``), so what one knows reaches the other
only through the database — as between two processes. A process that dies leaves its jobs to the
other once its lease lapses; one that lost its lease writes nothing more (fencing).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.engine.events import JobEvent
from bot.net import Fetcher
from bot.providers.base import TextToVideo
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.profiles import Timing
from bot.providers.registry import build_provider
from storage import jobs, leases, ledger
from storage.db import Database
from tests.fakes.nanophoto import FakeNanophoto, TaskScript

GUILD, CHANNEL, MEMBER = 111, 222, 333
ORIGIN = JobOrigin(guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
TIMING = Timing(expected=0.2, first_poll=0.05, poll_interval=0.05, timeout=30, backoff_max=0.1)
LEASE = 0.6  # seconds: short, so a takeover happens within a test

UNTIL_FINISHED = TaskScript(stages=("generating",), advance="time", stage_seconds=3600)  # or ``finish``
Make = Callable[..., Awaitable[Engine]]


@pytest.fixture
async def two(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[FakeNanophoto, Make]]:
    """A fake vendor, and a maker of engines each on a database connection pool of its own."""
    opened: list[tuple[Engine, Database]] = []
    async with (
        FakeNanophoto() as fake,
        Fetcher(allow_private=True) as fetcher,
        VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=fetcher) as http,
    ):

        async def make(*, slots: int | None = None, keys: int | None = None, **kwargs: Any) -> Engine:
            """An engine in a process of its own; ``slots``: tasks at once on each key; ``keys``:
            how many of the fake's keys it has (all by default)."""
            profile = fake.profile(timing=TIMING, max_concurrent=slots, keys=fake.api_keys()[:keys])
            db = await Database.open(pg_url, folder=tmp_path)
            engine = Engine(
                db, {profile.name: profile}, {profile.name: build_provider(profile, http)}, **kwargs
            )
            opened.append((engine, db))
            return engine

        yield fake, make
        for engine, db in opened:
            await engine.stop()
            await db.close()


async def grant(engine: Engine, amount: int) -> None:
    async with engine.db.transaction() as tx:
        await ledger.grant(tx, GUILD, MEMBER, amount, actor_id=None, reason="test")


async def wait_for(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    """Look at ``check`` every 50 ms until it holds; fail naming ``what`` when it does not in time."""
    for _ in range(int(within / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not within {within}s: {what}")


async def reached_vendor(engine: Engine, job_id: int) -> None:
    """Wait until the vendor gave the job its remote id (the create went through)."""

    async def running() -> bool:
        row = await jobs.get(engine.db, job_id)
        return row is not None and row.remote_id is not None

    await wait_for(running, within=10, what="the job reached the vendor")


async def die(engine: Engine) -> None:
    """What a SIGKILL leaves: drivers gone mid-job, the lease not handed back, nothing flushed."""
    if engine.leases._loop is not None:
        engine.leases._loop.cancel()  # no renewals from here on
    for task in list(engine.runner._tasks.values()):
        task.cancel()
    await asyncio.gather(*engine.runner._tasks.values(), return_exceptions=True)


async def test_a_dead_processs_jobs_are_finished_by_the_other_each_once(
    two: tuple[FakeNanophoto, Make],
) -> None:
    fake, make = two
    a = await make(lease_seconds=LEASE)
    b = await make(lease_seconds=LEASE)
    await a.start()
    await grant(a, 100)
    fake.script_next(
        *[TaskScript(stages=("generating",), advance="time", stage_seconds=1.5) for _ in range(6)]
    )
    made = [await a.admission.enqueue(ORIGIN, TextToVideo(prompt=f"cat {i}", duration=10)) for i in range(6)]

    async def all_running() -> bool:
        rows = [await jobs.get(a.db, v.id) for v in made]
        return all(r is not None and r.remote_id is not None for r in rows)

    await wait_for(all_running, within=10, what="every job reached the vendor")
    await b.start()  # A is alive: B takes nothing yet
    assert not any(b.runner.driving(v.id) for v in made)
    await die(a)
    creates = fake.count(route="generate")

    async def all_done() -> bool:
        rows = [await jobs.get(b.db, v.id) for v in made]
        return all(r is not None and not r.active for r in rows)

    await wait_for(all_done, within=15, what="the other process finished every job")
    rows = [await jobs.get(b.db, v.id) for v in made]
    assert {r.state for r in rows if r} == {"succeeded"}
    assert {r.lease_owner for r in rows if r} == {b.leases.owner}
    assert all(r.lease_epoch == 2 for r in rows if r)  # taken over once
    assert fake.count(route="generate") == creates == 6  # nothing was created again
    for v in made:
        kinds = [
            r["kind"]
            for r in await b.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id = $1", (v.id,))
        ]
        assert kinds == ["hold", "capture"]
    assert await ledger.balance(b.db, GUILD, MEMBER) == 100 - sum(v.cost for v in made)
    assert await ledger.invariant_violations(b.db) == []


async def test_a_process_that_lost_its_lease_writes_nothing_more(two: tuple[FakeNanophoto, Make]) -> None:
    """A process frozen past its lease (a long pause, a partition) comes back to find its job taken:
    its late write lands nowhere, its driver lets go, and the job ends once, by the other."""
    fake, make = two
    a = await make(lease_seconds=LEASE)
    await a.start()
    await grant(a, 100)
    fake.script_next(UNTIL_FINISHED)
    view = await a.admission.enqueue(ORIGIN, TextToVideo(prompt="a cat", duration=10))

    await reached_vendor(a, view.id)
    # A's lease lapses (its renewals stopped) while its driver goes on polling.
    assert a.leases._loop is not None
    a.leases._loop.cancel()
    await asyncio.sleep(LEASE + 0.1)
    b = await make(lease_seconds=LEASE)
    await b.start()  # takes the job over: epoch 2
    row = await jobs.get(b.db, view.id)
    assert row is not None and row.lease_owner == b.leases.owner and row.lease_epoch == 2
    # A's late write changes nothing; its driver learns the job is gone and stops driving it.
    assert not await jobs.update(a.db, view.id, lease=1, stage="stale")

    async def let_go() -> bool:
        return not a.runner.driving(view.id)

    await wait_for(let_go, within=5, what="A let the job go")
    remote = row.remote_id
    assert remote is not None
    fake.finish(remote)
    await wait_for(lambda: _done(b, view.id), within=10, what="B finished the job")
    kinds = [
        r["kind"]
        for r in await b.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id = $1", (view.id,))
    ]
    assert kinds == ["hold", "capture"]
    assert (await jobs.get(b.db, view.id)).stage != "stale"  # type: ignore[union-attr]


async def test_a_clean_stop_hands_the_jobs_over_at_once(two: tuple[FakeNanophoto, Make]) -> None:
    """SIGTERM (a rolling restart): the lease is handed back, so the other process does not wait for
    it to lapse (a long lease here: only the hand-back can explain a quick takeover)."""
    fake, make = two
    a = await make(lease_seconds=60)
    b = await make(lease_seconds=60)
    await a.start()
    await b.start()
    await grant(a, 100)
    fake.script_next(UNTIL_FINISHED)
    view = await a.admission.enqueue(ORIGIN, TextToVideo(prompt="a cat", duration=10))

    await reached_vendor(a, view.id)
    await a.stop()
    assert not await leases.alive(b.db, a.leases.owner, now=b.clock.now())

    async def driven_by_b() -> bool:  # told by A's goodbye (NOTIFY), not by a lapse 60 s away
        return b.runner.driving(view.id)

    await wait_for(driven_by_b, within=3, what="B took the job over at once")
    row = await jobs.get(b.db, view.id)
    assert row is not None and row.remote_id is not None
    fake.finish(row.remote_id)
    await wait_for(lambda: _done(b, view.id), within=10, what="B finished the job")


async def test_two_processes_taking_at_once_never_take_one_job_twice(
    two: tuple[FakeNanophoto, Make],
) -> None:
    """Free jobs (their owner gone) taken by several processes at once: each job by exactly one."""
    _, make = two
    a = await make()
    await grant(a, 10_000)
    async with a.db.transaction() as tx:
        for _ in range(300):
            job_id = await jobs.insert(
                tx, guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, profile="none", kind="text",
                model="m", duration=10, request_json="{}", cost=1, lease_owner="gone", lease_epoch=1,
            )  # fmt: skip
            await ledger.hold(tx, GUILD, MEMBER, job_id, 1)
    dbs = [a.db, *[(await make()).db for _ in range(3)]]
    now = a.clock.now()
    for i, db in enumerate(dbs):
        await leases.renew(
            db, f"p{i}", "worker", now=now, until=now + 60
        )  # alive: what they take stays theirs
    takes = [
        leases.take(db, f"p{i}", now=a.clock.now(), limit=40) for i, db in enumerate(dbs) for _ in range(3)
    ]
    got = await asyncio.gather(*takes)
    taken = [job.id for page in got for job in page]
    assert len(taken) == len(set(taken)) == 300  # every job, none twice
    rows = await a.db.fetchall("SELECT lease_epoch, lease_owner FROM jobs")
    assert all(int(r["lease_epoch"]) == (2 if r["lease_owner"] != "gone" else 1) for r in rows)


async def _done(engine: Engine, job_id: int) -> bool:
    row = await jobs.get(engine.db, job_id)
    return row is not None and not row.active


async def test_a_cancel_in_one_process_stops_the_driver_in_another(two: tuple[FakeNanophoto, Make]) -> None:
    """A member cancels a queued job through the gateway while a worker drives it: the credits come
    back at once, the worker lets it go (heard through the database) and never submits it."""
    fake, make = two
    a = await make(slots=1)
    b = await make(slots=1)
    await a.start()
    await grant(a, 100)
    fake.script_next(UNTIL_FINISHED, UNTIL_FINISHED)
    busy = [await a.admission.enqueue(ORIGIN, TextToVideo(prompt=f"busy {i}", duration=10)) for i in range(2)]
    for view in busy:
        await reached_vendor(a, view.id)
    waiting = await a.admission.enqueue(ORIGIN, TextToVideo(prompt="in line", duration=10))
    assert a.runner.driving(waiting.id) and a.dispatcher.row(waiting.id) is not None
    await b.start()

    assert await b.admission.cancel(waiting.id)  # the other process, as a member's /jobs cancel there

    async def let_go() -> bool:
        return not a.runner.driving(waiting.id) and a.dispatcher.row(waiting.id) is None

    await wait_for(let_go, within=5, what="the driving process let the cancelled job go")
    row = await jobs.get(a.db, waiting.id)
    assert row is not None and row.state == "cancelled"
    kinds = [
        r["kind"]
        for r in await a.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id = $1", (waiting.id,))
    ]
    assert kinds == ["hold", "release"]
    for view in busy:  # the slots free up: the cancelled job is still never submitted
        fake.finish((await jobs.get(a.db, view.id)).remote_id or "")  # type: ignore[union-attr]
    await wait_for(lambda: _done(a, busy[-1].id), within=10, what="the running jobs finished")
    assert fake.count(route="generate") == 2


class Cards:
    """What each engine showed: the events it emitted, by job (its delivery would edit the cards)."""

    def __init__(self) -> None:
        self.shown: dict[int, list[str]] = {}

    async def on_job_event(self, event: JobEvent) -> None:
        self.shown.setdefault(event.job.id, []).append(event.job.state)


async def test_new_jobs_are_spread_over_the_live_processes(two: tuple[FakeNanophoto, Make]) -> None:
    """Jobs a gateway queues go to whichever live process drives the fewest: the worker drives half,
    shows each of its jobs from the first card on, and each job is made once and charged once."""
    fake, make = two
    gateway = await make(role="run")
    worker = await make(role="worker")
    seen = {gateway: Cards(), worker: Cards()}
    for engine, cards in seen.items():
        engine.subscribe(cards)
    await gateway.start()
    await worker.start()

    async def both_known() -> bool:  # the worker's start woke the gateway to renew and see it
        return gateway.leases.live == 2

    await wait_for(both_known, within=2, what="the gateway heard of the worker")
    await grant(gateway, 100)
    fake.script_next(
        *[TaskScript(stages=("generating",), advance="time", stage_seconds=0.3) for _ in range(6)]
    )
    made = [
        await gateway.admission.enqueue(ORIGIN, TextToVideo(prompt=f"cat {i}", duration=10)) for i in range(6)
    ]
    await wait_for(lambda: _all_done(gateway, [v.id for v in made]), within=15, what="every job finished")
    rows = [await jobs.get(gateway.db, v.id) for v in made]
    by_owner = {
        engine: [r.id for r in rows if r is not None and r.lease_owner == engine.owner] for engine in seen
    }
    assert len(by_owner[gateway]) >= 2 and len(by_owner[worker]) >= 2, by_owner  # loads are told late
    epochs = {r.id: r.lease_epoch for r in rows if r is not None}
    assert {epochs[i] for i in by_owner[gateway]} == {1} and {epochs[i] for i in by_owner[worker]} == {0}
    assert all(r is not None and r.state == "succeeded" for r in rows)
    for job_id in by_owner[worker]:  # the worker showed it queued, then every step; the gateway nothing
        assert seen[worker].shown[job_id][0] == "queued" and seen[worker].shown[job_id][-1] == "succeeded"
        assert job_id not in seen[gateway].shown
    assert fake.count(route="generate") == 6
    assert await ledger.balance(gateway.db, GUILD, MEMBER) == 100 - sum(v.cost for v in made)
    assert await ledger.invariant_violations(gateway.db) == []


async def test_a_job_handed_to_a_process_that_died_is_driven_by_another(
    two: tuple[FakeNanophoto, Make],
) -> None:
    """The worker a job was handed to dies before taking it: once its lease lapses the job is free,
    the gateway takes it and shows it queued (it was never shown), and it is made once."""
    fake, make = two
    gateway = await make(lease_seconds=LEASE)
    worker = await make(lease_seconds=LEASE)
    await gateway.start()
    await worker.start()
    await grant(gateway, 100)
    fake.script_next(UNTIL_FINISHED)
    first = await gateway.admission.enqueue(ORIGIN, TextToVideo(prompt="first", duration=10))
    assert gateway.runner.driving(first.id)  # the least busy: a tie, kept here
    await die(worker)
    worker.leases._heard = lambda payload: None  # type: ignore[method-assign]  # deaf: it never takes it
    now = worker.clock.now()  # its last renewal, just before it died: it looks live, and idle
    await leases.renew(worker.db, worker.owner, "worker", now=now, until=now + LEASE, load=0)
    await gateway.leases._renew()  # and the gateway read it so
    cards = Cards()
    gateway.subscribe(cards)
    second = await gateway.admission.enqueue(ORIGIN, TextToVideo(prompt="second", duration=10))
    row = await jobs.get(gateway.db, second.id)
    assert row is not None and row.lease_owner == worker.owner and row.lease_epoch == leases.HANDED
    assert not gateway.runner.driving(second.id)

    async def taken_back() -> bool:
        return gateway.runner.driving(second.id)

    await wait_for(taken_back, within=LEASE * 4, what="the gateway took the job the dead worker never drove")
    row = await jobs.get(gateway.db, second.id)
    assert row is not None and row.lease_owner == gateway.owner and row.lease_epoch == 0
    assert cards.shown[second.id][0] == "queued"
    await reached_vendor(gateway, second.id)
    assert fake.count(route="generate") == 2


async def _all_done(engine: Engine, ids: list[int]) -> bool:
    return all([await _done(engine, job_id) for job_id in ids])


async def test_live_processes_share_a_keys_task_slots(two: tuple[FakeNanophoto, Make]) -> None:
    """A key runs at most ``max_concurrent`` tasks at once however many processes drive its jobs:
    each live process starts its equal share, and a process that stops leaves its share to the rest."""
    fake, make = two
    gateway = await make(slots=2, keys=1, lease_seconds=LEASE)
    worker = await make(slots=2, keys=1, lease_seconds=LEASE)
    await gateway.start()
    await worker.start()

    async def both_live() -> bool:
        return gateway.leases.live == worker.leases.live == 2

    await wait_for(both_live, within=5, what="each process counted two live processes")
    await grant(gateway, 100)
    fake.script_next(*[UNTIL_FINISHED for _ in range(4)])
    made = [
        await gateway.admission.enqueue(ORIGIN, TextToVideo(prompt=f"cat {i}", duration=10)) for i in range(4)
    ]

    async def two_created() -> bool:
        return fake.count(route="generate") == 2

    await wait_for(two_created, within=5, what="two tasks started")
    await asyncio.sleep(LEASE)  # time for a third, were the slots not shared
    assert fake.count(route="generate") == 2
    rows = [await jobs.get(gateway.db, v.id) for v in made]
    started = [r for r in rows if r is not None and r.remote_id is not None]
    assert {r.lease_owner for r in started} == {gateway.owner, worker.owner}  # one slot each

    await worker.stop()  # its running task goes to the gateway, which now has both slots

    async def three_created() -> bool:
        return fake.count(route="generate") == 3

    fake.finish(started[0].remote_id or "")
    await wait_for(three_created, within=5, what="a freed slot was used")
    await asyncio.sleep(LEASE)
    assert fake.count(route="generate") == 3  # two at once, never more
