"""Models come and go: a vendor that stops serving a model, and fallbacks that make the job instead.

The bot as members use it (fake Discord ↔ discord.py ↔ engine ↔ fake nanophoto): the vendor starts
answering "this model is not served", or "out of credits", and the test reads what members and
managers see, what the ledger holds, and what ``doctor`` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ops.checks import Context, Status
from bot.ops.doctor_models import check_models
from storage import jobs, ledger
from storage.states import JobState
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript

PROMPT = "a lighthouse in fog"


async def reply(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    return fake.original_message(handle)


@pytest.fixture
async def backup() -> AsyncIterator[FakeNanophoto]:
    async with FakeNanophoto() as fake:
        yield fake


@pytest.fixture
async def two(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, backup: FakeNanophoto
) -> AsyncIterator[Stack]:
    """``nano`` is the default profile; ``backup`` is a second nanophoto account, a credit cheaper."""
    spare = backup.profile("backup", prices={"sora2:10": 3})
    async for stack in make_stack(tmp_path, fake_discord, vendor, extra_profiles=[spare]):
        yield stack


async def manager_sets(stack: Stack, command: str, options: dict[str, object]) -> StoredMessage:
    boss = stack.discord.guild.members[stack.discord.owner.id]
    message = await reply(stack.discord, await stack.discord.invoke_slash(command, options, user=boss))
    assert message.ephemeral
    return message


async def test_a_model_the_vendor_stopped_serving_refunds_tells_managers_once_and_leaves_the_menus(
    two: Stack, vendor: FakeNanophoto
) -> None:
    fake = two.discord
    admin = next(c for c in fake.guild.channels.values() if c.name == "general")
    await manager_sets(two, "settings admin-channel", {"channel": admin.id})
    await two.grant(100)
    vendor.stop_serving()

    handles = await asyncio.gather(
        *(fake.invoke_slash("sora", {"prompt": f"{PROMPT} #{n}", "model": "nano/sora2"}) for n in range(5))
    )
    ended = [await two.settle(h) for h in handles]
    await two.bot.notices.wait_idle()

    assert [j.state for j in ended] == [JobState.FAILED] * 5
    assert await two.balance() == 100  # every hold came back
    for job in ended:
        kinds = [
            e.kind for e in await ledger.entries(two.db, two.guild_id, two.member_id) if e.job_id == job.id
        ]
        assert sorted(kinds) == ["hold", "release"]
        card = fake.original_message(handles[ended.index(job)])
        status = card.embeds[0]["fields"][0]["value"]
        assert status == (
            f"❌ Sora 2 is no longer offered by the provider; your {job.cost} credits were returned — pick"
            " another model."
        ), status
    assert 1 <= vendor.count(route="generate") <= 5  # jobs queued after the first answer are not sent

    notices = [m for m in fake.channel_messages(admin.id) if "no longer serves" in m.content]
    assert len(notices) == 1 and "**Sora 2**" in notices[0].content and "`nano`" in notices[0].content

    menu = await fake.invoke_autocomplete("sora", {}, focused="model")
    await fake.wait_for_ack(menu)
    assert menu.response_data is not None
    offered = [c["value"] for c in menu.response_data["choices"]]
    assert "nano/sora2" not in offered and "backup/sora2" in offered  # the other account still has it

    named = await reply(fake, await fake.invoke_slash("sora", {"prompt": PROMPT, "model": "nano/sora2"}))
    assert named.ephemeral and "no longer made by its provider" in named.content
    assert await two.balance() == 100

    rows = await check_models(
        Context(
            two.bot.settings, profiles=dict(two.bot.engine.catalog.profiles()), db=two.db, db_current=True
        )
    )
    gone = [r for r in rows if r.status is Status.FAIL]
    assert len(gone) == 1 and "no longer serves sora2" in gone[0].detail
    fake.assert_no_violations()


async def test_a_job_the_vendor_cannot_pay_for_is_made_by_the_fallback_for_less(
    two: Stack, vendor: FakeNanophoto, backup: FakeNanophoto
) -> None:
    await manager_sets(two, "settings fallback", {"kind": "text", "profiles": "backup"})
    await two.grant(10)
    vendor.fail_next("generate", status=402, code="INSUFFICIENT_CREDITS", error="Insufficient credits")
    backup.script_next(TaskScript())

    job = await two.settle(await two.discord.invoke_slash("sora", {"prompt": PROMPT}))

    assert (job.state, job.profile, job.cost) == (JobState.SUCCEEDED, "backup", 3)
    assert vendor.count(route="generate") == 1 and backup.count(route="generate") == 1
    entries = [e for e in await ledger.entries(two.db, two.guild_id, two.member_id) if e.job_id == job.id]
    assert sorted((e.kind, e.amount) for e in entries) == [("adjust", 1), ("capture", 0), ("hold", -4)]
    assert await two.balance() == 7  # held 4, trimmed to the fallback's 3, spent 3
    assert await ledger.invariant_violations(two.db) == []


async def test_a_refusal_caused_by_the_request_never_falls_back(
    two: Stack, vendor: FakeNanophoto, backup: FakeNanophoto
) -> None:
    await manager_sets(two, "settings fallback", {"kind": "text", "profiles": "backup"})
    await two.grant(10)
    vendor.fail_next("generate", status=400, code="PROMPT_REQUIRED", error="Prompt is required")

    job = await two.settle(await two.discord.invoke_slash("sora", {"prompt": PROMPT}))

    assert (job.state, job.profile) == (JobState.FAILED, "nano")
    assert backup.count(route="generate") == 0 and await two.balance() == 10


async def test_fallbacks_are_checked_when_set(two: Stack) -> None:
    unknown = await manager_sets(two, "settings fallback", {"kind": "text", "profiles": "nope"})
    assert "`profiles`" in unknown.content and "backup" in unknown.content
    cannot = await manager_sets(two, "settings fallback", {"kind": "tvc", "profiles": "backup"})
    assert "`profiles`" in cannot.content and "TV commercials" in cannot.content
    shown = await manager_sets(two, "settings fallback", {"kind": "text", "profiles": "backup nano"})
    assert "backup → nano" in str(shown.embeds)
    cleared = await manager_sets(two, "settings fallback", {"kind": "text"})
    assert "backup → nano" not in str(cleared.embeds)
    assert (await jobs.active(two.db)) == []


async def test_a_vendor_that_keeps_failing_opens_its_circuit_and_jobs_go_to_the_fallback(
    two: Stack, vendor: FakeNanophoto, backup: FakeNanophoto
) -> None:
    await manager_sets(two, "settings fallback", {"kind": "text", "profiles": "backup"})
    await two.grant(100)
    vendor.fail_next("generate", status=500, code="INTERNAL_ERROR", error="Internal server error", times=3)
    made = []
    for n in range(4):  # one after another, so the circuit sees each answer in turn
        made.append(await two.settle(await two.discord.invoke_slash("sora", {"prompt": f"{PROMPT} {n}"})))
    assert [(j.state, j.profile) for j in made] == [(JobState.SUCCEEDED, "backup")] * 4
    assert vendor.count(route="generate") == 3  # the fourth job never reached the failing vendor
    assert await two.balance() == 100 - 4 * 3
    assert await ledger.invariant_violations(two.db) == []
