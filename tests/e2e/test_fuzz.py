"""Every slash command fuzzed through the fake Discord, with what a member could type into its options.

For every input, whatever it is:

* the member gets an answer, and every message the bot sends is within Discord's limits (the fake
  records a violation otherwise);
* a refusal is a friendly message of at most 2,000 characters that reached the member — never an
  internal fault — and it changed nothing: every database row is as it was, nothing was held or
  charged, no job was created and no vendor was asked;
* a job that was created ends, and its credits were held and then captured or released;
* every interaction was answered exactly once (one callback, accepted, within Discord's 3 seconds),
  and one that deferred was followed up in time.

Attachment options get pictures of every kind (``fuzzing.uploads``): one the bot should not take is
never made into a job, and a refusal about a picture names the file and what is wrong with it. The
"Animate" message menu runs on random messages (``fuzzing.posts``): text, attachments, and embeds
linking to an allowed host, to one inside on 127.0.0.2 (directly and by a redirect) and to private,
link-local and loopback addresses, which the bot's fetcher must refuse, in its own words, without
connecting. Every form is filled and sent with random values: the one a command opens
(``/storyboard``), the one "Fix and resend" reopens after a refused storyboard, Animate's prompt,
and the Remix and Variation forms on a finished video (then confirmed, cancelled or left).

Options come from each command's synced definition (``tests/e2e/fuzzing.py``), so fuzzing a new
command is one entry in ``COMMANDS``; ``test_every_command_is_fuzzed`` fails until it is there.
Each command gets one bot, built inside its test (so Hypothesis's examples share it without a
function-scoped fixture) on an event loop of its own.

The inputs are drawn from a fixed seed, so a run is the same every time; ``SORACORD_FUZZ_SEED``
picks another and ``SORACORD_FUZZ_SCALE`` multiplies every example count (``COMMANDS``,
``ANIMATE``, ``RIFFS``) for a longer hunt, e.g. ``SORACORD_FUZZ_SCALE=10``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

import cogs.errors
from bot.i18n import EN, t
from bot.media import ImageError
from bot.net import Fetcher, LinkRefused
from cogs.animate import IMAGE_SUFFIXES, MENU_NAME
from storage import jobs, ledger
from tests.e2e import fuzzing
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, Perm
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.nanophoto import FakeNanophoto
from tests.fakes.nanophoto_tvc import FakeNanophotoTvc
from tests.fakes.origin import Origin, loopback_as_public, ok, redirect
from tests.fakes.pictures import encode

# Slash command (or subcommand) -> examples. Commands that run a job cost more per example.
COMMANDS: dict[str, int] = {
    "sora": 30,
    "video": 30,
    "tvc": 25,
    "storyboard": 40,
    "credits balance": 10,
    "credits history": 10,
    "credits prices": 5,
    "credits-admin grant": 20,
    "credits-admin take": 20,
    "credits-admin allowance": 15,
    "credits-admin multiplier": 15,
    "credits-admin price": 20,
    "credits-admin export": 20,
    "settings show": 5,
    "settings provider": 20,
    "settings channel": 10,
    "settings role": 10,
    "settings open": 5,
    "settings limits": 20,
    "settings fallback": 15,
    "settings admin-channel": 10,
    "settings gallery": 10,
    "settings delivery": 10,
    "jobs list": 10,
    "jobs show": 20,
    "jobs cancel": 20,
}
SKIPPED: set[str] = set()  # commands not fuzzed here, with the reason beside each
MENUS = {MENU_NAME}  # message context menus, fuzzed by ``test_animate_on_any_message``
ANIMATE = 45  # examples of "Animate" on a random message
RIFFS = 20  # examples of Remix / Variation forms on a finished video
SEED = int(os.environ.get("SORACORD_FUZZ_SEED", "20260101"))
SCALE = float(os.environ.get("SORACORD_FUZZ_SCALE", "1"))
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
LINK_REFUSED = t("net.link_refused", EN)
NO_IMAGE = t("errors.no_image", EN)
FIX = t("storyboard.fix.button", EN)
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


def fuzz_settings(examples: int) -> settings:
    """Hypothesis's settings for one fuzzed entry point: bounded, and the same inputs every run."""
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        deadline=None,
        database=None,  # no replay of past failures: the seed alone decides what is drawn
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


