"""The engine end to end against the fake nanophoto: states, credits and restarts as a member sees them."""

from __future__ import annotations

import pytest

from bot.engine.admission import JobOrigin
from bot.engine.engine import Engine
from bot.errors import InsufficientCredits, InvalidRequest
from bot.providers.base import TextToVideo
from bot.providers.profiles import Timing
from storage import jobs, ledger
from tests.engine.conftest import GUILD, MEMBER, Harness, settle
from tests.fakes.nanophoto import TaskScript

PROMPT = TextToVideo(prompt="a red fox running through snow at dawn")


async def entry_kinds(h: Harness, job_id: int) -> list[str]:
    rows = await h.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id = $1 ORDER BY id", (job_id,))
    return [r["kind"] for r in rows]


async def test_success_holds_then_captures_and_reports_each_stage(harness: Harness) -> None:
    h = harness
    await h.grant(10)
    h.fake.script_next(TaskScript(stages=("queuing", "generating")))
    engine, seen = await h.make()

    job = await engine.admission.enqueue(h.origin, PROMPT)
    assert job.state == "queued" and job.cost == 4
    assert await ledger.balance(h.db, GUILD, MEMBER) == 6  # held at once
    await settle(engine)

    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state == "succeeded"
    assert done.remote_id and done.remote_id in h.fake.tasks
    assert done.video_url == h.fake.video_url(done.remote_id)
    assert await ledger.balance(h.db, GUILD, MEMBER) == 6  # spent, not returned
    assert await entry_kinds(h, job.id) == ["hold", "capture"]
    assert seen.states(job.id) == ["queued", "submitting", "running", "succeeded"]
    stages = [e.job.stage for e in seen.events if e.job.state == "running"]
    assert "queuing" in stages and "generating" in stages
    sent = h.fake.calls("generate")[0].json
    assert sent["videoDuration"] == "10" and sent["modelTier"] == "sora2" and sent["mode"] == "textToVideo"


async def test_generation_failed_releases_with_plain_words(harness: Harness) -> None:
    h = harness
    await h.grant(10)
    h.fake.script_next(TaskScript(outcome="failed"))
    engine, seen = await h.make()
    job = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state == "failed"
    assert done.error_code == "GENERATION_FAILED"
    assert "credits were returned" in (done.error_message or "")
    assert await ledger.balance(h.db, GUILD, MEMBER) == 10
    assert await entry_kinds(h, job.id) == ["hold", "release"]
    assert seen.events[-1].terminal


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [(402, "INSUFFICIENT_CREDITS", "admin"), (401, "LOGIN_REQUIRED", "admin")],
)
async def test_operator_fault_at_submit_fails_and_releases(
    harness: Harness, status: int, code: str, words: str
) -> None:
    h = harness
    await h.grant(10)
    h.fake.fail_next("generate", status=status, code=code, error="nope", requiredCredits=4)
    engine, _ = await h.make()
    job = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state == "failed" and done.error_code == code
    assert words in (done.error_message or "").lower()
    assert await ledger.balance(h.db, GUILD, MEMBER) == 10
    assert len(h.fake.calls("generate")) == 1  # a create is never retried blindly


async def test_poll_errors_back_off_and_the_job_still_finishes(harness: Harness) -> None:
    h = harness
    await h.grant(10)
    h.fake.fail_next("status", status=503, times=4)
    h.fake.malformed_next("status")
    engine, _ = await h.make()
    job = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state == "succeeded"


async def test_a_vendor_that_never_finishes_times_out_and_releases(harness: Harness) -> None:
    h = harness
    await h.grant(10)
    h.fake.script_next(TaskScript(outcome="never"))
    profile = h.fake.profile(
        timing=Timing(expected=0.02, first_poll=0.01, poll_interval=0.02, timeout=0.3, backoff_max=0.05)
    )
    engine, _ = await h.make(profile)
    job = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state == "timed_out"
    assert await ledger.balance(h.db, GUILD, MEMBER) == 10


async def test_not_enough_credits_stores_nothing(harness: Harness) -> None:
    h = harness
    await h.grant(3)
    engine, seen = await h.make()
    with pytest.raises(InsufficientCredits) as info:
        await engine.admission.enqueue(h.origin, PROMPT)
    assert (info.value.balance, info.value.cost) == (3, 4)
    assert await jobs.count(h.db) == 0
    assert [e.kind for e in await ledger.entries(h.db, GUILD, MEMBER)] == ["grant"]
    assert seen.events == [] and h.fake.requests == []


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (TextToVideo(prompt="   "), "prompt"),
        (TextToVideo(prompt="x" * 2001), "prompt"),
        (TextToVideo(prompt="ok", model="sora3-ultra"), "model"),
        (TextToVideo(prompt="ok", duration=12), "duration"),
    ],
)
async def test_invalid_requests_are_refused_before_anything_is_stored(
    harness: Harness, request_: TextToVideo, field: str
) -> None:
    h = harness
    await h.grant(10)
    engine, _ = await h.make()
    with pytest.raises(InvalidRequest) as info:
        await engine.admission.enqueue(h.origin, request_)
    assert info.value.field == field
    assert await jobs.count(h.db) == 0
    assert await ledger.balance(h.db, GUILD, MEMBER) == 10


