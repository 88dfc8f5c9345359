"""A restart on thousands of active jobs: every job resumes, the loop keeps turning, events stay few.

What is asserted is structure, not speed (speed is ``bench/restart.py``'s): a command issued while
the jobs resume is answered before the last of them is resumed; each running job makes exactly one
status call and each queued job is back in line; the events a start hands the Discord side are the
line's first places and the undelivered results, not one per job; after many cancels the places the
first jobs were last told are their true places.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from bot.engine.engine import Engine
from bot.engine.positions import SHOWN
from bot.providers.base import ApiKey, RemoteTask, TaskSnapshot, TextToVideo
from bot.providers.profiles import ProviderProfile
from bot.providers.registry import build_provider
from storage import jobs
from storage.db import Database
from tests.engine.conftest import GUILD, Harness, Recorder

RUNNING, QUEUED, UNDELIVERED = 1000, 1000, 5


class HangingVendor:
    """The real adapter (capabilities, timing) in front of a vendor that never answers."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.polled: list[str] = []
        self.submits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def submit(self, req: Any, key: ApiKey) -> RemoteTask:
        self.submits += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def poll(self, task: RemoteTask, key: ApiKey) -> TaskSnapshot:
        self.polled.append(task.remote_id)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def fill(db: Database, profile: ProviderProfile, caps_model: str, running: int, queued: int) -> None:
    """Active jobs as a bot that stopped would leave them: ``running`` fill every task slot."""
    request = TextToVideo(prompt="a lighthouse in a storm", model=caps_model)
    common = {"channel_id": 7, "profile": profile.name, "kind": "text", "model": caps_model}
    common |= {"duration": request.duration, "request_json": request.model_dump_json(), "cost": 4}
    now = time.time()
    async with db.transaction() as tx:
        for i in range(UNDELIVERED):
            done = {"state": "succeeded", "submitted_at": now - 90, "finished_at": now - 30}
            await jobs.insert(tx, guild_id=GUILD, user_id=1, message_id=900 + i, **common, **done)
        for i in range(running + queued):
            where = {"guild_id": GUILD + i % 7, "user_id": 1 + i % 40, "message_id": 10_000 + i}
            state: dict[str, Any] = {"state": "queued"}
            if i < running:
                key = profile.keys[i % len(profile.keys)].name
                state = {"state": "running", "key_name": key, "remote_id": f"r{i}", "polls": 1}
                state |= {"submitted_at": now - 60, "deadline_at": now + 600}
            await jobs.insert(tx, **where, **common, **state)


@contextlib.asynccontextmanager
async def restarted(
    h: Harness, running: int, queued: int
) -> AsyncIterator[tuple[Engine, Recorder, HangingVendor]]:
    """An engine (not yet started) on a database holding ``running`` + ``queued`` active jobs."""
    slots = running // len(h.fake.api_keys())  # every slot held by a running job
    profile = h.fake.profile(max_concurrent=slots, requests_per_hour=None)
    vendor = HangingVendor(build_provider(profile, h.http))
    await fill(h.db, profile, vendor.capabilities.default_model, running, queued)
    engine = Engine(h.db, {profile.name: profile}, {profile.name: vendor})
    seen = Recorder()
    engine.subscribe(seen)
    try:
        yield engine, seen, vendor
    finally:
        await engine.stop()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - engine state no event announces
            await asyncio.sleep(0.001)


async def test_2000_active_jobs_resume_while_a_command_is_answered(harness: Harness) -> None:
    async with restarted(harness, RUNNING, QUEUED) as (engine, seen, vendor):
        await resume_while_a_command_is_answered(harness, engine, seen, vendor)


async def resume_while_a_command_is_answered(
    harness: Harness, engine: Engine, seen: Recorder, vendor: HangingVendor
) -> None:
    active = [j.id for j in await jobs.active(harness.db)]
    driven = lambda: sum(engine.runner.driving(j) for j in active)  # noqa: E731
    answered_at: list[int] = []

    async def command() -> None:
        await until(lambda: driven() > 0)  # resuming has begun
        await engine.admission.balance(GUILD, 1)  # what a command reads before it defers
        answered_at.append(driven())

    asker = asyncio.create_task(command())
    await engine.start()
    await asker
    assert answered_at[0] < len(active)  # answered in between, not after every job was resumed

    await until(lambda: len(vendor.polled) >= RUNNING)
    await until(lambda: len(seen.events) >= SHOWN + UNDELIVERED)
    for _ in range(10):
        await asyncio.sleep(0)
    assert all(engine.runner.driving(j) for j in active)
    assert sorted(vendor.polled) == sorted(f"r{i}" for i in range(RUNNING))  # each polled once
    assert vendor.submits == 0  # every slot is held by a running job
    queued = [j for j in active if engine.dispatcher.position(j) is not None]
    assert len(queued) == QUEUED

    # One event per undelivered result and per place shown at the front of the line; none per job.
    finished = [e for e in seen.events if e.terminal]
    placed = [e for e in seen.events if e.queue_position is not None]
    assert len(finished) == UNDELIVERED
    assert len(placed) == SHOWN and len(seen.events) == SHOWN + UNDELIVERED
    assert sorted(e.queue_position for e in placed if e.queue_position) == list(range(1, SHOWN + 1))
    assert all(engine.dispatcher.position(e.job.id) == e.queue_position for e in placed)


async def test_places_shown_stay_true_through_many_cancels(harness: Harness) -> None:
    async with restarted(harness, running=2, queued=300) as (engine, seen, _):
        await places_stay_true(harness, engine, seen)


async def places_stay_true(harness: Harness, engine: Engine, seen: Recorder) -> None:
    await engine.start()
    line = [j.id for j in await jobs.active(harness.db) if engine.dispatcher.position(j.id) is not None]
    await until(lambda: len(seen.events) >= SHOWN + UNDELIVERED)

    for victim in line[::3][:60]:  # cancels all along the line, the front included
        assert await engine.admission.cancel(victim)
    front = sorted((p, j) for j in line if (p := engine.dispatcher.position(j)) is not None)[:SHOWN]
    assert [p for p, _ in front] == list(range(1, SHOWN + 1))

    def shown() -> dict[int, int | None]:
        return {e.job.id: e.queue_position for e in seen.events}

    await until(lambda: all(shown().get(j) == p for p, j in front))  # each card at the front: its place
    told = [e for e in seen.events if e.queue_position is not None]
    assert len(told) <= SHOWN * 61  # a round per cancel at most, never one event per job in line
