"""The ledger against a plain Python model, under any sequence of grants, holds, settlements and replays.

Hypothesis drives a state machine over two guilds x two members. Each example gets a fresh SQLite
file and its own event loop (stateful tests are synchronous, so the machine runs the async ledger
with ``loop.run_until_complete``). After every step the database must agree with the model:

* every balance is >= 0 and equals the sum of its member's entries (``invariant_violations() == []``);
* every balance equals the model's (grants minus holds plus releases);
* no job has two holds or two settlements, and each job's entries are exactly what the model says;
* a refused hold left no job row behind.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from storage import jobs, ledger
from storage.ledger import NotEnoughCredits
from tests.backend import open_database

NewJob = Callable[..., Awaitable[int]]
Member = tuple[int, int]
T = TypeVar("T")

MEMBERS: list[Member] = [(guild, user) for guild in (1, 2) for user in (11, 12)]
ADMIN = 99

# What the model expects of a job's entries, by its state.
ENTRIES_BY_STATE = {
    "unheld": [],
    "held": ["hold"],
    "captured": ["hold", "capture"],
    "released": ["hold", "release"],
}


class LedgerMachine(RuleBasedStateMachine):
    jobs = Bundle("jobs")

    def __init__(self, path: Path, new_job: NewJob) -> None:
        super().__init__()
        self.new_job = new_job
        self.loop = asyncio.new_event_loop()
        self.db = self.loop.run_until_complete(open_database(path))
        self.balance: dict[Member, int] = dict.fromkeys(MEMBERS, 0)
        self.job_member: dict[int, Member] = {}
        self.job_cost: dict[int, int] = {}
        self.job_state: dict[int, str] = {}

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.run(self.db.close())
        finally:
            self.loop.close()

    # --- what the ledger's callers do ---------------------------------------------------------

    async def _insert(self, tx: Any, member: Member, cost: int) -> int:
        return await self.new_job(tx, guild_id=member[0], user_id=member[1], cost=cost)

    def _expect_hold(self, job_id: int | None, member: Member, cost: int) -> int | None:
        """Hold ``cost`` for ``job_id`` (a new job when None) in one transaction; check it against the model."""

        async def go() -> tuple[int, bool]:
            async with self.db.transaction() as tx:
                jid = job_id if job_id is not None else await self._insert(tx, member, cost)
                return jid, await ledger.hold(tx, member[0], member[1], jid, cost)

        jobs_before = len(self.job_state)
        if self.balance[member] >= cost:
            jid, held = self.run(go())
            assert held is True
            self.balance[member] -= cost
            self.job_member[jid], self.job_cost[jid], self.job_state[jid] = member, cost, "held"
            return jid
        with pytest.raises(NotEnoughCredits) as refused:
            self.run(go())
        assert (refused.value.balance, refused.value.cost) == (self.balance[member], cost)
        assert len(self.job_state) == jobs_before
        return None

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(1, 20))
    def grant(self, member: Member, amount: int) -> None:
        async def go() -> None:
            async with self.db.transaction() as tx:
                await ledger.grant(tx, member[0], member[1], amount, actor_id=ADMIN, reason="top-up")

        self.run(go())
        self.balance[member] += amount

    @rule(target=jobs, member=st.sampled_from(MEMBERS), cost=st.integers(0, 12))
    def enqueue(self, member: Member, cost: int) -> Any:
        """A new job and its hold in one transaction; a refused hold leaves no job."""
        job_id = self._expect_hold(None, member, cost)
        return multiple() if job_id is None else job_id

    @rule(target=jobs, member=st.sampled_from(MEMBERS), cost=st.integers(0, 12))
    def job_without_hold(self, member: Member, cost: int) -> int:
        """A job row with no hold yet: nothing to capture or release."""

        async def go() -> int:
            async with self.db.transaction() as tx:
                return await self._insert(tx, member, cost)

        job_id = self.run(go())
        self.job_member[job_id], self.job_cost[job_id], self.job_state[job_id] = member, cost, "unheld"
        return job_id

    @rule(job_id=jobs)
    def hold_again(self, job_id: int) -> None:
        """A replayed hold is a no-op whatever the balance; on an unheld job it is the first hold."""
        member, cost = self.job_member[job_id], self.job_cost[job_id]
        if self.job_state[job_id] == "unheld":
            self._expect_hold(job_id, member, cost)
            return

        async def go() -> bool:
            async with self.db.transaction() as tx:
                return await ledger.hold(tx, member[0], member[1], job_id, cost)

        assert self.run(go()) is False

    def _settle_in(self, how: str, job_id: int) -> Callable[[Any], Awaitable[bool]]:
        if how == "capture":
            return lambda tx: ledger.capture(tx, job_id)
        return lambda tx: ledger.release(tx, job_id, "failed")

    def _apply(self, how: str, job_id: int, done: bool) -> None:
        expected = self.job_state[job_id] == "held"
        assert done is expected, (how, job_id, self.job_state[job_id])
        if done:
            self.job_state[job_id] = "captured" if how == "capture" else "released"
            if how == "release":
                self.balance[self.job_member[job_id]] += self.job_cost[job_id]

    @rule(job_id=jobs, how=st.sampled_from(["capture", "release"]))
    def settle(self, job_id: int, how: str) -> None:
        """Capture or release; a second settlement of any kind is a no-op."""
        step = self._settle_in(how, job_id)

        async def go() -> bool:
            async with self.db.transaction() as tx:
                return await step(tx)

        self._apply(how, job_id, self.run(go()))

    @rule(
        job_id=jobs,
        first=st.sampled_from(["capture", "release"]),
        second=st.sampled_from(["capture", "release"]),
    )
    def settle_twice_in_one_transaction(self, job_id: int, first: str, second: str) -> None:
        """A duplicate inside one transaction must not poison it: the first settlement still commits."""
        steps = self._settle_in(first, job_id), self._settle_in(second, job_id)

        async def go() -> tuple[bool, bool]:
            async with self.db.transaction() as tx:
                return await steps[0](tx), await steps[1](tx)

        done_first, done_second = self.run(go())
        self._apply(first, job_id, done_first)
        assert done_second is False

    # --- what must hold after every step ------------------------------------------------------

    @invariant()
    def balances_match_entries_and_model(self) -> None:
        async def go() -> tuple[Any, list[str], dict[Member, int]]:
            low = await self.db.fetchone("SELECT MIN(balance) AS low FROM balances")
            problems = await ledger.invariant_violations(self.db)
            seen = {m: await ledger.balance(self.db, *m) for m in MEMBERS}
            return low["low"] if low else None, problems, seen

        low, problems, seen = self.run(go())
        assert low is None or low >= 0
        assert problems == []
        assert seen == self.balance

    @invariant()
    def each_job_held_once_and_settled_once(self) -> None:
        async def go() -> tuple[list[Any], dict[int, list[str]], int]:
            doubled = await self.db.fetchall(
                "SELECT job_id FROM ledger_entries WHERE job_id IS NOT NULL GROUP BY job_id"
                " HAVING SUM(CASE WHEN kind = 'hold' THEN 1 ELSE 0 END) > 1"
                " OR SUM(CASE WHEN kind IN ('capture', 'release') THEN 1 ELSE 0 END) > 1"
            )
            rows = await self.db.fetchall(
                "SELECT job_id, kind FROM ledger_entries WHERE job_id IS NOT NULL ORDER BY id"
            )
            by_job: dict[int, list[str]] = {}
            for row in rows:
                by_job.setdefault(row["job_id"], []).append(row["kind"])
            return list(doubled), by_job, await jobs.count(self.db)

        doubled, by_job, job_rows = self.run(go())
        assert doubled == []
        assert job_rows == len(self.job_state), "a refused hold must leave no job row"
        for job_id, state in self.job_state.items():
            assert by_job.get(job_id, []) == ENTRIES_BY_STATE[state], (job_id, state)
        assert set(by_job) <= set(self.job_state)


def test_ledger_agrees_with_its_model(tmp_path: Path, new_job: NewJob) -> None:
    counter = itertools.count()

    class FreshFilePerExample(LedgerMachine):
        def __init__(self) -> None:
            super().__init__(tmp_path / f"example-{next(counter)}.db", new_job)

    run_state_machine_as_test(
        FreshFilePerExample,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
