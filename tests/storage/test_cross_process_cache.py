"""What one process caches from rows another process may change, on PostgreSQL with two processes.

Server settings (prices, caps, fallbacks, access — everything ``/settings`` and ``/credits`` write)
go through ``storage.guilds``'s memo; the models a vendor stopped serving through
``bot.engine.availability``. A change made by process A must reach process B's cache, and a ``"*"``
(B's listener reconnected) must make B read again what it holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

from bot.engine.availability import Availability
from bot.engine.clock import SystemClock
from storage import guilds, model_status
from storage.db import Database
from storage.postgres import PostgresDatabase

GUILD = 7
WAIT = 5.0


async def eventually(check: Callable[[], bool], within: float = WAIT) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the bound"
        await asyncio.sleep(0.01)


async def test_every_setting_written_in_one_process_reaches_the_other(
    pair: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, b = pair
    assert await a.listening() and await b.listening()
    for field, value in [
        ("prices", {"p:m:4": 12}),
        ("price_multiplier", 1.25),
        ("max_active_per_member", 2),
        ("max_daily_spend_per_member", 50),
        ("fallbacks", {"text": ("backup",)}),
        ("allowed_channels", (99,)),
        ("default_model", "m2"),
    ]:
        await guilds.get(b, GUILD)  # B holds the current row
        saved = await guilds.update(a, GUILD, **{field: value})
        await eventually(lambda: ("guild", GUILD) not in b.memo)
        assert await guilds.get(b, GUILD) == saved, field


async def test_a_model_marked_gone_in_one_process_is_gone_in_the_other(
    pair: tuple[PostgresDatabase, PostgresDatabase], pg_url: str
) -> None:
    a, b = pair
    clock = SystemClock()
    worker, gateway = Availability(a, clock), Availability(b, clock)
    await worker.load()  # as at start: each listens, then reads the marks...
    await gateway.load()
    assert await a.listening() and await b.listening()  # ... and again once its LISTEN is in effect
    await eventually(lambda: not worker._reloads and not gateway._reloads)
    await worker.mark_gone("p", "veo", "MODEL_UNAVAILABLE")
    await eventually(lambda: gateway.is_gone("p", "veo"))
    # A mark B never heard of (its writer died between commit and notify, or B's listener was
    # down) is read again once B's listener reconnects and says "*".
    assert b.listener is not None
    await model_status.mark(a, "p", "seedance", clock.now(), "MODEL_UNAVAILABLE")  # no notify
    await asyncio.sleep(0.1)
    assert not gateway.is_gone("p", "seedance"), "not told"
    pid = b.listener.server_pid
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)  # ... and reconnects
    finally:
        await conn.close()
    await eventually(lambda: gateway.is_gone("p", "seedance"))
    assert gateway.is_gone("p", "veo")


async def test_sqlite_availability_is_as_before(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.db")
    try:
        availability = Availability(db, SystemClock())
        await availability.load()
        await availability.mark_gone("p", "m", "MODEL_UNAVAILABLE")
        assert availability.is_gone("p", "m") and availability.gone() == [("p", "m")]
        again = Availability(db, SystemClock())  # a restart reads the mark back
        await again.load()
        assert again.is_gone("p", "m")
    finally:
        await db.close()
