"""Costs and quota one command away, through the fake Discord.

``/credits prices`` lists every live model of every profile with the kinds it makes (a storyboard's
675 on freesora and Veo's price a shot are findable); a member learns of a manager's grant with their
next command, once; ``/credits balance`` shows the limits that apply to them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, make_stack
from tests.e2e.test_buttons import reply_to
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc
from tests.fakes.nanophoto_veo import FakeNanophotoVeo

MAX_DESCRIPTION = 4096


@pytest.fixture
async def everything(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> AsyncIterator[Stack]:
    """nanophoto's Sora (the default), its TVC and Veo, and freesora: every kind there is but remix."""
    async with FakeFreeSora() as fsg, FakeNanophotoVeo() as veo, FakeNanophotoTvc() as tvc:
        extra = [fsg.profile(), veo.profile(), tvc.profile()]
        async for stack in make_stack(tmp_path, fake_discord, vendor, extra_profiles=extra, confirm_above=50):
            yield stack


def owner(fake: FakeDiscord):
    return fake.guild.members[fake.owner.id]


def block(description: str, title: str) -> str:
    """One model's entry in the price list."""
    start = description.index(title + "\n")
    end = description.find("\n\n", start)
    return description[start : end if end != -1 else None]


async def test_prices_cover_every_model_and_kind(everything: Stack) -> None:
    fake = everything.discord
    shown = await reply_to(fake, await fake.invoke_slash("credits prices"))
    assert shown.ephemeral
    (embed,) = shown.embeds
    text = embed["description"]
    assert len(text) <= MAX_DESCRIPTION
    assert "Credits are held when a video is queued" in embed["footer"]["text"]
    pro = block(text, "**Sora 2 Pro** (fsg)")
    assert "*makes text, image, storyboard*" in pro
    assert "15 seconds — **675** credits" in pro
    assert "25 seconds — **875** credits · storyboard only" in pro
    veo = block(text, "**Veo 3.1**")
    assert "*makes text, image, reference pictures, storyboard*" in veo
    assert "8 seconds · 720p — **10** credits" in veo and "8 seconds · 4k — **30** credits" in veo
    assert "Storyboards: **10** credits a shot (8 seconds · 720p), 2 to 21 shots" in veo
    assert "16 seconds" not in veo  # the 20 storyboard lengths are that one line
    assert "*makes TV commercial*" in block(text, "**Sora 2 TVC**")
    titles = re.findall(r"^\*\*(.+?)\*\*", text, flags=re.M)
    assert {"Sora 2", "Sora 2 Pro", "Sora 2 Pro High", "Sora 2 Stable", "Veo 3.1", "Sora 2 TVC"} <= set(
        titles
    )
    fake.assert_no_violations()


async def test_prices_in_chinese(everything: Stack) -> None:
    fake = everything.discord
    shown = await reply_to(fake, await fake.invoke_slash("credits prices", locale="zh-CN"))
    veo = shown.embeds[0]["description"]
    assert "*可制作：文字、图片、参考图、分镜*" in veo
    assert "分镜：每个镜头 **10** 积分" in veo


async def notices_for(fake: FakeDiscord, handle: FakeInteraction) -> list[StoredMessage]:
    """The grant notices that followed a command (ephemeral followups that are not its answer)."""
    await fake.wait_for_ack(handle)
    return [m for m in fake.followup_messages(handle) if "gave you" in m.content]


async def wait_for_notice(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    return await fake.wait_for_message(
        lambda m: (
            m.interaction_id == handle.id and "gave you" in m.content and m.id != handle.original_message_id
        )
    )


async def test_a_grant_is_told_once_with_the_next_command(stack: Stack) -> None:
    fake = stack.discord
    granted = await fake.invoke_slash(
        "credits-admin grant",
        {"member": fake.member, "amount": 25, "reason": "launch week"},
        user=owner(fake),
    )
    await reply_to(fake, granted)
    assert await notices_for(fake, granted) == []  # the manager is answered, not told

    first = await fake.invoke_slash("credits history")
    notice = await wait_for_notice(fake, first)
    assert notice.ephemeral and notice.mentions == []  # the manager is named, not pinged
    assert notice.content == f"<@{fake.owner.id}> gave you **25** credits: launch week"
    assert not fake.original_message(first).content.startswith("<@")  # the answer is the command's own

    second = await fake.invoke_slash("credits balance")
    await reply_to(fake, second)
    await asyncio.sleep(0.3)  # room for a notice that should not come
    assert await notices_for(fake, second) == []  # once
    assert await stack.db.fetchall("SELECT id FROM grant_notices") == []


async def test_a_grant_notice_after_a_video_command_leaves_the_card_alone(stack: Stack) -> None:
    fake = stack.discord
    await reply_to(
        fake,
        await fake.invoke_slash(
            "credits-admin grant",
            {"member": fake.member, "amount": 10, "reason": "first video"},
            user=owner(fake),
        ),
    )
    stack.vendor.script_next(TaskScript())
    handle = await fake.invoke_slash("sora", {"prompt": "A paper boat in the rain"})
    notice = await wait_for_notice(fake, handle)
    job = await stack.settle(handle)
    assert notice.ephemeral and "**10** credits: first video" in notice.content
    card = fake.original_message(handle)
    assert not card.ephemeral and card.embeds and "gave you" not in card.content
    assert job.state == "succeeded"


async def test_balance_shows_the_limits_that_apply(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    limits = {"active_per_member": 2, "active_per_server": 5, "daily_spend": 100, "confirm_above": 60}
    await reply_to(fake, await fake.invoke_slash("settings limits", limits, user=boss))
    await reply_to(fake, await fake.invoke_slash("credits-admin allowance", {"amount": 50}, user=boss))
    await stack.grant(20)
    stack.vendor.script_next(TaskScript(outcome="never"))
    await stack.job_for(await fake.invoke_slash("sora", {"prompt": "A harbour that never wakes"}))

    text = (await reply_to(fake, await fake.invoke_slash("credits balance"))).content
    assert "You have **66** credits (4 more held by videos in progress)." in text  # 20 + 50 allowance - 4
    assert "Videos in progress: **1** of 2 a member may have" in text
    assert "Videos in progress on the server: **1** of 5" in text
    assert re.search(r"Spent today: \*\*4\*\* of 100 credits, 96 left \(resets <t:\d+:R>\)", text), text
    assert re.search(r"Allowance: \*\*50\*\* credits a week; the next lands <t:\d+:R>", text), text
    assert "A video over **60** credits asks you to confirm first." in text
    await stack.bot.engine.stop()


async def test_balance_without_limits_still_names_the_confirm_threshold(stack: Stack) -> None:
    text = (await reply_to(stack.discord, await stack.discord.invoke_slash("credits balance"))).content
    assert "You have **0** credits." in text
    assert "Videos never ask to confirm their price first." in text  # the e2e stacks turn it off
    assert "in progress" not in text and "Spent today" not in text and "Allowance" not in text
