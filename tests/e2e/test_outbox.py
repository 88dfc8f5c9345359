"""The result goes out exactly once: whatever happens to the card, to the answer, to the channel.

Counted at the fake Discord: a result is a message by the bot carrying the job's Details button.
The fake honours ``nonce`` + ``enforce_nonce`` on Create Message as Discord documents it (a repeat
within the window answers with the message already made), so "once" is what Discord would show.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs, ledger, outbox
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, Perm, StoredMessage
from tests.fakes.discord import records as r
from tests.fakes.discord.payloads import JSON, Channel
from tests.fakes.nanophoto import FakeNanophoto, TaskScript

PROMPT = "A paper boat drifting down a rainy street, macro lens"
HOOK_EDIT = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
CHANNEL_EDIT = "/channels/{channel_id}/messages/{message_id}"
CREATE = "/channels/{channel_id}/messages"


def results(fake: FakeDiscord, job_id: int) -> list[StoredMessage]:
    """The job's result messages, whichever route posted them (deleted ones left out)."""
    want = f"soracord:job:details:{job_id}"
    return [
        m
        for m in fake.messages.by_id.values()
        if m.author_id == fake.bot_user.id
        and not m.deleted
        and any(c.get("custom_id") == want for row in m.components for c in row.get("components", []))
    ]


class LongLinks(FakeNanophoto):
    """A vendor whose video links carry a signature long enough to break a 1,024-character field."""

    link_chars = 1500

    def video_url(self, job_id: str) -> str:
        base = super().video_url(job_id) + "?sig="
        return base + "a" * (self.link_chars - len(base))


@pytest.fixture
async def long_links() -> AsyncIterator[LongLinks]:
    async with LongLinks() as fake:
        yield fake


async def finish_with_broken_card(stack: Stack) -> tuple[int, int]:
    """A job whose every card edit from the moment it finishes is refused; returns (job id, card edits refused)."""
    fake = stack.discord
    stack.vendor.script_next(TaskScript(outcome="never"))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and "Rendering" in str(m.embeds))
    job = await stack.job_for(handle)  # submitted: it has its remote id
    since = len(fake.requests)
    for route in (HOOK_EDIT, CHANNEL_EDIT):
        fake.fail_next(route, method="PATCH", times=50, error=r.INVALID_FORM_BODY)
    stack.vendor.finish(job.remote_id or "")
    await stack.settle(handle)
    refused = [q for q in fake.requests[since:] if q.route in (HOOK_EDIT, CHANNEL_EDIT) and q.status == 400]
    return job.id, len(refused)


@pytest.mark.parametrize(
    ("link_chars", "upload_limit"), [(1500, None), (1950, 1024)], ids=["uploaded", "linked"]
)
async def test_a_failing_card_edit_still_posts_the_result_once(
    tmp_path: Path,
    fake_discord: FakeDiscord,
    long_links: LongLinks,
    link_chars: int,
    upload_limit: int | None,
) -> None:
    long_links.link_chars = link_chars
    async for stack in make_stack(tmp_path, fake_discord, long_links):
        if upload_limit is not None:
            fake_discord.set_upload_limit(stack.guild_id, upload_limit)
        await stack.grant(10)
        job_id, refused = await finish_with_broken_card(stack)
        assert refused >= 1  # the card could not be updated ...
        (result,) = results(fake_discord, job_id)  # ... and the result went out, once
        done = await jobs.get(stack.db, job_id)
        assert done is not None and done.state == "succeeded" and done.delivered_at is not None
        assert result.mentions == [stack.member_id] and len(result.content) <= 2000
        if upload_limit is None:
            assert result.attachments[0]["filename"] == f"video-{job_id}.mp4"
        else:  # a link that does not fit the message whole is shown whole, in an embed
            assert not result.attachments and (done.video_url or "") not in result.content
            assert len(done.video_url or "") == 1950 and "Open the video" in result.embeds[0]["description"]
        row = await outbox.get(stack.db, job_id)
        assert row is not None and row.state == "sent" and row.message_id == result.id
        assert await stack.balance() == 6


async def test_a_lost_answer_is_repeated_with_the_nonce_and_posts_nothing_new(stack: Stack) -> None:
    """Discord made the message but the answer was lost (here: a 500 after storing it); the retry
    carries the same nonce and gets the message back."""
    fake = stack.discord
    lost: list[int] = []

    async def lose_the_first_answer(message: StoredMessage) -> None:
        if not lost:
            lost.append(message.id)
            raise r.fail(r.SERVER_ERROR)

    fake.after_channel_message = lose_the_first_answer
    await stack.grant(10)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    (result,) = results(fake, job.id)
    assert lost == [result.id]
    posts = [q for q in fake.requests_to(CREATE, "POST") if q.json and q.json.get("nonce")]
    assert len(posts) == 2 and posts[0].json["nonce"] == posts[1].json["nonce"]
    assert all(q.json["enforce_nonce"] is True for q in posts)
    assert fake.nonces.repeats == [posts[0].json["nonce"]]
    assert posts[1].response["id"] == str(result.id) and posts[1].response["nonce"] == posts[0].json["nonce"]
    row = await outbox.get(stack.db, job.id)
    assert row is not None and row.state == "sent" and row.message_id == result.id


