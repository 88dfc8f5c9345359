"""A confirmation pressed twice makes one job: Again → Confirm, both presses sent at once.

Before the confirmation carried a key, two quick presses made two jobs in 7 of 25 tries. Here both
presses are dispatched by the fake Discord before the bot has answered either; every round must
make exactly one job, charge once, and answer both presses (the second: "already confirmed").
"""

from __future__ import annotations

import asyncio
import copy

from storage import jobs
from tests.e2e.conftest import Stack
from tests.e2e.test_buttons import button_by_label, finished_job, lcon, reply_to
from tests.fakes.discord import FakeInteraction
from tests.fakes.openai_videos import FakeOpenAIVideos, VideoScript

__all__ = ["lcon"]  # the fixture, shared with the buttons' tests

ROUNDS = 10
COST = 4


async def answer_of(stack: Stack, press: FakeInteraction) -> str:
    """What the member read in answer to a press (the ephemeral refusal, or the job's card)."""
    fake = stack.discord
    await fake.wait_for_ack(press)
    async with asyncio.timeout(5):
        while True:
            shown = [m for m in [fake.original_message(press), *fake.answers(press)] if not m.deleted]
            shown += [
                m
                for m in fake.messages.by_id.values()
                if m.interaction_id == press.id and m.ephemeral and not m.deleted and m.content
            ]
            words = " ".join(m.content + str(m.embeds) for m in shown if m.content or m.embeds)
            if words:
                return words
            await asyncio.sleep(0.02)


async def test_two_presses_of_confirm_at_once_make_one_job(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(COST * (ROUNDS + 1))
    job, result = await finished_job(stack)
    doubled = 0
    for _ in range(ROUNDS):
        before = await jobs.count(stack.db)
        ask = await reply_to(fake, await fake.invoke_component(result, f"soracord:job:again:{job.id}"))
        confirm = button_by_label(ask, "Confirm")
        presses = await asyncio.gather(
            fake.invoke_component(ask, confirm), fake.invoke_component(ask, confirm)
        )
        answers = [await answer_of(stack, p) for p in presses]
        async with asyncio.timeout(10):
            await stack.bot.engine.wait_idle()
            await stack.bot.delivery.wait_idle()
        made = await jobs.count(stack.db) - before
        doubled += made > 1
        assert made == 1, answers
        assert sum("already confirmed" in a for a in answers) == 1, answers
    print(f"{ROUNDS} double presses of Confirm: {doubled} made two jobs")
    assert await stack.balance() == 0  # charged once a round, and once for the first job
    rows = await stack.db.fetchall("SELECT once_key FROM jobs WHERE once_key LIKE 'again:%'")
    assert len({r["once_key"] for r in rows}) == ROUNDS


async def test_a_confirm_pressed_after_the_job_was_made_says_so(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(COST * 3)
    job, result = await finished_job(stack)
    ask = await reply_to(fake, await fake.invoke_component(result, f"soracord:job:again:{job.id}"))
    confirm = button_by_label(ask, "Confirm")
    stale = copy.deepcopy(ask)  # the question as a slow client still shows it, buttons and all
    first = await fake.invoke_component(ask, confirm)
    await stack.settle(first)
    assert fake.message(ask.channel_id, ask.id).components == []  # answered: the buttons are gone
    late = await fake.invoke_component(stale, confirm)
    assert "already confirmed" in await answer_of(stack, late)
    assert await jobs.count(stack.db) == 2 and await stack.balance() == COST


async def test_a_remix_form_sent_twice_at_once_makes_one_job(lcon: tuple[Stack, FakeOpenAIVideos]) -> None:
    """Both sends of one form are asked to confirm; the key is the press that opened the form, so
    confirming both questions at once still makes one job."""
    stack, vendor = lcon
    fake = stack.discord
    await stack.grant(1000)
    vendor.script_next(VideoScript(), VideoScript(), VideoScript())
    job, result = await finished_job(stack)
    press = await fake.invoke_component(result, f"soracord:job:remix:{job.id}")
    await fake.wait_for_ack(press)
    values = {"prompt": "Now at night, neon reflections"}
    submits = await asyncio.gather(
        fake.invoke_modal_submit(press, values), fake.invoke_modal_submit(press, values)
    )
    asks = [await reply_to(fake, s) for s in submits]
    confirms = await asyncio.gather(
        *(fake.invoke_component(ask, button_by_label(ask, "Confirm")) for ask in asks)
    )
    answers = [await answer_of(stack, c) for c in confirms]
    async with asyncio.timeout(10):
        await stack.bot.engine.wait_idle()
        await stack.bot.delivery.wait_idle()
    assert await jobs.count(stack.db) == 2, answers
    assert sum("already confirmed" in a for a in answers) == 1, answers
    assert len(vendor.calls("remix")) == 1
