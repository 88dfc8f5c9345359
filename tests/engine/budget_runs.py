"""Budget runs: the real engine, adapters and HTTP client against the fake nanophoto servers on
127.0.0.1, everything on one virtual clock.

Time moves only when nothing can happen at the current instant (``bench/virtual_clock.py``: no
statement in flight on any database connection, nothing ready on the event loop — a loopback
request in flight always has a callback ready), so hours of a key's budget take seconds, and what
the fakes count — every request, every 429 — is exact. The fakes share one account: one hourly
window per key across Sora and TVC, as nanophoto keeps it.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.virtual_clock import VirtualClock
from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.net import Fetcher
from bot.providers.base import AnyRequest, ApiKey
from bot.providers.http import VendorHttp
from bot.providers.profiles import ProviderProfile, Timing
from bot.providers.registry import build_provider
from storage import jobs, ledger
from storage.db import Database
from storage.jobs import JobRow
from tests.backend import open_database
from tests.engine.conftest import GUILD, Recorder
from tests.fakes.nanophoto import FakeNanophoto, RecordedRequest, TaskScript, _err
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc, TvcScript

SECRET = "np-live-shared-0123456789"
FAKE_KEYS = {"np": SECRET}  # the fakes know the key by one name; the profiles give it their own
NANO_TIMING = Timing()  # nanophoto's cadence: first look at 60 s, then every 15 s, 20 min timeout
MEMBERS = tuple(range(2000, 2012))
HOURS = 3600.0


class FlakyNanophoto(FakeNanophoto):
    """Every other status call answers HTTP 500 — after the key's hourly window counted it, as a
    vendor counts any request it received."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status_calls = 0

    def _gate(self, rec: RecordedRequest) -> Any:
        denied = super()._gate(rec)
        if denied is not None or rec.route != "status":
            return denied
        self.status_calls += 1
        return _err(500, "INTERNAL_ERROR", "Internal server error") if self.status_calls % 2 == 0 else None


def track(clock: VirtualClock, db: Database) -> None:
    """Let the clock see statements in flight on every connection of ``db``."""
    if db.backend == "postgres":
        clock.track_postgres(db)
        return
    connections = getattr(db, "connections", None) or [db._conn]
    for conn in connections() if callable(connections) else connections:
        clock.track_sqlite(conn)


def key_as(name: str) -> tuple[ApiKey, ...]:
    """The shared key under a profile's own name (an operator's env var name, say)."""
    return (ApiKey(name=name, secret=SecretStr(SECRET)),)


def sora_scripts(n: int, rng: random.Random, gen: tuple[float, float]) -> list[TaskScript]:
    """Tasks that take ``gen`` seconds (uniform) by the fake's clock, in two stages."""
    return [
        TaskScript(stages=("queued", "generating"), advance="time", stage_seconds=rng.uniform(*gen) / 2)
        for _ in range(n)
    ]


def tvc_scripts(n: int, rng: random.Random, gen: tuple[float, float]) -> list[TvcScript]:
    """Three steps: the script, the storyboard, then the video, ``gen`` seconds in all."""
    out = []
    for _ in range(n):
        total = rng.uniform(*gen)
        out.append(TvcScript(advance="time", seconds_per_step=(0.2 * total, 0.2 * total, 0.6 * total)))
    return out


@dataclass
class Run:
    clock: VirtualClock
    db: Database
    http: VendorHttp
    fakes: Sequence[FakeNanophoto]
    engine: Engine | None = None
    seen: Recorder = field(default_factory=Recorder)
    ended: set[int] = field(default_factory=set)
    shown: list[tuple[float, JobRow]] = field(default_factory=list)  # (when, what) every event showed

    async def start(self, profiles: Sequence[ProviderProfile]) -> Engine:
        """A (new) engine on the run's database, started as the bot starts it."""
        if self.engine is not None:
            await self.engine.stop()
        providers = {p.name: build_provider(p, self.http) for p in profiles}
        engine = Engine(self.db, {p.name: p for p in profiles}, providers, clock=self.clock)
        engine.subscribe(self.seen)
        engine.subscribe(self)
        await engine.start()
        self.engine = engine
        return engine

    async def on_job_event(self, event: Any) -> None:
        self.shown.append((self.clock.now(), event.job))
        if event.terminal:
            self.ended.add(event.job.id)

    def first_shown(self, job_id: int, step: int) -> float | None:
        """When a member could first see ``job_id`` at ``step`` (or past it)."""
        return next((t for t, job in self.shown if job.id == job_id and (job.step or 0) >= step), None)

    async def enqueue(self, requests: Sequence[tuple[AnyRequest, str]]) -> list[int]:
        assert self.engine is not None
        async with self.db.transaction() as tx:
            for member in MEMBERS:
                await ledger.grant(tx, GUILD, member, 10_000, actor_id=None, reason="budget run")
        made = []
        for i, (request, profile) in enumerate(requests):
            origin = JobOrigin(guild_id=GUILD, channel_id=1, user_id=MEMBERS[i % len(MEMBERS)])
            made.append((await self.engine.admission.enqueue(origin, request, profile)).id)
        return made

    async def run_until_ended(self, ids: Sequence[int], *, within: float) -> None:
        await self.clock.run_until(lambda: self.ended.issuperset(ids), limit=self.clock.now() + within)

    def rejected(self) -> int:
        """429s the fakes answered, over the whole run."""
        return sum(1 for fake in self.fakes for r in fake.requests if r.status == 429)

    def sent(self, route: str | None = None) -> int:
        return sum(fake.count(route=route) for fake in self.fakes)

    async def rows(self, ids: Sequence[int]) -> list[JobRow]:
        found = [await jobs.get(self.db, i) for i in ids]
        return [row for row in found if row is not None]


@contextlib.asynccontextmanager
async def budget_run(tmp_path: Path, *, flaky: bool = False) -> AsyncIterator[Run]:
    """The fake Sora and TVC servers of one account (``flaky``: Sora fails every other status
    call), an HTTP client, a database; the caller starts engines on them."""
    clock = VirtualClock()
    sora_fake = FlakyNanophoto if flaky else FakeNanophoto
    async with (
        sora_fake(FAKE_KEYS, clock=clock) as sora,
        FakeNanophotoTvc(FAKE_KEYS, clock=clock) as tvc,
        Fetcher(allow_private=True) as private,
        VendorHttp(fetcher=private) as http,
    ):
        sora.share_budget(tvc)
        db = await open_database(tmp_path / "budget-run.db")
        track(clock, db)
        run = Run(clock=clock, db=db, http=http, fakes=(sora, tvc))
        try:
            yield run
        finally:
            if run.engine is not None:
                await run.engine.stop()
            await db.close()