async def interrupted_long_ago(stack: Stack, job_id: int) -> None:
    """As if the bot died after posting the result, and came back after Discord forgot the nonce."""
    async with stack.db.transaction() as tx:
        await tx.execute(
            "UPDATE deliveries SET state = 'claimed', claimed_at = $1, message_id = NULL WHERE job_id = $2",
            (time.time() - 600, job_id),
        )
        await tx.execute("UPDATE jobs SET delivered_at = NULL WHERE id = $1", (job_id,))
    stack.discord.nonces.forget()


async def deliver_again(stack: Stack, job_id: int) -> None:
    row = await jobs.get(stack.db, job_id)
    assert row is not None
    await stack.bot.delivery.on_job_event(stack.bot.engine.events.describe(row))
    async with asyncio.timeout(10):
        await stack.bot.delivery.wait_idle()


async def test_an_interrupted_result_older_than_the_nonce_is_found_not_posted_again(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": PROMPT}))
    (result,) = results(fake, job.id)
    await interrupted_long_ago(stack, job.id)
    since = len(fake.requests)
    await deliver_again(stack, job.id)
    assert results(fake, job.id) == [result]
    later = fake.requests[since:]
    assert any(q.route == CREATE and q.method == "GET" for q in later)  # it looked ...
    assert not any(q.route == CREATE and q.method == "POST" for q in later)  # ... and posted nothing
    row = await outbox.get(stack.db, job.id)
    assert row is not None and row.state == "sent" and row.message_id == result.id
    done = await jobs.get(stack.db, job.id)
    assert done is not None and done.delivered_at is not None


async def test_an_interrupted_result_that_is_not_in_the_channel_is_posted(stack: Stack) -> None:
    """The search finds nothing (a moderator deleted it, or it never landed): it goes out, once."""
    fake = stack.discord
    await stack.grant(10)
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": PROMPT}))
    (first,) = results(fake, job.id)
    await fake.delete_message(first.channel_id, first.id)
    await interrupted_long_ago(stack, job.id)
    await deliver_again(stack, job.id)
    (again,) = results(fake, job.id)
    assert again.id != first.id


@pytest.fixture
async def quick_retries(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, vendor):
        s.bot.delivery.results.retry_delays = (0.05, 0.05, 0.05)
        yield s


async def test_a_refused_result_is_tried_again(quick_retries: Stack) -> None:
    stack, fake = quick_retries, quick_retries.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and "Rendering" in str(m.embeds))
    job = await stack.job_for(handle)  # submitted: it has its remote id
    fake.fail_next(CREATE, method="POST", times=2, error=r.MISSING_ACCESS)
    fake.age_interaction(handle, 901)  # no interaction to fall back on: the channel or nothing
    stack.bot.delivery.clock = lambda: time.time() + 901
    stack.vendor.finish(job.remote_id or "")
    await stack.settle(handle)
    (result,) = results(fake, job.id)
    assert result.via == "channel"
    row = await outbox.get(stack.db, job.id)
    assert row is not None and row.state == "sent" and row.attempts == 3
    assert row.last_error is not None and "50001" in row.last_error


async def test_a_channel_the_bot_may_no_longer_post_in_gets_the_result_through_the_interaction(
    stack: Stack,
) -> None:
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and "Rendering" in str(m.embeds))
    job = await stack.job_for(handle)  # submitted: it has its remote id
    await fake.deny_bot(fake.channel.id, Perm.SEND_MESSAGES)
    stack.vendor.finish(job.remote_id or "")
    await stack.settle(handle)
    (result,) = results(fake, job.id)
    assert result.via == "followup" and result.mentions == [stack.member_id]


async def test_the_result_replies_to_the_card(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    (result,) = results(fake, job.id)
    assert result.data["type"] == 19 and result.data["message_reference"]["message_id"] == str(job.message_id)
    assert fake.answers(handle) == [result]
    seen: list[JSON] = []

    async def note(channel: Channel, body: JSON) -> None:
        seen.append(body)

    fake.before_channel_message = note  # nothing more is posted for a job already delivered
    await deliver_again(stack, job.id)
    assert seen == [] and results(fake, job.id) == [result]


async def test_a_history_page_of_long_reasons_fits_one_embed(stack: Stack) -> None:
    fake = stack.discord
    reason = "*_" * 100  # 200 characters, every one of them escaped: 400 on the page
    for _ in range(10):
        async with stack.db.transaction() as tx:
            await ledger.grant(tx, stack.guild_id, stack.member_id, 1, actor_id=fake.owner.id, reason=reason)
    handle = await fake.invoke_slash("credits history")
    await fake.wait_for_ack(handle)
    description = fake.original_message(handle).embeds[0]["description"]
    assert 3000 < len(description) <= 4096 and description.endswith("\n…")


async def test_a_result_with_no_card_to_reply_to_is_posted_all_the_same(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": PROMPT}))
    (first,) = results(fake, job.id)
    await fake.delete_message(first.channel_id, first.id)
    await interrupted_long_ago(stack, job.id)
    async with stack.db.transaction() as tx:
        await tx.execute("UPDATE jobs SET message_id = NULL WHERE id = $1", (job.id,))
    # The card is posted anew first; here that fails too, so there is nothing to reply to.
    fake.fail_next("/webhooks/{webhook_id}/{webhook_token}", method="POST", error=r.INVALID_FORM_BODY)
    await deliver_again(stack, job.id)
    (again,) = results(fake, job.id)
    assert "message_reference" not in again.data and again.mentions == [stack.member_id]
