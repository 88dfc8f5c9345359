"""A video over the server's threshold asks first: "This video costs N credits (you have M). Make it?"

Through the fake Discord, at the bot's default threshold (50 credits): nothing is held, stored or sent
to a vendor until Confirm; Cancel charges nothing; Confirm pressed twice at once, or the form it
opened sent twice, makes one job. Forms (/storyboard, Animate) ask before they open, so a storyboard
is never typed to be refused for its price. The threshold is a server setting (/settings limits).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs, ledger
from tests.e2e.conftest import Stack, make_stack
from tests.e2e.test_buttons import button_by_label, reply_to
from tests.e2e.test_confirm_once import answer_of
from tests.e2e.test_images import png
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import StoredMessage
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.freesora import TaskScript as FsgScript
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.fakes.nanophoto_veo import FakeNanophotoVeo

PROMPT = "A lighthouse keeper's cat watching a storm roll in"
PRO = "nano/sora2-pro-standard"  # 60 credits for 10 s: over the default 50
SHOTS = "5 | A skyline at dusk\n5 | A taxi in the rain\n5 | The driver's eyes"


@pytest.fixture
async def fsg() -> AsyncIterator[FakeFreeSora]:
    async with FakeFreeSora() as fake:
        yield fake


@pytest.fixture
async def priced(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, fsg: FakeFreeSora
) -> AsyncIterator[Stack]:
    """The bot's default threshold (50); nanophoto by default, freesora for storyboards (675 for 15 s)."""
    async for s in make_stack(
        tmp_path, fake_discord, vendor, extra_profiles=[fsg.profile()], confirm_above=50
    ):
        yield s


def owner(fake: FakeDiscord):  # the server owner manages the server
    return fake.guild.members[fake.owner.id]


async def nothing_charged(stack: Stack, balance: int) -> None:
    assert await jobs.count(stack.db) == 0
    kinds = [e.kind for e in await ledger.entries(stack.db, stack.guild_id, stack.member_id)]
    assert kinds == ["grant"], kinds  # no hold, no capture
    assert await stack.balance() == balance
    assert stack.vendor.calls("generate") == []


async def ask(stack: Stack, options: dict[str, object]) -> StoredMessage:
    question = await reply_to(stack.discord, await stack.discord.invoke_slash("sora", options))
    assert question.ephemeral
    return question


async def test_an_expensive_video_asks_and_is_charged_only_on_confirm(priced: Stack) -> None:
    stack, fake = priced, priced.discord
    await stack.grant(200)
    question = await ask(stack, {"prompt": PROMPT, "model": PRO})
    assert "This video costs **60 credits** on Sora 2 Pro (you have 200). Make it?" in question.content
    await nothing_charged(stack, 200)

    stack.vendor.script_next(TaskScript())
    press = await fake.invoke_component(question, button_by_label(question, "Confirm"))
    job = await stack.settle(press)
    assert job.state == "succeeded" and job.cost == 60 and job.model == "sora2-pro-standard"
    assert not fake.original_message(press).ephemeral  # the card is the channel's, as for any job
    kinds = [e.kind for e in await ledger.entries(stack.db, stack.guild_id, stack.member_id)]
    assert sorted(kinds) == ["capture", "grant", "hold"] and await stack.balance() == 140
    answered = fake.message(question.channel_id, question.id)
    assert f"Queued as job #{job.id} (60 credits held)." in answered.content and answered.components == []
    fake.assert_no_violations()


async def test_a_video_under_the_threshold_starts_at_once(priced: Stack) -> None:
    stack = priced
    await stack.grant(10)
    stack.vendor.script_next(TaskScript())
    job = await stack.settle(await stack.discord.invoke_slash("sora", {"prompt": PROMPT}))
    assert job.cost == 4 and job.state == "succeeded"


async def test_cancel_charges_nothing(priced: Stack) -> None:
    stack, fake = priced, priced.discord
    await stack.grant(200)
    question = await ask(stack, {"prompt": PROMPT, "model": PRO})
    press = await fake.invoke_component(question, button_by_label(question, "Cancel"))
    await fake.wait_for_ack(press)
    answered = fake.message(question.channel_id, question.id)
    assert answered.content == "Not made; nothing was charged." and answered.components == []
    await nothing_charged(stack, 200)


async def test_confirm_pressed_twice_at_once_makes_one_job(priced: Stack) -> None:
    stack, fake = priced, priced.discord
    await stack.grant(200)
    stack.vendor.script_next(TaskScript(), TaskScript())
    question = await ask(stack, {"prompt": PROMPT, "model": PRO})
    confirm = button_by_label(question, "Confirm")
    presses = await asyncio.gather(
        fake.invoke_component(question, confirm), fake.invoke_component(question, confirm)
    )
    answers = [await answer_of(stack, p) for p in presses]
    async with asyncio.timeout(10):
        await stack.bot.engine.wait_idle()
        await stack.bot.delivery.wait_idle()
    assert await jobs.count(stack.db) == 1, answers
    assert sum("already confirmed" in a for a in answers) == 1, answers
    assert await stack.balance() == 140  # charged once


async def test_not_enough_credits_is_said_before_any_question(priced: Stack) -> None:
    stack = priced
    await stack.grant(30)
    question = await ask(stack, {"prompt": PROMPT, "model": PRO})
    assert "Not enough credits" in question.content and question.components == []
    await nothing_charged(stack, 30)


