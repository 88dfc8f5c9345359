"""Fewer public messages (``/settings delivery card``): the job's card becomes its result — the
video, the words and the buttons on the one message — and the ping goes as a short reply to it
(an edit pings nobody); a card that is gone falls back to a result message of its own."""

from __future__ import annotations

from tests.e2e.conftest import Stack
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import TaskScript

PROMPT = "A paper boat drifting down a rainy street, macro lens"


def owner(fake: FakeDiscord):  # type: ignore[no-untyped-def]  # the server owner has Manage Server
    return fake.guild.members[fake.owner.id]


async def card_mode(stack: Stack) -> StoredMessage:
    fake = stack.discord
    handle = await fake.invoke_slash("settings delivery", {"style": "card"}, user=owner(fake))
    return await fake.wait_for_message(lambda m: m.interaction_id == handle.id and bool(m.embeds))


def bot_messages(fake: FakeDiscord) -> list[StoredMessage]:
    return [
        m
        for m in fake.channel_messages(fake.channel.id, include_ephemeral=False)
        if m.author_id == fake.bot_user.id
    ]


def custom_ids(message: StoredMessage) -> set[str]:
    return {c["custom_id"] for row in message.components for c in row["components"] if "custom_id" in c}


async def test_the_card_becomes_the_result_and_a_short_reply_pings(stack: Stack) -> None:
    fake = stack.discord
    shown = await card_mode(stack)
    assert "the card becomes the result" in str(shown.embeds)
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(video_size=3000))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    assert job.state == "succeeded"

    card = fake.original_message(handle)
    (video,) = card.attachments
    assert video["filename"] == f"video-{job.id}.mp4" and video["size"] == 3000
    assert f"(job #{job.id} · " in card.content and "✅" in str(card.embeds)
    assert f"soracord:job:again:{job.id}" in custom_ids(
        card
    ) and f"soracord:job:details:{job.id}" in custom_ids(card)
    assert card.mentions == []  # the edit pings nobody ...
    (ping,) = fake.replies_to(card.id)
    assert ping.mentions == [stack.member_id]  # ... the short reply does, the requester only
    assert ping.content == f"<@{stack.member_id}> your video is ready ↑ (job #{job.id})"
    assert ping.attachments == [] and ping.components == []
    assert [m.id for m in bot_messages(fake)] == [card.id, ping.id]  # two messages, one of them short
    sent = [q for q in fake.requests_to("/channels/{channel_id}/messages", "POST") if q.ok]
    assert [q.json["nonce"].startswith(f"r{job.id}-") for q in sent] == [True]


async def test_without_the_setting_the_result_is_a_message_of_its_own(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    job = await stack.settle(handle)
    card = fake.original_message(handle)
    (result,) = fake.replies_to(card.id)
    assert result.attachments and result.attachments[0]["filename"] == f"video-{job.id}.mp4"
    assert card.content == "" and not [a for a in card.attachments if a["filename"].endswith(".mp4")]


async def test_a_card_that_is_gone_falls_back_to_a_result_message(stack: Stack) -> None:
    fake = stack.discord
    await card_mode(stack)
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    await fake.wait_for_message(lambda m: m.interaction_id == handle.id and "Rendering" in str(m.embeds))
    job = await stack.job_for(handle)
    card = fake.original_message(handle)
    stack.bot.delivery._message_ids.pop(job.id, None)
    fake.messages.get(card.id).deleted = True  # type: ignore[union-attr]  # gone, and the bot not told
    stack.vendor.finish(job.remote_id or "")
    done = await stack.settle(handle)
    assert done.state == "succeeded"
    (result,) = [m for m in bot_messages(fake) if f"(job #{job.id} · " in m.content]
    assert result.id != card.id and result.attachments[0]["filename"] == f"video-{job.id}.mp4"
    assert result.mentions == [stack.member_id]
