"""The jobs table on both backends: rows round-trip, and a state only moves from the states its
caller expects (compare-and-set), so a late poll never overwrites a cancel, racing or not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import engine_state, jobs
from storage.db import Database
from storage.faults import INTEGRITY_ERRORS
from storage.states import ACTIVE, JobState
from storage.tx import Tx
from tests.storage.conftest import insert_job

GUILD, ALICE, BOB = 10, 501, 502


async def new(db: Database, **extra: object) -> int:
    async def body(tx: Tx) -> int:
        return await insert_job(
            tx, guild_id=int(extra.pop("guild_id", GUILD)), user_id=ALICE, cost=1, **extra
        )

    return await db.write(body)


async def test_a_job_round_trips(db: Database) -> None:
    job_id = await new(db, deadline_at=1234.5, interaction_token="tok", message_id=2**62 + 7)
    job = await jobs.get(db, job_id)
    assert job is not None
    assert (job.state, job.deadline_at, job.message_id, job.request) == (
        JobState.QUEUED,
        1234.5,
        2**62 + 7,
        {"prompt": "a cat"},
    )
    assert job.polls == 0 and job.active
    await jobs.update(db, job_id, polls=3, progress_pct=40, remote_id="r-1")
    job = await jobs.get(db, job_id)
    assert job is not None and (job.polls, job.progress_pct, job.remote_id) == (3, 40, "r-1")
    assert await jobs.get(db, 999_999) is None
    with pytest.raises(ValueError):
        await jobs.update(db, job_id, no_such_column=1)


async def test_a_video_in_parts_is_read_back_in_order_after_a_restart(
    db: Database, target: Path | str
) -> None:
    links = ("https://cdn.example/shot-1.mp4", "https://cdn.example/shot-2.mp4", "https://cdn.example/3.mp4")
    job_id = await new(db)
    job = await jobs.get(db, job_id)
    assert job is not None and job.parts == () and jobs.parts_json(()) is None
    assert await jobs.update(db, job_id, video_url=None, video_parts=jobs.parts_json(links))
    await db.close()

    reopened = await Database.open(target)  # what a restarted bot reads
    try:
        job = await jobs.get(reopened, job_id)
        assert job is not None and (job.video_url, job.parts) == (None, links)
    finally:
        await reopened.close()


async def test_ids_are_new_and_increasing(db: Database) -> None:
    ids = [await new(db) for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert set(await jobs.get_many(db, [*ids, 424242])) == set(ids)
    assert await jobs.get_many(db, []) == {}


async def test_a_transition_moves_only_from_the_expected_states(db: Database) -> None:
    job_id = await new(db)

    async def move(expected: tuple[JobState, ...], state: JobState) -> bool:
        return await db.write(lambda tx: jobs.transition_in(tx, job_id, expected, state, remote_id="x"))

    assert await move((JobState.QUEUED,), JobState.SUBMITTING) is True
    assert await move((JobState.QUEUED,), JobState.RUNNING) is False, "it is no longer queued"
    assert await move((JobState.SUBMITTING,), JobState.CANCELLED) is True
    assert await move(tuple(ACTIVE), JobState.SUCCEEDED) is False, "a late poll cannot undo a cancel"
    job = await jobs.get(db, job_id)
    assert job is not None and job.state is JobState.CANCELLED and not job.active


async def test_racing_transitions_have_one_winner(db: Database) -> None:
    ids = [await new(db) for _ in range(10)]

    async def finish(job_id: int, state: JobState) -> bool:
        return await db.write(lambda tx: jobs.transition_in(tx, job_id, frozenset(ACTIVE), state))

    targets = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
    results = await asyncio.gather(*(finish(i, s) for i in ids for s in targets))
    assert sum(results) == len(ids)
    assert await jobs.count_active(db) == 0


async def test_lists_and_counts(db: Database) -> None:
    a, b, c = await new(db), await new(db, guild_id=GUILD + 1), await new(db)
    await db.write(lambda tx: jobs.transition_in(tx, b, (JobState.QUEUED,), JobState.FAILED))
    assert [j.id for j in await jobs.active(db)] == [a, c]
    assert [j.id for j in await jobs.active_page(db, after=a, limit=10)] == [c]
    assert [j.id for j in await jobs.recent(db, GUILD)] == [c, a]
    assert [j.id for j in await jobs.recent(db, GUILD, ALICE, limit=1)] == [c]
    assert await jobs.count(db) == 3 and await jobs.count_active(db) == 2
    counts = await jobs.counts_by_state(db)
    assert counts[JobState.QUEUED] == 2 and counts[JobState.FAILED] == 1 and counts[JobState.RUNNING] == 0
    assert await db.read(lambda tx: jobs.active_count_in(tx, GUILD)) == 2
    assert await db.read(lambda tx: jobs.active_count_in(tx, GUILD, ALICE)) == 2
    assert await db.read(lambda tx: jobs.spent_since_in(tx, GUILD, ALICE, 0.0)) == 2
    others = await engine_state.without_profile(db, ["other"])
    assert [j.id for j in others] == [a, c]
    assert await engine_state.without_profile(db, ["test"]) == []


async def test_a_confirmation_makes_one_job(db: Database) -> None:
    job_id = await new(db, once_key="confirm:1")
    assert await jobs.made_by(db, "confirm:1") == job_id
    assert await db.read(lambda tx: jobs.made_by_in(tx, "confirm:1")) == job_id
    assert await jobs.made_by(db, "confirm:2") is None
    with pytest.raises(jobs.OnceTaken) as taken:
        await new(db, once_key="confirm:1")
    assert taken.value.job_id == job_id
    assert await jobs.count(db) == 1


async def test_two_presses_at_once_make_one_job(db: Database) -> None:
    """On PostgreSQL the two transactions truly overlap: the second waits, then finds the first's."""
    results = await asyncio.gather(*(new(db, once_key="confirm:9") for _ in range(6)), return_exceptions=True)
    made = [r for r in results if isinstance(r, int)]
    assert len(made) == 1 and all(
        isinstance(r, jobs.OnceTaken) and r.job_id == made[0] for r in results if r not in made
    )
    assert await jobs.count(db) == 1


async def test_an_id_that_exists_is_still_an_error(db: Database) -> None:
    job_id = await new(db)
    with pytest.raises(INTEGRITY_ERRORS):
        await new(db, id=job_id)


async def test_undelivered_and_timings(db: Database) -> None:
    job_id = await new(db, message_id=55, submitted_at=100.0)
    await db.write(
        lambda tx: jobs.transition_in(
            tx, job_id, (JobState.QUEUED,), JobState.SUCCEEDED, finished_at=130.0, generation_seconds=None
        )
    )
    assert await jobs.undelivered(db) == [job_id]
    [took] = await jobs.recent_timings(db, limit=5)
    assert (took.profile, took.seconds) == ("test", 30.0)
    await jobs.update(db, job_id, delivered_at=140.0)
    assert await jobs.undelivered(db) == []


async def test_downtime_moves_deadlines_once(db: Database) -> None:
    assert await engine_state.credit_downtime(db, 1000.0) == (0.0, 0)
    job_id = await new(db, deadline_at=1100.0)
    await engine_state.beat(db, 1010.0)
    assert await engine_state.credit_downtime(db, 1060.0) == (50.0, 1)
    job = await jobs.get(db, job_id)
    assert job is not None and job.deadline_at == 1150.0
    assert await engine_state.credit_downtime(db, 1060.0) == (0.0, 0)