async def test_a_storyboard_confirms_its_price_before_the_form_opens(
    priced: Stack, fsg: FakeFreeSora
) -> None:
    stack, fake = priced, priced.discord
    await stack.grant(1000)
    handle = await fake.invoke_slash("storyboard", {"duration": 15})
    question = await reply_to(fake, handle)
    assert handle.modal is None  # nothing to type yet
    assert "This video costs **675 credits** on Sora 2 Pro (you have 1000)." in question.content
    assert "nothing is charged until you send it" in question.content
    confirm = button_by_label(question, "Confirm")
    opened = [await fake.invoke_component(question, confirm) for _ in range(2)]  # two forms
    for press in opened:
        await fake.wait_for_ack(press)
        assert press.modal is not None
    await nothing_charged(stack, 1000)

    fsg.script_next(FsgScript(), FsgScript())
    submits = await asyncio.gather(
        *(fake.invoke_modal_submit(p, {"storyboard:shots": SHOTS}) for p in opened)
    )
    answers = [await answer_of(stack, s) for s in submits]
    async with asyncio.timeout(10):
        await stack.bot.engine.wait_idle()
        await stack.bot.delivery.wait_idle()
    (row,) = await stack.db.fetchall("SELECT kind, cost, state FROM jobs")
    assert (row["kind"], row["cost"], row["state"]) == ("storyboard", 675, "succeeded")
    assert sum("already confirmed" in a for a in answers) == 1, answers
    assert await stack.balance() == 325 and len(fsg.calls("create")) == 1


async def test_animate_confirms_before_its_form_opens(priced: Stack) -> None:
    stack, fake = priced, priced.discord
    await stack.grant(200)
    boss = owner(fake)
    await reply_to(
        fake,
        await fake.invoke_slash(
            "settings provider", {"profile": "nano", "model": "sora2-pro-standard"}, user=boss
        ),
    )
    attachment = fake.make_attachment(png(), "cat.png", width=64, height=48)
    posted = await fake.post_member_message("A cat on a windowsill", attachments=[attachment])
    opened = await fake.invoke_message_command("Animate", posted)
    question = await reply_to(fake, opened)
    assert opened.modal is None and "costs **60 credits**" in question.content
    press = await fake.invoke_component(question, button_by_label(question, "Confirm"))
    await fake.wait_for_ack(press)
    assert press.modal is not None
    stack.vendor.script_next(TaskScript())
    job = await stack.settle(await fake.invoke_modal_submit(press, {"animate:prompt": PROMPT}))
    assert (job.kind, job.cost, job.state) == ("image", 60, "succeeded")


async def test_the_threshold_is_a_validated_server_setting(priced: Stack) -> None:
    stack, fake = priced, priced.discord
    boss = owner(fake)

    async def settings(command: str, options: dict[str, object] | None = None) -> StoredMessage:
        return await reply_to(fake, await fake.invoke_slash(command, options, user=boss))

    shown = str((await settings("settings show")).embeds)
    assert "A job over **50** credits asks its member first (the bot's default)" in shown
    bad = await settings("settings limits", {"confirm_above": -1})
    assert "`confirm_above`" in bad.content and "0 (never ask) to 1,000,000" in bad.content
    assert "`confirm_above`" in (await settings("settings limits", {"confirm_above": 2_000_000})).content
    shown = str((await settings("settings limits", {"confirm_above": 100})).embeds)
    assert "A job over **100** credits asks its member first'" in shown  # set: no "default"
    assert "A job over **100**" in str((await settings("settings show")).embeds)

    await stack.grant(200)
    stack.vendor.script_next(TaskScript())
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": PROMPT, "model": PRO}))
    assert job.cost == 60  # under the server's 100: no question

    shown = str((await settings("settings limits", {"confirm_above": 0})).embeds)
    assert "Never: every job starts at once" in shown
    stack.vendor.script_next(TaskScript())
    job = await stack.settle(
        await fake.invoke_slash("sora", {"prompt": PROMPT, "model": "nano/sora2-pro-high"})
    )
    assert job.cost == 120
    fake.assert_no_violations()


@pytest.fixture
async def on_veo(tmp_path: Path, fake_discord: FakeDiscord) -> AsyncIterator[tuple[Stack, FakeNanophotoVeo]]:
    async with FakeNanophotoVeo() as veo:
        async for stack in make_stack(tmp_path, fake_discord, veo, confirm_above=50):
            yield stack, veo


async def test_a_storyboard_priced_by_the_shot_asks_once_its_shots_are_known(
    on_veo: tuple[Stack, FakeNanophotoVeo],
) -> None:
    stack, veo = on_veo
    fake = stack.discord
    await stack.grant(100)
    opened = await fake.invoke_slash("storyboard", {"model": "nano-veo/veo-3.1"})
    await fake.wait_for_ack(opened)
    assert opened.modal is not None  # one shot costs 10: under the threshold, the form opens at once
    scenes = "\n".join(f"Scene {n} of a city waking up" for n in range(1, 7))  # 6 shots: 60 credits
    submit = await fake.invoke_modal_submit(opened, {"storyboard:shots": scenes})
    question = await reply_to(fake, submit)
    assert (
        question.ephemeral
        and "This video costs **60 credits** on Veo 3.1 (you have 100)." in question.content
    )
    assert await jobs.count(stack.db) == 0 and veo.calls("generate") == []
    job = await stack.settle(await fake.invoke_component(question, button_by_label(question, "Confirm")))
    assert (job.kind, job.duration, job.cost) == ("storyboard", 48, 60)
    assert len(veo.calls("generate")[0].json["shots"]) == 6  # the text typed, kept by the question
    assert await stack.balance() == 40
