"""Every slash command fuzzed through the fake Discord, with what a member could type into its options.

For every input, whatever it is:

* the member gets an answer, and every message the bot sends is within Discord's limits (the fake
  records a violation otherwise);
* a refusal is a friendly message of at most 2,000 characters that reached the member — never an
  internal fault — and it changed nothing: every database row is as it was, nothing was held or
  charged, no job was created and no vendor was asked;
* a job that was created ends, and its credits were held and then captured or released.

Options come from each command's synced definition (``tests/e2e/fuzzing.py``), so fuzzing a new
command is one entry in ``COMMANDS``; ``test_every_command_is_fuzzed`` fails until it is there.
Each command gets one bot, built inside its test (so Hypothesis's examples share it without a
function-scoped fixture) on an event loop of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cogs.errors
from storage import jobs, ledger
from tests.e2e import fuzzing
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, Perm
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.nanophoto import FakeNanophoto
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc

# Slash command (or subcommand) -> examples. Commands that run a job cost more per example.
COMMANDS: dict[str, int] = {
    "sora": 40,
    "video": 40,
    "tvc": 30,
    "storyboard": 50,
    "credits balance": 10,
    "credits history": 10,
    "credits prices": 5,
    "credits-admin grant": 30,
    "credits-admin take": 30,
    "credits-admin allowance": 20,
    "credits-admin multiplier": 20,
    "credits-admin price": 30,
    "credits-admin export": 30,
    "settings show": 5,
    "settings provider": 30,
    "settings channel": 10,
    "settings role": 10,
    "settings open": 5,
    "settings limits": 30,
    "settings fallback": 20,
    "settings admin-channel": 10,
    "settings gallery": 10,
    "settings delivery": 10,
    "jobs list": 10,
    "jobs show": 20,
    "jobs cancel": 20,
}
SKIPPED: set[str] = set()  # commands not fuzzed here, with the reason beside each
MODELS = (
    "sora2",
    "sora2-pro-high",
    "sora-2",
    "sora-2-pro-storyboard",
    "Sora 2",
    "nano/sora2",
    "nano/bogus",
    "fsg/sora-2",
    "nope/sora2",
)
PROFILES = ("nano", "nano-tvc", "fsg")


def overrides() -> dict[str, fuzzing.Strategy]:
    """Option values worth trying by name, beside whatever their definition allows."""
    known = {
        "tier": MODELS,
        "model": MODELS,
        "profile": PROFILES,
        "from": ("2026-01-01", "2001-01-01"),
        "to": ("2026-12-31", "1999-01-01"),
        "aspect": ("16:9", "9:16", "portrait", "landscape", "1:1"),
        "resolution": ("720p", "1080p", "4k"),
        "profiles": ("nano fsg", "nano-tvc, nano", "nope"),
    }
    return {name: st.one_of(st.sampled_from(words), fuzzing.text_values(1)) for name, words in known.items()}


# Values for a modal's text inputs, by custom id, from the options the command was run with.
MODAL_INPUTS: dict[str, Callable[[dict[str, Any]], fuzzing.Strategy]] = {
    "storyboard:shots": lambda options: fuzzing.shot_board(int(options.get("duration", 15))),
}


class Harness:
    """One bot on nanophoto (text, image), its TVC API and freesora (storyboards), fuzzed per example."""

    def __init__(self, stack: Stack, vendors: tuple[Any, ...], refusals: fuzzing.Refusals) -> None:
        self.stack, self.vendors, self.refusals = stack, vendors, refusals
        fake = stack.discord
        self.owner = fake.guild.members[fake.owner.id]
        role = fake.add_role(fake.guild.id, "studio", Perm.VIEW_CHANNEL)
        bot = fake.guild.members[fake.bot_user.id]
        self.targets = fuzzing.Targets([fake.member, self.owner, bot], [fake.channel], [role])

    def creates(self) -> int:
        return sum(v.count(route=r) for v in self.vendors for r in ("generate", "create") if r in v.ROUTES)

    async def example(self, path: str, data: st.DataObject) -> None:
        fake, db = self.stack.discord, self.stack.db
        user = data.draw(st.sampled_from([fake.member, self.owner]), label="user")
        definitions = [d for d in fuzzing.leaf_options(fake, fake.guild.id, path) if d["type"] != 11]
        values = {d["name"]: fuzzing.option_values(d, self.targets, overrides()) for d in definitions}
        required = {
            n: s for n, s in values.items() if any(d["name"] == n and d.get("required") for d in definitions)
        }
        optional = {n: s for n, s in values.items() if n not in required}
        options = data.draw(st.fixed_dictionaries(required, optional=optional), label="options")
        before, creates = await fuzzing.snapshot(db), self.creates()
        self.refusals.seen.clear()
        handle = await fake.invoke_slash(path, options, user=user)
        await fuzzing.answered(fake, db, handle)
        answers = [handle]
        if handle.modal is not None:
            inputs = {cid: make(options) for cid, make in MODAL_INPUTS.items()}
            typed = data.draw(fuzzing.modal_values(handle.modal, inputs), label="modal")
            answers.append(await fake.invoke_modal_submit(handle, typed, user=user))
            await fuzzing.answered(fake, db, answers[-1])
        await self.check(answers, before, creates)

    async def check(self, answers: list[FakeInteraction], before: Any, creates: int) -> None:
        fake, db = self.stack.discord, self.stack.db
        shown = [text for handle in answers for text in fuzzing.shown_to(fake, handle)]
        for text, ref in self.refusals.seen:
            assert ref is None, f"an internal fault, not a refusal: {text}"
            assert 0 < len(text) <= 2000 and text in shown, text
        row = await db.fetchone("SELECT id FROM jobs WHERE interaction_token = $1", (answers[-1].token,))
        async with asyncio.timeout(20):
            await self.stack.bot.engine.wait_idle()
            await self.stack.bot.delivery.wait_idle()
        if row is not None:
            job = await jobs.get(db, int(row["id"]))
            assert job is not None and not job.state.active, job
            kinds = [
                e["kind"]
                for e in await db.fetchall(
                    "SELECT kind FROM ledger_entries WHERE job_id = $1 ORDER BY id", (job.id,)
                )
            ]
            assert kinds in (["hold", "capture"], ["hold", "release"]), kinds
        elif self.refusals.seen:
            assert await fuzzing.snapshot(db) == before, "a refusal changed the database"
            assert self.creates() == creates, "a refusal reached a vendor"
        assert await ledger.invariant_violations(db) == []
        fake.assert_no_violations()


async def open_harness(tmp_path: Path, exits: AsyncExitStack, refusals: fuzzing.Refusals) -> Harness:
    fake = await exits.enter_async_context(FakeDiscord())
    vendor = await exits.enter_async_context(FakeNanophoto(rate_limit=None))
    tvc = await exits.enter_async_context(FakeNanophotoTvc(rate_limit=None))
    fsg = await exits.enter_async_context(FakeFreeSora())
    stacks = cast(
        AsyncGenerator[Stack, None],
        make_stack(tmp_path, fake, vendor, extra_profiles=[tvc.profile(), fsg.profile()]),
    )
    stack = await anext(stacks)
    exits.push_async_callback(stacks.aclose)
    for user in (fake.member.user.id, fake.owner.id):
        await stack.grant(10**9, user)
    return Harness(stack, (vendor, tvc, fsg), refusals)


async def cancel_the_rest() -> None:
    """Views' timeout timers are still pending once the bot is gone: nothing waits for them."""
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


