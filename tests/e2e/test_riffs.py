"""Team riffs: a teammate presses Again, Remix or Variation on a colleague's video.

The press is the teammate's: the channel and role rules are checked for them, the same question
(cost, balance, Confirm) is asked of them, the new job is theirs and is charged to them — the
colleague's ledger does not move — and its card says whose video it riffs on, linking back to the
message the button was pressed on. Cancel and Details stay the owner's (``test_buttons``).
"""

from __future__ import annotations

import asyncio
import re

from storage import guilds, jobs, ledger
from storage.jobs import JobRow
from tests.e2e.conftest import Stack
from tests.e2e.test_buttons import PROMPT, button_by_label, finished_job, lcon, reply_to, result_of
from tests.e2e.test_confirm_once import answer_of
from tests.fakes.discord import FakeInteraction
from tests.fakes.discord.payloads import Member
from tests.fakes.discord.records import StoredMessage
from tests.fakes.openai_videos import FakeOpenAIVideos, VideoScript

__all__ = ["lcon"]  # the OpenAI-compatible stack, whose provider remixes

COST = 4  # a 10 s nanophoto video


def riff_field(message: StoredMessage) -> str:
    (embed,) = message.embeds
    found = [f["value"] for f in embed.get("fields", []) if f["name"] == "Riff"]
    assert found, f"no Riff field on the card: {embed}"
    return str(found[0])


def jump_link(stack: Stack, message: StoredMessage) -> str:
    return f"https://discord.com/channels/{stack.guild_id}/{message.channel_id}/{message.id}"


async def kinds_of(stack: Stack, user_id: int) -> list[tuple[str, int, int | None]]:
    """The member's ledger, oldest first: (kind, amount, job)."""
    entries = await ledger.entries(stack.db, stack.guild_id, user_id)
    return [(e.kind, e.amount, e.job_id) for e in reversed(entries)]


async def confirm(stack: Stack, ask: StoredMessage, user: Member) -> JobRow:
    press = await stack.discord.invoke_component(ask, button_by_label(ask, "Confirm"), user=user)
    return await stack.settle(press)


async def pressed_by(
    stack: Stack, result: StoredMessage, action: str, job_id: int, user: Member
) -> FakeInteraction:
    press = await stack.discord.invoke_component(result, f"soracord:job:{action}:{job_id}", user=user)
    await stack.discord.wait_for_ack(press)
    return press