async def test_welcome_credits_are_granted_once(harness: Harness) -> None:
    h = harness
    engine, _ = await h.make(welcome_credits=5)
    assert await engine.admission.balance(GUILD, MEMBER) == 5
    assert await engine.admission.balance(GUILD, MEMBER) == 5
    await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    assert await engine.admission.balance(GUILD, MEMBER) == 1
    grants = [e for e in await ledger.entries(h.db, GUILD, MEMBER) if e.kind == "grant"]
    assert len(grants) == 1


async def test_cancel_a_queued_job_returns_credits_at_once(harness: Harness) -> None:
    h = harness
    await h.grant(20)
    h.fake.script_next(TaskScript(outcome="never"))
    profile = h.fake.profile(keys=(h.fake.api_key(),), max_concurrent=1)
    engine, seen = await h.make(profile)
    first = await engine.admission.enqueue(h.origin, PROMPT)
    second = await engine.admission.enqueue(h.origin, PROMPT)
    assert engine.dispatcher.position(second.id) is not None
    assert await engine.admission.cancel(second.id)
    assert not await engine.admission.cancel(second.id)  # a second cancel changes nothing
    assert await ledger.balance(h.db, GUILD, MEMBER) == 16  # only the first job's 4 are held
    assert (await jobs.get(h.db, second.id)).state == "cancelled"  # type: ignore[union-attr]
    assert seen.states(second.id)[-1] == "cancelled"
    assert await engine.admission.cancel(first.id) is False  # already running: not cancellable here
    await engine.stop()


async def test_restart_resumes_running_jobs_and_fails_unconfirmed_submits(harness: Harness) -> None:
    h = harness
    await h.grant(20)
    h.fake.script_next(TaskScript(outcome="never"))
    engine, _ = await h.make()
    running = await engine.admission.enqueue(h.origin, PROMPT)
    for _ in range(200):  # wait (bounded) until the vendor knows the task
        row = await jobs.get(h.db, running.id)
        if row is not None and row.state == "running":
            break
        await engine.clock.sleep(0.01)
    await engine.stop()  # the bot goes down with the job in flight
    # A job that was being submitted when the bot died, with no remote id: it cannot be confirmed.
    async with h.db.transaction() as tx:
        lost = await jobs.insert(
            tx,
            guild_id=GUILD,
            channel_id=1,
            user_id=MEMBER,
            profile="nano",
            kind="text",
            model="sora2",
            duration=10,
            request_json=PROMPT.model_dump_json(),
            cost=4,
            state="submitting",
        )
        await ledger.hold(tx, GUILD, MEMBER, lost, 4)
    remote_id = (await jobs.get(h.db, running.id)).remote_id  # type: ignore[union-attr]
    assert remote_id is not None
    h.fake.finish(remote_id)

    restarted, _ = await h.make()
    await restarted.start()
    await settle(restarted)
    assert (await jobs.get(h.db, running.id)).state == "succeeded"  # type: ignore[union-attr]
    unconfirmed = await jobs.get(h.db, lost)
    assert (
        unconfirmed is not None and unconfirmed.state == "failed" and unconfirmed.error_code == "UNCONFIRMED"
    )
    assert await entry_kinds(h, lost) == ["hold", "release"]
    assert await entry_kinds(h, running.id) == ["hold", "capture"]
    assert await ledger.balance(h.db, GUILD, MEMBER) == 16
    assert len(h.fake.calls("generate")) == 1  # resuming never re-submits
    assert await ledger.invariant_violations(h.db) == []


async def test_rate_limited_submit_waits_and_never_fails_the_job(harness: Harness) -> None:
    h = harness
    await h.grant(10)
    h.fake.fail_next("generate", status=429, code="API_KEY_RATE_LIMIT_EXCEEDED", error="slow down")
    timing = Timing(
        expected=0.02,
        first_poll=0.01,
        poll_interval=0.01,
        timeout=5,
        backoff_max=0.05,
        rate_limit_cooldown=0.05,
    )
    engine, _ = await h.make(h.fake.profile(timing=timing))
    job = await engine.admission.enqueue(h.origin, PROMPT)
    await settle(engine)
    done = await jobs.get(h.db, job.id)
    assert done is not None and done.state == "succeeded"
    assert len(h.fake.calls("generate")) == 2