async def links(exits: AsyncExitStack) -> tuple[dict[str, str], Origin, Origin]:
    """``fuzzing.LINKS`` as addresses: an allowed host (127.0.0.1 stands for a public one) serving a
    picture, a host inside (127.0.0.2) serving one too, a redirect from the first to the second,
    and private, link-local and loopback addresses nobody serves."""
    inside = await exits.enter_async_context(Origin("127.0.0.2"))
    outside = await exits.enter_async_context(Origin("127.0.0.1"))
    png = encode("PNG", (64, 48))
    allowed = outside.route("/cat.png", ok(png, "image/png"))
    there = inside.route("/cat.png", ok(png, "image/png"))
    addresses = {
        fuzzing.ALLOWED: allowed,
        "inside": there,
        "redirect-inside": outside.route("/go.png", redirect(there)),
        "private-10": "http://10.0.0.1/cat.png",
        "private-192": "http://192.168.1.10/cat.png",
        "link-local-metadata": "http://169.254.169.254/latest/meta-data/",
        "cgnat": "http://100.64.0.1/cat.png",
        "unspecified": f"http://0.0.0.0:{outside.port}/cat.png",
        "ipv6-loopback": f"http://[::1]:{outside.port}/cat.png",
        "ipv6-mapped-inside": f"http://[::ffff:127.0.0.2]:{inside.port}/cat.png",
        "ipv6-unique-local": "http://[fd00::1]/cat.png",
        "credentials": allowed.replace("http://", "http://user:secret@"),
    }
    assert set(addresses) == set(fuzzing.LINKS)
    return addresses, inside, outside


@dataclass(frozen=True)
class Mark:
    """Before an example: every row, how many videos the vendors were asked for, every balance."""

    rows: dict[str, list[tuple[Any, ...]]]
    creates: int
    balances: dict[int, int]


