"""A member is always answered: a refusal after the command deferred still reaches them when
Discord will not take it the usual way (the "thinking…" message cannot be removed or edited, or
followups fail too)."""

from __future__ import annotations

from storage import jobs
from tests.e2e.conftest import Stack
from tests.fakes.discord import records as r

ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
FOLLOWUP = "/webhooks/{webhook_id}/{webhook_token}"
NOT_AN_IMAGE = b"just some words\n" * 4  # refused after the defer, once its bytes are read


async def refused_after_the_defer(stack: Stack) -> int:
    fake = stack.discord
    attachment = fake.make_attachment(NOT_AN_IMAGE, "cat.png", width=64, height=48)
    handle = await fake.invoke_slash("sora", {"prompt": "The cat blinks", "image": attachment})
    await fake.wait_for_ack(handle)
    return handle.id


async def test_a_refusal_the_thinking_message_cannot_take_goes_as_a_fresh_followup(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    fake.fail_next(ORIGINAL, method="DELETE", error=r.UNKNOWN_MESSAGE)
    fake.fail_next(ORIGINAL, method="PATCH", error=r.UNKNOWN_MESSAGE)
    handle_id = await refused_after_the_defer(stack)
    reply = await fake.wait_for_message(
        lambda m: m.interaction_id == handle_id and "a text file" in m.content and not m.loading
    )
    # Discord's rule: the first followup after a deferral replaces the "thinking…" message, which
    # keeps its own (public) visibility. Answered in place, pinging nobody.
    assert reply.via == "callback" and reply.edits[-1].via == "followup" and reply.mentions == []
    assert await jobs.count(stack.db) == 0


async def test_when_no_interaction_route_is_taken_the_refusal_is_a_channel_message(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    fake.fail_next(ORIGINAL, method="DELETE", error=r.UNKNOWN_MESSAGE)
    fake.fail_next(ORIGINAL, method="PATCH", error=r.UNKNOWN_MESSAGE)
    fake.fail_next(FOLLOWUP, method="POST", times=2, error=r.UNKNOWN_WEBHOOK)
    await refused_after_the_defer(stack)
    member = stack.member_id
    notice = await fake.wait_for_message(lambda m: m.via == "channel" and "a text file" in m.content)
    assert notice.content.startswith(f"<@{member}>, about your request:")
    assert notice.mentions == [member] and not notice.ephemeral
    assert await jobs.count(stack.db) == 0
