"""The overdue alarm: a running job gets one more event when its estimate runs out (so its card stops
counting "a minute ago" and says it takes longer than usual), and none once it has ended or moved on."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from bot.engine import overdue
from bot.engine.clock import SystemClock
from bot.engine.events import Events
from storage.jobs import JobRow
from storage.states import JobState


def row(state: str = "running", **changes: Any) -> JobRow:
    base: dict[str, Any] = dict.fromkeys(f.name for f in dataclasses.fields(JobRow))
    base.update(
        id=5, guild_id=1, channel_id=1, user_id=1, profile="p", kind="text", model="m", duration=10,
        request_json='{"kind": "text", "prompt": "x"}', cost=4, polls=0, created_at=0.0, updated_at=0.0,
    )  # fmt: skip
    base.update(changes, state=JobState(state))
    return JobRow(**base)


class Recorder:
    def __init__(self, rows: dict[int, JobRow]) -> None:
        self.rows = rows
        self.emitted: list[JobRow] = []

    async def reload(self, job_id: int) -> JobRow | None:
        return self.rows.get(job_id)

    async def emit(self, job: JobRow) -> None:
        self.emitted.append(job)


@pytest.fixture(autouse=True)
def short_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overdue, "SLACK", 0.01)


async def test_a_running_job_gets_one_event_at_its_ready_time() -> None:
    clock = SystemClock()
    seen = Recorder({5: row()})
    alarm = overdue.OverdueAlarm(clock, seen.reload, seen.emit)
    alarm.watch(row(), clock.now() + 0.05)
    alarm.watch(row(), clock.now() + 0.05)  # the same estimate again: still one alarm
    await asyncio.sleep(0.03)
    assert seen.emitted == []
    await asyncio.sleep(0.1)
    assert [r.id for r in seen.emitted] == [5]
    await alarm.stop()


async def test_no_event_once_the_job_ended_or_when_it_runs_no_more() -> None:
    clock = SystemClock()
    seen = Recorder({5: row("succeeded")})
    alarm = overdue.OverdueAlarm(clock, seen.reload, seen.emit)
    alarm.watch(row(), clock.now() + 0.02)
    alarm.watch(row(id=6), clock.now() + 0.02)
    alarm.watch(row("failed", id=6), None)  # job 6 ended: its alarm is cancelled
    await asyncio.sleep(0.1)
    assert seen.emitted == []
    await alarm.stop()


async def test_events_carry_their_moment_the_line_and_set_the_alarm() -> None:
    clock = SystemClock()
    start = clock.now()
    seen = Recorder({5: row(submitted_at=start)})
    events = Events(
        lambda _id: None,
        lambda _job, _pos: max(0.0, start + 0.05 - clock.now()),  # as ``estimates.eta`` counts down
        clock=clock,
        reload=seen.reload,
    )

    class Observer:
        def __init__(self) -> None:
            self.got: list[Any] = []

        async def on_job_event(self, event: Any) -> None:
            self.got.append(event)

    watcher = Observer()
    events.subscribe(watcher)
    await events.emit(seen.rows[5])
    (first,) = watcher.got
    assert first.at is not None and first.ready_at == pytest.approx(first.at + 0.05)
    assert not first.overdue
    await asyncio.sleep(0.2)  # the alarm re-emits the job once, overdue; then it stays quiet
    assert len(watcher.got) == 2 and watcher.got[1].overdue
    await events.stop()


def test_peek_does_not_tell_the_line() -> None:
    told: list[int] = []

    def tell(job_id: int) -> int:
        told.append(job_id)
        return 3

    events = Events(tell, lambda _j, _p: None, peek=lambda _id: 3, line=lambda _id: 7)
    quiet = events.describe(row("queued"), tell=False)
    assert (quiet.queue_position, quiet.queue_length, quiet.ahead, told) == (3, 7, 2, [])
    assert events.describe(row("queued")).queue_position == 3 and told == [5]
