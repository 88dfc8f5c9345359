"""``/jobs list|show|cancel`` for members and managers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, Member
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript


def button_ids(message: StoredMessage) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"] if "custom_id" in c]


async def reply_to(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    return fake.original_message(handle)


async def run(stack: Stack, prompt: str, user: Member | None = None) -> int:
    handle = await stack.discord.invoke_slash("sora", {"prompt": prompt}, user=user)
    return (await stack.settle(handle)).id


async def test_jobs_list_shows_mine_newest_first(stack: Stack) -> None:
    fake = stack.discord
    bob = fake.add_member(stack.guild_id, "bob")
    await stack.grant(20)
    await stack.grant(20, bob.user.id)
    first = await run(stack, "First: a fox in the snow")
    theirs = await run(stack, "Bob's: a whale in the sky", bob)
    second = await run(stack, "Second: a kite over dunes")

    reply = await reply_to(fake, await fake.invoke_slash("jobs list"))
    assert reply.ephemeral
    text = reply.embeds[0]["description"]
    assert f"#{second}" in text and f"#{first}" in text and f"#{theirs}" not in text
    assert text.index(f"#{second}") < text.index(f"#{first}")
    assert "✅" in text and "<t:" in text and "Second: a kite" in text

    refused = await reply_to(fake, await fake.invoke_slash("jobs list", {"all": True}))
    assert refused.ephemeral and "Only server managers" in refused.content

    manager = fake.guild.members[fake.owner.id]
    every = await reply_to(fake, await fake.invoke_slash("jobs list", {"all": True}, user=manager))
    listing = every.embeds[0]["description"]
    assert all(f"#{n}" in listing for n in (first, theirs, second))
    assert f"<@{bob.user.id}>" in listing and every.mentions == []


async def test_jobs_list_when_there_are_none(stack: Stack) -> None:
    reply = await reply_to(stack.discord, await stack.discord.invoke_slash("jobs list"))
    assert "No jobs yet" in reply.embeds[0]["description"]


async def test_jobs_show_reposts_the_card_with_its_buttons(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job_id = await run(stack, "A lantern festival over a river")
    card = await reply_to(fake, await fake.invoke_slash("jobs show", {"id": job_id}))
    assert not card.ephemeral
    assert "A lantern festival" in card.embeds[0]["description"] and f"Job #{job_id}" in str(card.embeds)
    assert f"soracord:job:details:{job_id}" in button_ids(card)

    # The re-posted card's buttons work like the original's.
    press = await fake.invoke_component(card, f"soracord:job:details:{job_id}")
    assert "A lantern festival" in (await reply_to(fake, press)).embeds[0]["description"]

    bob = fake.add_member(stack.guild_id, "bob")
    refused = await reply_to(fake, await fake.invoke_slash("jobs show", {"id": job_id}, user=bob))
    assert refused.ephemeral and "belongs to" in refused.content and refused.mentions == []
    missing = await reply_to(fake, await fake.invoke_slash("jobs show", {"id": 999}))
    assert missing.ephemeral and "no job #999" in missing.content

    manager = fake.guild.members[fake.owner.id]
    shown = await reply_to(fake, await fake.invoke_slash("jobs show", {"id": job_id}, user=manager))
    assert not shown.ephemeral and shown.embeds


@pytest.fixture
async def one_at_a_time(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> AsyncIterator[Stack]:
    profile = vendor.profile(max_concurrent=1, keys=(vendor.api_key(),))
    async for s in make_stack(tmp_path, fake_discord, vendor, profile):
        yield s


async def test_jobs_cancel_only_while_queued_and_only_mine(one_at_a_time: Stack) -> None:
    stack = one_at_a_time
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    first = await fake.invoke_slash("sora", {"prompt": "The first, which never ends"})
    await fake.wait_for_message(lambda m: m.interaction_id == first.id and "Rendering" in str(m.embeds))
    running = await stack.job_for(first)
    second = await fake.invoke_slash("sora", {"prompt": "The second, waiting its turn"})
    queued = await stack.job_for(second)
    assert await stack.balance() == 2

    late = await reply_to(fake, await fake.invoke_slash("jobs cancel", {"id": running.id}))
    assert late.ephemeral and "can no longer be cancelled" in late.content

    bob = fake.add_member(stack.guild_id, "bob")
    refused = await reply_to(fake, await fake.invoke_slash("jobs cancel", {"id": queued.id}, user=bob))
    assert refused.ephemeral and "belongs to" in refused.content
    assert (await jobs.get(stack.db, queued.id)).state == "queued"  # type: ignore[union-attr]

    done = await reply_to(fake, await fake.invoke_slash("jobs cancel", {"id": queued.id}))
    assert done.ephemeral and "Cancelled" in done.content and "4 credits" in done.content
    assert (await jobs.get(stack.db, queued.id)).state == "cancelled"  # type: ignore[union-attr]
    assert await stack.balance() == 6

    again = await reply_to(fake, await fake.invoke_slash("jobs cancel", {"id": queued.id}))
    assert "already ended" in again.content
    await stack.bot.engine.stop()


async def test_a_manager_may_cancel_a_members_queued_job(one_at_a_time: Stack) -> None:
    stack = one_at_a_time
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    first = await fake.invoke_slash("sora", {"prompt": "The first, which never ends"})
    await fake.wait_for_message(lambda m: m.interaction_id == first.id and "Rendering" in str(m.embeds))
    queued = await stack.job_for(await fake.invoke_slash("sora", {"prompt": "Waiting"}))
    manager = fake.guild.members[fake.owner.id]
    done = await reply_to(fake, await fake.invoke_slash("jobs cancel", {"id": queued.id}, user=manager))
    assert "Cancelled" in done.content
    assert await stack.balance() == 6
    await stack.bot.engine.stop()