@pytest.fixture
def harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Harness, asyncio.AbstractEventLoop]]:
    """A bot on a loop of its own, so Hypothesis can run each example on it with ``run_until_complete``."""
    refusals = fuzzing.Refusals()
    monkeypatch.setattr(cogs.errors, "friendly", refusals.wrap(cogs.errors.friendly))
    loop = asyncio.new_event_loop()
    exits = AsyncExitStack()
    try:
        yield loop.run_until_complete(open_harness(tmp_path, exits, refusals)), loop
    finally:
        loop.run_until_complete(exits.aclose())
        loop.run_until_complete(cancel_the_rest())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def test_every_command_is_fuzzed(harness: tuple[Harness, asyncio.AbstractEventLoop]) -> None:
    bot, _ = harness
    synced = fuzzing.slash_paths(bot.stack.discord, bot.stack.discord.guild.id)
    assert synced - SKIPPED == set(COMMANDS), "add the new command to COMMANDS (or SKIPPED, with why)"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_any_input_is_answered_within_limits_and_a_refusal_changes_nothing(
    harness: tuple[Harness, asyncio.AbstractEventLoop], path: str
) -> None:
    bot, loop = harness

    @settings(
        max_examples=COMMANDS[path],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        loop.run_until_complete(bot.example(path, data))

    fuzz()