def test_engine_needs_a_profile() -> None:
    with pytest.raises(ValueError):
        Engine(None, {}, {})  # type: ignore[arg-type]


async def test_crash_between_hold_and_submit_ends_with_exactly_one_capture(harness: Harness) -> None:
    h = harness
    await h.grant(10)
    async with h.db.transaction() as tx:  # what enqueue left behind when the bot died before submitting
        job_id = await jobs.insert(
            tx,
            guild_id=GUILD,
            channel_id=1,
            user_id=MEMBER,
            profile="nano",
            kind="text",
            model="sora2",
            duration=10,
            request_json=PROMPT.model_dump_json(),
            cost=4,
        )
        await ledger.hold(tx, GUILD, MEMBER, job_id, 4)
    engine, _ = await h.make()
    await engine.start()
    await settle(engine)
    await engine.start()  # a second start (another restart) finds nothing left to do
    await settle(engine)
    assert (await jobs.get(h.db, job_id)).state == "succeeded"  # type: ignore[union-attr]
    assert await entry_kinds(h, job_id) == ["hold", "capture"]
    assert await ledger.balance(h.db, GUILD, MEMBER) == 6
    assert len(h.fake.calls("generate")) == 1


async def test_server_caps_are_checked_with_the_hold(harness: Harness) -> None:
    from bot.engine.caps import CapReached
    from storage import guilds

    h = harness
    await h.grant(100)
    h.fake.script_next(TaskScript(outcome="never"), TaskScript(outcome="never"))
    await guilds.update(h.db, GUILD, max_active_per_member=1)
    engine, _ = await h.make()
    await engine.admission.enqueue(h.origin, PROMPT)
    with pytest.raises(CapReached, match="1 at a time"):
        await engine.admission.enqueue(h.origin, PROMPT)
    await guilds.update(h.db, GUILD, max_active_per_member=None, max_active_per_server=1)
    other = h.origin.__class__(guild_id=GUILD, channel_id=1, user_id=MEMBER + 1)
    async with h.db.transaction() as tx:
        await ledger.grant(tx, GUILD, MEMBER + 1, 10, actor_id=None, reason="t")
    with pytest.raises(CapReached, match="This server already has 1"):
        await engine.admission.enqueue(other, PROMPT)
    assert await jobs.count(h.db) == 1
    assert await ledger.balance(h.db, GUILD, MEMBER + 1) == 10
    await engine.stop()


async def test_server_multiplier_rounds_up(harness: Harness) -> None:
    from storage import guilds

    h = harness
    engine, _ = await h.make()
    await guilds.update(h.db, GUILD, price_multiplier=1.1)
    assert (await engine.admission.quote(PROMPT, GUILD)).cost == 5  # 4 × 1.1 = 4.4 → 5
    assert (
        await engine.admission.quote(PROMPT, GUILD + 1)
    ).cost == 4  # other servers keep the provider's price


async def test_queue_is_fair_across_members_and_shows_positions(harness: Harness) -> None:
    h = harness
    alice, bob = h.origin, JobOrigin(guild_id=GUILD, channel_id=222, user_id=MEMBER + 1)
    await h.grant(100)
    async with h.db.transaction() as tx:
        await ledger.grant(tx, GUILD, MEMBER + 1, 100, actor_id=None, reason="t")
    h.fake.script_next(*[TaskScript(stages=("generating",) * 3) for _ in range(4)])
    profile = h.fake.profile(keys=(h.fake.api_key(),), max_concurrent=1)
    engine, seen = await h.make(profile)
    a1 = await engine.admission.enqueue(alice, PROMPT)
    a2 = await engine.admission.enqueue(alice, PROMPT)
    a3 = await engine.admission.enqueue(alice, PROMPT)
    b1 = await engine.admission.enqueue(bob, PROMPT)
    await settle(engine)
    order = [r["id"] for r in await h.db.fetchall("SELECT id FROM jobs ORDER BY submitted_at")]
    # Bob did not wait behind all of Alice's jobs: his is second or third (whether Alice's first was
    # handed out before her second was queued is up to the event loop), never behind her third.
    assert order[0] == a1.id and order[-1] == a3.id and set(order[1:3]) == {a2.id, b1.id}
    positions = {e.queue_position for e in seen.events if e.job.id == b1.id and e.job.state == "queued"}
    assert {2, 1} <= positions  # bob went ahead of alice's third job and watched his place go 2 → 1
    assert all(e.eta_seconds is not None for e in seen.events if e.job.active)