class Harness:
    """One bot on nanophoto (text, image), its TVC API and freesora (storyboards), fuzzed per example.

    Its fetcher treats 127.0.0.1 as a public host (the fake Discord's CDN, the allowed link) and
    every other address by the real rule, so the links inside and private ones must be refused."""

    def __init__(
        self,
        stack: Stack,
        vendors: tuple[Any, ...],
        refusals: fuzzing.Refusals,
        addresses: dict[str, str],
        inside: Origin,
    ) -> None:
        self.stack, self.vendors, self.refusals = stack, vendors, refusals
        self.addresses, self.inside = addresses, inside
        fake = stack.discord
        self.owner = fake.guild.members[fake.owner.id]
        role = fake.add_role(fake.guild.id, "studio", Perm.VIEW_CHANNEL)
        bot = fake.guild.members[fake.bot_user.id]
        self.targets = fuzzing.Targets([fake.member, self.owner, bot], [fake.channel], [role])

    def creates(self) -> int:
        return sum(v.count(route=r) for v in self.vendors for r in ("generate", "create") if r in v.ROUTES)

    def who(self, data: st.DataObject, label: str = "user") -> Any:
        fake = self.stack.discord
        return data.draw(st.sampled_from([fake.member, self.owner]), label=label)

    async def submit(
        self, opened: FakeInteraction, data: st.DataObject, user: Any, inputs: Mapping[str, fuzzing.Strategy]
    ) -> FakeInteraction:
        """Fill the modal ``opened`` was answered with, send it, and wait for the answer."""
        fake, db = self.stack.discord, self.stack.db
        assert opened.modal is not None
        typed = data.draw(fuzzing.modal_values(opened.modal, inputs), label="modal")
        submitted = await fake.invoke_modal_submit(opened, typed, user=user)
        await fuzzing.answered(fake, db, submitted)
        return submitted

    async def example(self, path: str, data: st.DataObject) -> None:
        fake, db = self.stack.discord, self.stack.db
        user = self.who(data)
        definitions = fuzzing.leaf_options(fake, fake.guild.id, path)
        values = {d["name"]: fuzzing.option_values(d, self.targets, overrides()) for d in definitions}
        required = {
            n: s for n, s in values.items() if any(d["name"] == n and d.get("required") for d in definitions)
        }
        optional = {n: s for n, s in values.items() if n not in required}
        options = data.draw(st.fixed_dictionaries(required, optional=optional), label="options")
        uploads = [v for v in options.values() if isinstance(v, fuzzing.Upload)]
        sent = {n: v.attach(fake) if isinstance(v, fuzzing.Upload) else v for n, v in options.items()}
        mark = await self.mark()
        handle = await fake.invoke_slash(path, sent, user=user)
        await fuzzing.answered(fake, db, handle)
        answers = [handle]
        if handle.modal is not None:
            inputs = {cid: make(options) for cid, make in MODAL_INPUTS.items()}
            answers.append(await self.submit(handle, data, user, inputs))
            fixes = [b for b in fuzzing.buttons(fake, answers[-1]) if b[1] == FIX]
            if fixes and data.draw(st.booleans(), label="fix and resend"):
                await self.check(answers, mark, uploads)  # the refusal, before the retry
                mark = await self.mark()
                message, _, custom_id = fixes[0]
                presser = self.who(data, "presser")
                press = await fake.invoke_component(message, custom_id, user=presser)
                await fuzzing.answered(fake, db, press)
                answers = [press]
                if press.modal is not None:
                    answers.append(await self.submit(press, data, presser, inputs))
                else:
                    assert presser is not user, "Fix and resend opened no form for its own member"
        await self.check(answers, mark, uploads)

    async def animate(self, data: st.DataObject) -> None:
        """Right-click a random message → Apps → Animate, and send the form if one opens."""
        fake, db = self.stack.discord, self.stack.db
        post = data.draw(fuzzing.posts(), label="message")
        author, user = self.who(data, "author"), self.who(data)
        message = await fake.post_member_message(
            post.content,
            author=author,
            attachments=[u.attach(fake) for u in post.uploads],
            embeds=[fuzzing.embed_payload(e, self.addresses[e.link]) for e in post.embeds],
        )
        target = fuzzing.picked(post, IMAGE_SUFFIXES)
        event(f"picked: {target.kind if isinstance(target, fuzzing.Upload) else target and target.link}")
        mark = await self.mark()
        handle = await fake.invoke_message_command(MENU_NAME, message, user=user)
        await fuzzing.answered(fake, db, handle)
        answers = [handle]
        if target is None:
            assert handle.modal is None and [text for text, _ in self.refusals.seen] == [NO_IMAGE]
        if handle.modal is not None:
            answers.append(await self.submit(handle, data, user, {}))
        uploads = [target] if isinstance(target, fuzzing.Upload) else []
        private = target if isinstance(target, fuzzing.Embed) and target.link != fuzzing.ALLOWED else None
        await self.check(answers, mark, uploads, private)

    async def riff(self, data: st.DataObject, result: Any) -> None:
        """Press Remix or Variation on a finished video, send the form, then Confirm, Cancel or neither."""
        fake, db = self.stack.discord, self.stack.db
        user = self.who(data)
        actions = [c for c in fuzzing.buttons_on(result) if ":remix:" in c or ":variation:" in c]
        custom_id = data.draw(st.sampled_from(actions), label="button")
        mark = await self.mark()
        press = await fake.invoke_component(result, custom_id, user=user)
        await fuzzing.answered(fake, db, press)
        answers = [press]
        if press.modal is not None:
            answers.append(await self.submit(press, data, user, {}))
            asked = [b for b in fuzzing.buttons(fake, answers[-1]) if b[1] in ("Confirm", "Cancel")]
            choice = data.draw(st.sampled_from(["neither", *sorted({b[1] for b in asked})]), label="answer")
            for message, label, pressed in asked:
                if label == choice:
                    answers.append(await fake.invoke_component(message, pressed, user=user))
                    await fuzzing.answered(fake, db, answers[-1])
                    break
        await self.check(answers, mark)

    async def mark(self) -> Mark:
        """What an example starts from; the refusals seen so far are forgotten."""
        self.refusals.clear()
        return Mark(await fuzzing.snapshot(self.stack.db), self.creates(), await self.balances())

    async def balances(self) -> dict[int, int]:
        """Every member's balance here (the member and the owner run the commands)."""
        stack = self.stack
        return {u: await stack.balance(u) for u in (stack.member_id, stack.discord.owner.id)}

    def answered_once(self, handle: FakeInteraction) -> None:
        """One callback, accepted, within the deadline: no interaction is left unanswered or answered twice."""
        fake = self.stack.discord
        callbacks = [q for q in fake.requests if q.route == CALLBACK and q.interaction_id == handle.id]
        assert [q.status for q in callbacks if q.ok] and len(callbacks) == 1, [
            (q.status, q.response) for q in callbacks
        ]
        assert handle.ack_latency is not None and handle.ack_latency <= fake.ack_deadline, handle.ack_latency

    async def check(
        self,
        answers: list[FakeInteraction],
        mark: Mark,
        uploads: Sequence[fuzzing.Upload] = (),
        private: fuzzing.Embed | None = None,
    ) -> None:
        fake, db = self.stack.discord, self.stack.db
        for handle in answers:
            self.answered_once(handle)
        shown = [text for handle in answers for text in fuzzing.shown_to(fake, handle)]
        bad = [u for u in uploads if not u.usable]
        for (text, ref), error in zip(self.refusals.seen, self.refusals.errors, strict=True):
            assert ref is None, f"an internal fault, not a refusal: {text}"
            assert 0 < len(text) <= 2000 and text in shown, text
            if isinstance(error, LinkRefused):
                assert private is not None, f"a link refused that was not private: {text}"
                assert text == LINK_REFUSED, text
            elif isinstance(error, ImageError):
                named = [u for u in bad if f"`{u.filename}`" in text and all(n in text for n in u.needles)]
                assert named, f"a picture refused without naming what is wrong: {text!r}, sent {uploads}"
        row = await db.fetchone("SELECT id FROM jobs WHERE interaction_token = $1", (answers[-1].token,))
        async with asyncio.timeout(20):
            await self.stack.bot.engine.wait_idle()
            await self.stack.bot.delivery.wait_idle()
        refused = sorted({type(e).__name__ for e in self.refusals.errors})
        event("outcome: " + ("job" if row is not None else ", ".join(refused) or "answered"))
        if row is not None:
            assert not bad, f"a job made from a picture the bot should refuse: {bad}"
            assert private is None, f"a job made from a link the bot should refuse: {private}"
            job = await jobs.get(db, int(row["id"]))
            assert job is not None and not job.state.active, job
            kinds = [
                e["kind"]
                for e in await db.fetchall(
                    "SELECT kind FROM ledger_entries WHERE job_id = $1 ORDER BY id", (job.id,)
                )
            ]
            assert kinds in (["hold", "capture"], ["hold", "release"]), kinds
            spent = job.cost if kinds[-1] == "capture" else 0
            expected = {u: b - (spent if u == job.user_id else 0) for u, b in mark.balances.items()}
            assert await self.balances() == expected, "the balances are not what the job cost"
        elif self.refusals.seen:
            assert await fuzzing.snapshot(db) == mark.rows, "a refusal changed the database"
            assert self.creates() == mark.creates, "a refusal reached a vendor"
            assert await self.balances() == mark.balances, "a refusal moved credits"
        assert self.inside.connections == 0, "the bot connected to a host inside"
        assert await ledger.invariant_violations(db) == []
        fake.assert_no_violations()


