"""Polls one process keeps reserved on a key are left free by every other process's spare calls.

Two processes on one PostgreSQL database (two ``Database`` objects): A's running jobs hold 60 polls
of a key's 100 an hour, so B's free-room calls stop at 40 — until A's lease lapses (A died), when its
jobs are someone else's to hold for and B may use the hour.
"""

from __future__ import annotations

from storage import call_log, leases
from storage.db import Database

KEY, LIMIT, WINDOW = "k1", 100, 3600.0


async def test_free_calls_leave_other_processes_held_polls_free(pg_url: str) -> None:
    a, b = await Database.open(pg_url), await Database.open(pg_url)
    try:
        now = 1_000_000.0
        await leases.renew(a, "A", "run", now=now, until=now + 10)
        await leases.renew(b, "B", "worker", now=now, until=now + 10)
        booked, others = await call_log.reserve(a, KEY, now, LIMIT, WINDOW, owner="A", held=60, free=False)
        assert booked and others == 0  # A's own reserved poll: only the limit counts
        granted = 0
        for i in range(100):
            ok, others = await call_log.reserve(b, KEY, now + i * 0.01, LIMIT, WINDOW, owner="B", free=True)
            granted += ok
        assert others == 60 and granted == 39  # 100 − A's 60 held − A's 1 call
        # A's reserved polls still fit: the limit is theirs.
        ok, _ = await call_log.reserve(a, KEY, now + 2, LIMIT, WINDOW, owner="A", held=59, free=False)
        assert ok
        # A dies: once its lease lapses its holds count no more.
        later = now + 11
        await leases.renew(b, "B", "worker", now=later, until=later + 10)
        ok, others = await call_log.reserve(b, KEY, later, LIMIT, WINDOW, owner="B", free=True)
        assert ok and others == 0
    finally:
        await a.close()
        await b.close()
