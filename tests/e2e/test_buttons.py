"""The buttons under a job: who may press them, what they do, and that they survive a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import SoraBot
from bot.config import Settings
from bot.engine.engine import Engine
from bot.net import Fetcher
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.registry import build_provider
from storage import jobs
from storage.db import Database
from storage.jobs import JobRow
from tests.backend import open_database
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.fakes.openai_videos import FakeOpenAIVideos, VideoScript

PROMPT = "A paper boat drifting down a rainy street, macro lens"


def button_ids(message: StoredMessage) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row["components"] if "custom_id" in c]


def button_by_label(message: StoredMessage, label: str) -> str:
    for row in message.components:
        for c in row["components"]:
            if c.get("label") == label:
                return str(c["custom_id"])
    raise LookupError(f"no {label!r} button on {message.id}: {message.components}")


async def result_of(fake: FakeDiscord, job_id: int) -> StoredMessage:
    return await fake.wait_for_message(lambda m: f"soracord:job:details:{job_id}" in button_ids(m))


async def reply_to(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    return fake.original_message(handle)


async def finished_job(stack: Stack, prompt: str = PROMPT) -> tuple[JobRow, StoredMessage]:
    handle = await stack.discord.invoke_slash("sora", {"prompt": prompt})
    job = await stack.settle(handle)
    assert job.state == "succeeded"
    return job, await result_of(stack.discord, job.id)


NOT_YOURS = "or a server manager can use this button"


async def test_a_stranger_cannot_press_someone_elses_details(stack: Stack) -> None:
    """Details stay the owner's and the managers' (Again, Remix and Variation are riffs: test_riffs)."""
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    bob = fake.add_member(stack.guild_id, "bob")
    press = await fake.invoke_component(result, f"soracord:job:details:{job.id}", user=bob)
    reply = await reply_to(fake, press)
    assert reply.ephemeral and NOT_YOURS in reply.content and not reply.embeds
    assert f"<@{stack.member_id}>" in reply.content and reply.mentions == []
    assert await jobs.count(stack.db) == 1


async def test_details_show_everything_about_the_job(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    press = await fake.invoke_component(result, f"soracord:job:details:{job.id}")
    reply = await reply_to(fake, press)
    assert reply.ephemeral
    embed = reply.embeds[0]
    assert PROMPT in embed["description"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Profile"] == job.profile and fields["Model"] == job.model
    assert fields["Duration"] == "10 s" and fields["Orientation"] == "portrait"
    assert fields["Cost"] == f"{job.cost} credits spent"
    assert job.remote_id and job.remote_id in fields["Remote id"]
    assert (
        "Queued" in fields["Timings"] and "Submitted" in fields["Timings"] and "Finished" in fields["Timings"]
    )
    assert "total" in fields["Timings"]

    # A manager may look too.
    manager = fake.guild.members[fake.owner.id]
    press = await fake.invoke_component(result, f"soracord:job:details:{job.id}", user=manager)
    assert (await reply_to(fake, press)).embeds[0]["description"].startswith(PROMPT)


async def test_again_shows_the_cost_and_makes_the_same_request_once_confirmed(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    press = await fake.invoke_component(result, f"soracord:job:again:{job.id}")
    ask = await reply_to(fake, press)
    assert ask.ephemeral and "4 credits" in ask.content and "balance: 6" in ask.content
    assert await jobs.count(stack.db) == 1  # nothing happens before the confirmation

    confirm = await fake.invoke_component(ask, button_by_label(ask, "Confirm"))
    again = await stack.settle(confirm)
    assert again.id != job.id and again.state == "succeeded"
    assert again.request_json == job.request_json and again.profile == job.profile
    assert again.user_id == stack.member_id
    progress = fake.original_message(confirm)
    assert not progress.ephemeral and "✅" in str(progress.embeds)
    assert f"job #{again.id}" in fake.message(ask.channel_id, ask.id).content  # the question is answered
    assert await stack.balance() == 2


async def test_again_can_be_declined(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    ask = await reply_to(fake, await fake.invoke_component(result, f"soracord:job:again:{job.id}"))
    await reply_to(fake, await fake.invoke_component(ask, button_by_label(ask, "Cancel")))
    assert "nothing was charged" in fake.message(ask.channel_id, ask.id).content
    assert await jobs.count(stack.db) == 1 and await stack.balance() == 6


@pytest.fixture
async def lcon(tmp_path: Path, fake_discord: FakeDiscord) -> AsyncIterator[tuple[Stack, FakeOpenAIVideos]]:
    async with FakeOpenAIVideos(content_style="redirect") as vendor:
        async for s in make_stack(tmp_path, fake_discord, vendor, vendor.profile()):  # type: ignore[arg-type]
            yield s, vendor


async def test_remix_on_a_provider_that_remixes(lcon: tuple[Stack, FakeOpenAIVideos]) -> None:
    stack, vendor = lcon
    fake = stack.discord
    await stack.grant(1000)
    vendor.script_next(VideoScript(), VideoScript())
    job, result = await finished_job(stack)
    assert f"soracord:job:remix:{job.id}" in button_ids(result)
    press = await fake.invoke_component(result, f"soracord:job:remix:{job.id}")
    await fake.wait_for_ack(press)
    assert press.modal is not None
    submit = await fake.invoke_modal_submit(press, {"prompt": "Now at night, neon reflections"})
    ask = await reply_to(fake, submit)  # the same question as Again: what it costs, Confirm or Cancel
    assert ask.ephemeral and "Remix job" in ask.content and "Now at night" in ask.content
    assert await jobs.count(stack.db) == 1
    remix = await stack.settle(await fake.invoke_component(ask, button_by_label(ask, "Confirm")))
    assert remix.kind == "remix" and remix.state == "succeeded", (remix.error_code, remix.error_message)
    assert remix.request["source_remote_id"] == job.remote_id
    assert remix.request["prompt"] == "Now at night, neon reflections"
    (call,) = vendor.calls("remix")
    assert job.remote_id in call.path
    assert (await result_of(fake, remix.id)).attachments


async def test_remix_is_not_offered_where_the_provider_cannot(stack: Stack) -> None:
    await stack.grant(10)
    job, result = await finished_job(stack)
    assert button_ids(result) == [
        f"soracord:job:again:{job.id}",
        f"soracord:job:variation:{job.id}",
        f"soracord:job:details:{job.id}",
    ]


@pytest.fixture
async def one_at_a_time(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> AsyncIterator[Stack]:
    async for s in make_stack(
        tmp_path, fake_discord, vendor, vendor.profile(max_concurrent=1, keys=(vendor.api_key(),))
    ):
        yield s


async def test_cancel_while_queued_gives_the_credits_back(one_at_a_time: Stack) -> None:
    stack = one_at_a_time
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    first = await fake.invoke_slash("sora", {"prompt": "The first, which never ends"})
    await fake.wait_for_message(lambda m: m.interaction_id == first.id and "Rendering" in str(m.embeds))
    second = await fake.invoke_slash("sora", {"prompt": PROMPT})
    queued = await stack.job_for(second)
    cancel_id = f"soracord:job:cancel:{queued.id}"
    message = await fake.wait_for_message(
        lambda m: m.interaction_id == second.id and cancel_id in button_ids(m)
    )
    assert "⏳ Next in line" in str(message.embeds)  # first in line: no place to tell
    assert await stack.balance() == 2

    bob = fake.add_member(stack.guild_id, "bob")
    refused = await reply_to(fake, await fake.invoke_component(message, cancel_id, user=bob))
    assert NOT_YOURS in refused.content

    reply = await reply_to(fake, await fake.invoke_component(message, cancel_id))
    assert reply.ephemeral and "Cancelled" in reply.content
    assert await stack.balance() == 6
    row = await jobs.get(stack.db, queued.id)
    assert row is not None and row.state == "cancelled"
    cancelled = await fake.wait_for_message(
        lambda m: m.id == message.id and "Cancelled" in str(m.embeds) and not m.components
    )
    assert "credits returned" in str(cancelled.embeds)
    running = await fake.wait_for_message(
        lambda m: m.interaction_id == first.id and "Rendering" in str(m.embeds)
    )
    assert button_ids(running) == []  # a running job has no Cancel button
    await stack.bot.engine.stop()


async def test_buttons_work_after_a_restart(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    """Stop the bot after the result, start a new one on the same database: Details still answers."""
    profile = vendor.profile()
    config = Settings.model_validate(
        {
            "discord_token": fake_discord.token,
            "database_path": tmp_path / "bot.db",
            "dev_guild_id": fake_discord.guild.id,
            "welcome_credits": 0,
            "progress_edit_interval": 0.05,
            "fetch_allow_private": True,  # the fakes are on 127.0.0.1
        }
    )

    async def bot_on(db: Database, http: VendorHttp) -> SoraBot:
        engine = Engine(db, {profile.name: profile}, {profile.name: build_provider(profile, http)})
        return SoraBot(config, engine)

    private = Fetcher(allow_private=True)  # the fakes are on 127.0.0.1
    async with (
        private,
        VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=private) as http,
    ):
        db = await open_database(tmp_path / "bot.db")
        try:
            async with fake_discord.run_bot(await bot_on(db, http)) as first:
                assert isinstance(first, SoraBot)
                stack = Stack(fake_discord, vendor, db, first)
                await stack.grant(10)
                job, result = await finished_job(stack)
        finally:
            await db.close()

        db = await open_database(tmp_path / "bot.db")
        try:
            async with fake_discord.run_bot(await bot_on(db, http)) as second:
                assert isinstance(second, SoraBot)
                press = await fake_discord.invoke_component(result, f"soracord:job:details:{job.id}")
                reply = await reply_to(fake_discord, press)
                assert reply.ephemeral and PROMPT in reply.embeds[0]["description"]
                assert f"`{job.remote_id}`" in str(reply.embeds)
        finally:
            await db.close()
    fake_discord.assert_no_violations()