async def test_a_teammate_presses_again_on_a_colleagues_video(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    bob = fake.add_member(stack.guild_id, "bob")
    await stack.grant(7, bob.user.id)

    ask = await reply_to(fake, await pressed_by(stack, result, "again", job.id, bob))
    assert ask.ephemeral and f"{COST} credits" in ask.content and "balance: 7" in ask.content
    assert await jobs.count(stack.db) == 1  # nothing before Confirm
    riff = await confirm(stack, ask, bob)

    assert riff.state == "succeeded" and riff.user_id == bob.user.id
    assert riff.request_json == job.request_json and riff.riff_of == job.id
    assert await stack.balance() == 10 - COST  # the colleague paid for their own video only
    assert await stack.balance(bob.user.id) == 7 - COST
    assert await kinds_of(stack, bob.user.id) == [
        ("grant", 7, None),
        ("hold", -COST, riff.id),
        ("capture", 0, riff.id),
    ]
    assert [k for k in await kinds_of(stack, stack.member_id) if k[2] == riff.id] == []

    card = fake.message(riff.channel_id, riff.message_id or 0)
    line = riff_field(card)
    assert f"Riff on <@{stack.member_id}>'s [job #{job.id}]({jump_link(stack, result)})" == line
    assert card.mentions == []  # naming the colleague on the card does not ping them
    # The riff's own result is Bob's: his mention, his buttons.
    mine = await result_of(fake, riff.id)
    assert f"<@{bob.user.id}>" in mine.content and mine.mentions == [bob.user.id]


async def test_a_teammate_remixes_a_colleagues_video(lcon: tuple[Stack, FakeOpenAIVideos]) -> None:
    stack, vendor = lcon
    fake = stack.discord
    await stack.grant(1000)
    vendor.script_next(VideoScript(), VideoScript())
    job, result = await finished_job(stack)
    carol = fake.add_member(stack.guild_id, "carol")
    await stack.grant(500, carol.user.id)
    before = await stack.balance()

    press = await pressed_by(stack, result, "remix", job.id, carol)
    assert press.modal is not None
    submit = await fake.invoke_modal_submit(press, {"prompt": "Now at night, neon reflections"}, user=carol)
    ask = await reply_to(fake, submit)
    cost = int(re.search(r"\*\*(\d+) credits\*\*", ask.content).group(1))  # type: ignore[union-attr]
    remix = await confirm(stack, ask, carol)

    assert remix.kind == "remix" and remix.state == "succeeded" and remix.user_id == carol.user.id
    assert remix.request["source_remote_id"] == job.remote_id
    assert await stack.balance() == before and await stack.balance(carol.user.id) == 500 - cost
    card = fake.message(remix.channel_id, remix.message_id or 0)
    assert f"Riff on <@{stack.member_id}>'s [job #{job.id}]" in riff_field(card)


async def test_a_variation_offers_the_prompt_to_change_a_little(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    dana = fake.add_member(stack.guild_id, "dana")
    await stack.grant(10, dana.user.id)

    press = await pressed_by(stack, result, "variation", job.id, dana)
    assert press.modal is not None
    (row,) = press.modal["components"]
    assert row["components"][0]["value"] == PROMPT  # the form holds the prompt as it was
    changed = PROMPT.replace("rainy", "snowy")
    ask = await reply_to(fake, await fake.invoke_modal_submit(press, {"prompt": changed}, user=dana))
    assert "variation of job" in ask.content and "snowy" in ask.content and f"{COST} credits" in ask.content
    variation = await confirm(stack, ask, dana)

    assert variation.state == "succeeded" and variation.user_id == dana.user.id
    assert variation.request["prompt"] == changed
    same = {k: v for k, v in job.request.items() if k != "prompt"}
    assert {k: v for k, v in variation.request.items() if k != "prompt"} == same
    assert await stack.balance(dana.user.id) == 10 - COST and await stack.balance() == 10 - COST
    assert stack.vendor.calls("generate")[-1].json["prompt"] == changed


async def test_riffing_on_your_own_video_reads_from_job(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    ask = await reply_to(fake, await pressed_by(stack, result, "again", job.id, fake.member))
    again = await confirm(stack, ask, fake.member)
    card = fake.message(again.channel_id, again.message_id or 0)
    assert riff_field(card) == f"From [job #{job.id}]({jump_link(stack, result)})"


async def test_a_member_not_allowed_in_the_channel_cannot_riff(stack: Stack) -> None:
    """The server's channel rule applies to the presser: here only #general makes videos."""
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    general = next(c for c in fake.guild.channels.values() if c.name == "general")
    await guilds.update(stack.db, stack.guild_id, allowed_channels=(general.id,))
    eve = fake.add_member(stack.guild_id, "eve")
    await stack.grant(10, eve.user.id)
    for action in ("again", "variation"):
        reply = await reply_to(fake, await pressed_by(stack, result, action, job.id, eve))
        assert reply.ephemeral and f"only in <#{general.id}>" in reply.content, reply.content
        assert reply.components == [] and reply.mentions == []
    assert await jobs.count(stack.db) == 1 and await stack.balance(eve.user.id) == 10

    # A manager is never locked out; the question is theirs.
    boss = fake.guild.members[fake.owner.id]
    await stack.grant(10, boss.user.id)
    ask = await reply_to(fake, await pressed_by(stack, result, "again", job.id, boss))
    assert "Confirm" in str(ask.components), ask.content


async def test_the_role_rule_applies_to_the_presser(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    creators = fake.add_role(stack.guild_id, "creators", 0)
    await fake.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(stack.guild_id), "role": creators.to_dict()})
    await guilds.update(stack.db, stack.guild_id, allowed_roles=(creators.id,))
    eve = fake.add_member(stack.guild_id, "eve")  # not a creator
    frank = fake.add_member(stack.guild_id, "frank", roles=(creators.id,))
    for member in (eve, frank):
        await stack.grant(10, member.user.id)
    refused = await reply_to(fake, await pressed_by(stack, result, "again", job.id, eve))
    assert "needs one of these roles" in refused.content and f"<@&{creators.id}>" in refused.content
    ask = await reply_to(fake, await pressed_by(stack, result, "again", job.id, frank))
    riff = await confirm(stack, ask, frank)
    assert riff.user_id == frank.user.id and await stack.balance(frank.user.id) == 10 - COST
    assert await stack.balance(eve.user.id) == 10


async def test_a_teammates_double_confirm_makes_one_job(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job, result = await finished_job(stack)
    gus = fake.add_member(stack.guild_id, "gus")
    await stack.grant(10, gus.user.id)
    ask = await reply_to(fake, await pressed_by(stack, result, "again", job.id, gus))
    label = button_by_label(ask, "Confirm")
    presses = await asyncio.gather(
        fake.invoke_component(ask, label, user=gus), fake.invoke_component(ask, label, user=gus)
    )
    answers = [await answer_of(stack, p) for p in presses]
    async with asyncio.timeout(10):
        await stack.bot.engine.wait_idle()
        await stack.bot.delivery.wait_idle()
    assert await jobs.count(stack.db) == 2, answers
    assert sum("already confirmed" in a for a in answers) == 1, answers
    assert await stack.balance(gus.user.id) == 10 - COST