async def open_harness(tmp_path: Path, exits: AsyncExitStack, refusals: fuzzing.Refusals) -> Harness:
    addresses, inside, _ = await links(exits)
    fake = await exits.enter_async_context(FakeDiscord())
    vendor = await exits.enter_async_context(FakeNanophoto(rate_limit=None))
    tvc = await exits.enter_async_context(FakeNanophotoTvc(rate_limit=None))
    fsg = await exits.enter_async_context(FakeFreeSora())
    fetcher = Fetcher(policy=loopback_as_public)
    stacks = cast(
        AsyncGenerator[Stack, None],
        make_stack(tmp_path, fake, vendor, extra_profiles=[tvc.profile(), fsg.profile()], fetcher=fetcher),
    )
    stack = await anext(stacks)
    exits.push_async_callback(stacks.aclose)
    for user in (fake.member.user.id, fake.owner.id):
        await stack.grant(10**9, user)
    return Harness(stack, (vendor, tvc, fsg), refusals, addresses, inside)


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
    fake = bot.stack.discord
    synced = fuzzing.slash_paths(fake, fake.guild.id)
    assert synced - SKIPPED == set(COMMANDS), "add the new command to COMMANDS (or SKIPPED, with why)"
    menus = {c["name"] for c in fake.commands(fake.guild.id) if c.get("type") in (2, 3)}
    assert menus == MENUS, "fuzz the new context menu (MENUS)"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_any_input_is_answered_within_limits_and_a_refusal_changes_nothing(
    harness: tuple[Harness, asyncio.AbstractEventLoop], path: str
) -> None:
    bot, loop = harness

    @seed(SEED)
    @fuzz_settings(COMMANDS[path])
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        loop.run_until_complete(bot.example(path, data))

    fuzz()


def test_animate_on_any_message(harness: tuple[Harness, asyncio.AbstractEventLoop]) -> None:
    bot, loop = harness

    @seed(SEED)
    @fuzz_settings(ANIMATE)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        loop.run_until_complete(bot.animate(data))

    fuzz()


async def finished_video(bot: Harness) -> Any:
    """A video made by /sora, and the result message its Remix / Variation buttons sit on."""
    fake = bot.stack.discord
    job = await bot.stack.settle(await fake.invoke_slash("sora", {"prompt": "A lighthouse in a storm"}))
    assert job.state == "succeeded", job.error_message
    return await fake.wait_for_message(
        lambda m: any(f":variation:{job.id}" in c for c in fuzzing.buttons_on(m)), timeout=10
    )


def test_riff_forms(harness: tuple[Harness, asyncio.AbstractEventLoop]) -> None:
    bot, loop = harness
    result = loop.run_until_complete(finished_video(bot))

    @seed(SEED)
    @fuzz_settings(RIFFS)
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        loop.run_until_complete(bot.riff(data, result))

    fuzz()
