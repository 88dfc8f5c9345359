"""What the bot echoes of a member's words: inert (no markdown, masked links or pings) and within
Discord's limits, through the real client and the fake Discord.

A member can paste 6,000 characters into a text option; a refusal that quotes it whole would be
longer than a message may be, Discord would refuse it, and the member would get no answer at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, Member
from tests.fakes.discord.records import StoredMessage
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.freesora import TaskScript as FsgScript
from tests.fakes.nanophoto import FakeNanophoto

HOSTILE = "[click](https://evil.example/x) @everyone <@&123> **loud** ||hidden|| `tick`"
SHOUTING = "# Free credits\n-# small print\n> quoted"


def owner(fake: FakeDiscord) -> Member:  # the server owner has Manage Server
    return fake.guild.members[fake.owner.id]


async def refusal(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    message = fake.original_message(handle)
    assert message.ephemeral
    return message


def field(message: StoredMessage, name: str) -> str:
    return str(next(f["value"] for f in message.embeds[0].get("fields", []) if f["name"] == name))


def assert_inert(text: str) -> None:
    """No masked link, no markdown run, no mention: each is escaped or broken by a zero-width space."""
    assert "[click](" not in text and "\\[click\\](https://evil.example/x)" in text
    assert "@everyone" not in text and "@\u200beveryone" in text
    assert "<@&123>" not in text.replace("\\<@&123>", "")
    for run in ("**loud**", "||hidden||", "`tick`"):
        assert run not in text


@pytest.mark.parametrize(
    ("command", "options", "needle"),
    [
        ("settings provider", {"profile": "p" * 6000}, "`profile`"),
        ("credits-admin export", {"from": "2026-" + "1" * 6000}, "`from`"),
    ],
)
async def test_a_six_thousand_character_value_gets_a_short_refusal(
    stack: Stack, command: str, options: dict[str, object], needle: str
) -> None:
    fake = stack.discord
    message = await refusal(fake, await fake.invoke_slash(command, options, user=owner(fake)))
    assert needle in message.content and "…" in message.content
    assert len(message.content) <= 2000
    fake.assert_no_violations()


async def test_a_prompt_with_a_masked_link_and_everyone_is_inert_on_the_card(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    handle = await fake.invoke_slash("sora", {"prompt": f"{HOSTILE}\n{SHOUTING}"})
    job = await stack.settle(handle)
    assert job.state == "succeeded"
    assert HOSTILE in job.request_json.replace("\\u0026", "&")  # the vendor got the words as typed
    card = fake.original_message(handle)
    description = card.embeds[0]["description"]
    assert_inert(description)
    assert "\n\\# Free credits\n\\-# small print\n\\> quoted" in description
    (result,) = fake.answers(handle)
    assert_inert(result.content)
    assert result.mentions == [stack.member_id]
    for message in fake.channel_messages(fake.channel.id):
        assert message.data["mention_everyone"] is False and message.data["mention_roles"] == []


async def test_an_over_long_prompt_fits_the_card_and_the_result(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    handle = await fake.invoke_slash("sora", {"prompt": "*" * 2000})  # every character doubles
    await stack.settle(handle)
    assert len(fake.original_message(handle).embeds[0]["description"]) <= 1010
    (result,) = fake.answers(handle)
    assert len(result.content) <= 2000 and "\\*\\*" in result.content
    fake.assert_no_violations()


async def test_a_reason_in_the_history_is_inert(stack: Stack) -> None:
    fake = stack.discord
    grant = await fake.invoke_slash(
        "credits-admin grant", {"member": fake.member, "amount": 5, "reason": HOSTILE}, user=owner(fake)
    )
    await fake.wait_for_ack(grant)
    history = await refusal(fake, await fake.invoke_slash("credits history"))
    assert_inert(history.embeds[0]["description"])


@pytest.fixture
async def fsg() -> AsyncIterator[FakeFreeSora]:
    async with FakeFreeSora() as fake:
        yield fake


@pytest.fixture
async def on_freesora(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, fsg: FakeFreeSora
) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, vendor, extra_profiles=[fsg.profile()]):
        yield s


async def test_storyboard_lines_and_its_prompt_are_inert(on_freesora: Stack, fsg: FakeFreeSora) -> None:
    stack, fake = on_freesora, on_freesora.discord
    await stack.grant(10_000)
    fsg.script_next(FsgScript())
    opened = await fake.invoke_slash("storyboard", {"duration": 10})
    await fake.wait_for_ack(opened)
    shots = f"5 | {HOSTILE}\n5 | " + "~" * 1900  # escaped, the second shot no longer fits the field
    submit = await fake.invoke_modal_submit(opened, {"storyboard:shots": shots, "storyboard:prompt": HOSTILE})
    job = await stack.settle(submit)
    assert job.state == "succeeded", job.error_message
    card = fake.original_message(submit)
    assert_inert(card.embeds[0]["description"])
    lines = field(card, "Shots")
    assert_inert(lines)
    assert lines.startswith("`5 s` \\[click\\]") and len(lines) <= 1024 and lines.endswith("…")
    fake.assert_no_violations()


async def test_a_storyboard_line_of_thousands_of_characters_gets_a_short_refusal(
    on_freesora: Stack, fsg: FakeFreeSora
) -> None:
    stack, fake = on_freesora, on_freesora.discord
    await stack.grant(10_000)
    opened = await fake.invoke_slash("storyboard", {"duration": 10})
    await fake.wait_for_ack(opened)
    head = "-0." + "0" * 3900 + "1"  # a negative duration, quoted back
    submit = await fake.invoke_modal_submit(opened, {"storyboard:shots": f"{head} | a skyline"})
    message = await refusal(fake, submit)
    assert "Line 1" in message.content and len(message.content) <= 2000
    assert await jobs.count(stack.db) == 0 and fsg.calls("create") == []
