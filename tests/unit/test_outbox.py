"""The delivery outbox's claims: one nonce per result, an interrupted attempt remembered, sent is final."""

from __future__ import annotations

import sqlite3

import pytest

from bot.engine.outbox import NONCE_MAX, NONCE_TRUSTED, Outbox, new_nonce
from storage import jobs, outbox
from storage.db import Database
from tests.unit.conftest import insert_job


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def a_job(db: Database) -> int:
    async with db.transaction() as tx:
        return await insert_job(tx, guild_id=1, user_id=2, cost=4, state="succeeded")


async def test_a_result_keeps_its_nonce_and_knows_an_interrupted_attempt(db: Database) -> None:
    clock = Clock()
    box = Outbox(db, clock)
    job_id = await a_job(db)
    first = await box.claim(job_id)
    assert first.attempts == 1 and first.interrupted_at is None and not first.sent
    assert len(first.nonce) <= NONCE_MAX and first.nonce.startswith(f"r{job_id}-")
    clock.t += 5  # the process died with that attempt in flight; a new one starts
    again = await box.claim(job_id)
    assert again.nonce == first.nonce and again.attempts == 2 and again.interrupted_at == 1_000_000.0
    assert not box.lookup_first(again)  # within the window, the nonce alone is enough
    clock.t += NONCE_TRUSTED + 1
    late = await box.claim(job_id)
    assert late.interrupted_at == 1_000_005.0 and box.lookup_first(late)


async def test_a_refused_attempt_is_not_an_interrupted_one(db: Database) -> None:
    box = Outbox(db, Clock())
    job_id = await a_job(db)
    await box.claim(job_id)
    await box.refused(job_id, "403 50001 Missing Access")
    claim = await box.claim(job_id)
    assert claim.interrupted_at is None and claim.attempts == 2
    entry = await outbox.get(db, job_id)
    assert entry is not None and entry.last_error == "403 50001 Missing Access"


async def test_sent_is_final_and_marks_the_job_delivered(db: Database) -> None:
    box = Outbox(db, Clock())
    job_id = await a_job(db)
    await box.claim(job_id)
    await box.sent(job_id, 777)
    claim = await box.claim(job_id)
    assert claim.sent and claim.sent_message_id == 777
    row = await jobs.get(db, job_id)
    assert row is not None and row.delivered_at == 1_000_000.0
    assert await jobs.undelivered(db) == [] and await outbox.unsent_count(db) == 0


def test_nonces_fit_discord() -> None:
    assert all(len(new_nonce(n)) <= NONCE_MAX for n in (1, 10**12, 10**30))
    assert new_nonce(5) != new_nonce(5)


async def test_one_job_per_confirmation(db: Database) -> None:
    async with db.transaction() as tx:
        first = await insert_job(tx, guild_id=1, user_id=2, cost=4, once_key="again:1")
    assert await jobs.made_by(db, "again:1") == first and await jobs.made_by(db, "again:2") is None
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await insert_job(tx, guild_id=1, user_id=2, cost=4, once_key="again:1")
