"""A member's job meeting a database fault as it is queued: tried again, made once, charged once.

A locked file or a dropped connection for a moment must not turn a member's command into an error,
and a retry must never make a second job: a commit may have landed before its answer was lost, so
the retry finds that job (by its own once-key) and drives it. A fault that outlasts the retries
reaches the member as a database refusal, with nothing queued or charged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from bot.engine import admission
from bot.providers.base import TextToVideo
from cogs.errors import friendly
from storage import jobs, ledger
from storage.db import Database
from tests.engine.conftest import Harness, settle

PROMPT = TextToVideo(prompt="a lantern on a pier", duration=10)
Body = Callable[[Any], Coroutine[Any, Any, Any]]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(admission, "ENQUEUE_BACKOFF", 0.01)
    yield


def faulty_writes(
    monkeypatch: pytest.MonkeyPatch, db: Database, *, faults: int, after_commit: bool = False
) -> list[int]:
    """The next ``faults`` group writes fail as a locked database does — before anything is written,
    or (``after_commit``) once the transaction has committed, as a connection lost with its answer."""
    real = db.group_write
    seen: list[int] = []

    async def write(body: Body) -> Any:
        seen.append(1)
        if len(seen) <= faults:
            if after_commit:
                await real(body)
            raise sqlite3.OperationalError("database is locked")
        return await real(body)

    monkeypatch.setattr(db, "group_write", write)
    return seen


async def entries(h: Harness) -> list[tuple[int, str]]:
    rows = await h.db.fetchall("SELECT job_id, kind FROM ledger_entries WHERE job_id IS NOT NULL ORDER BY id")
    return [(int(r["job_id"]), str(r["kind"])) for r in rows]


async def test_a_fault_for_a_moment_is_tried_again_and_the_job_is_made_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    engine, _ = await h.make()
    await h.grant(20)
    tries = faulty_writes(monkeypatch, h.db, faults=2)
    view = await engine.admission.enqueue(h.origin, PROMPT)
    assert len(tries) == 3  # two faults, then the write that landed
    await settle(engine)
    assert await jobs.count(h.db) == 1
    row = await jobs.get(h.db, view.id)
    assert row is not None and row.state == "succeeded"
    assert await entries(h) == [(view.id, "hold"), (view.id, "capture")]
    assert h.fake.count(route="generate") == 1


async def test_a_commit_whose_answer_was_lost_is_found_not_made_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    engine, _ = await h.make()
    await h.grant(20)
    faulty_writes(monkeypatch, h.db, faults=1, after_commit=True)
    view = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    assert await jobs.count(h.db) == 1  # the retry found the committed job
    row = await jobs.get(h.db, view.id)
    assert row is not None and row.state == "succeeded"
    assert await entries(h) == [(view.id, "hold"), (view.id, "capture")]  # held once, spent once
    assert h.fake.count(route="generate") == 1  # driven once
    assert await ledger.balance(h.db, h.origin.guild_id, h.origin.user_id) == 20 - view.cost


async def test_a_fault_that_outlasts_the_retries_queues_and_charges_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    engine, _ = await h.make()
    await h.grant(20)
    tries = faulty_writes(monkeypatch, h.db, faults=99)
    with pytest.raises(sqlite3.OperationalError) as raised:
        await engine.admission.enqueue(h.origin, PROMPT)
    assert len(tries) == admission.ENQUEUE_TRIES
    assert await jobs.count(h.db) == 0 and await entries(h) == []
    assert await ledger.balance(h.db, h.origin.guild_id, h.origin.user_id) == 20
    message, ref = friendly(raised.value)  # what the member is told
    assert "database is not answering" in message and "nothing was queued or charged" in message
    assert ref is not None and ref in message
