"""``/sora`` as a member uses it: real discord.py ↔ fake Discord ↔ bot ↔ fake nanophoto."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import jobs
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
PROMPT = "A paper boat drifting down a rainy street, macro lens"


def field(message: StoredMessage, name: str) -> str:
    embed = message.embeds[0]
    return next(f["value"] for f in embed.get("fields", []) if f["name"] == name)


async def ledger_kinds(stack: Stack) -> list[str]:
    rows = await stack.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id IS NOT NULL ORDER BY id")
    return [r["kind"] for r in rows]


async def test_commands_sync_to_the_dev_guild(stack: Stack) -> None:
    synced = {c["name"]: c for c in stack.discord.commands(stack.guild_id)}
    assert "sora" in synced
    options = {o["name"]: o for o in synced["sora"]["options"]}
    assert options["prompt"]["required"] is True and options["prompt"]["max_length"] == 2000
    assert options["duration"]["autocomplete"] is True and "choices" not in options["duration"]
    assert [c["value"] for c in options["orientation"]["choices"]] == ["portrait", "landscape"]
    assert options["model"]["autocomplete"] is True
    stack.discord.assert_no_violations()


async def test_sora_defers_edits_one_message_and_ends_with_the_video(stack: Stack) -> None:
    await stack.grant(10)
    stages = ("queuing", "generating", "finalizing")
    stack.vendor.script_next(TaskScript(stages=stages, advance="time", stage_seconds=0.15))
    fake = stack.discord

    handle = await fake.invoke_slash("sora", {"prompt": PROMPT, "duration": 15, "orientation": "landscape"})
    await fake.wait_for_ack(handle)
    ack = next(r for r in fake.requests_to(CALLBACK, "POST") if r.interaction_id == handle.id)
    assert ack.json["type"] == 5  # deferred, public
    assert ack.query.get("with_response") in {"1", "true", "True"}
    assert handle.ack_latency is not None and handle.ack_latency < 3.0

    row = await stack.settle(handle)
    original = fake.original_message(handle)
    assert "✅" in field(original, "Status")
    assert row.state == "succeeded" and row.remote_id
    video_url = stack.vendor.video_url(row.remote_id)
    names = [f["name"] for f in original.embeds[0]["fields"]]
    assert "Video" not in names and video_url not in str(original.embeds)  # uploaded: no vendor link
    assert field(original, "Cost") == "8 credits spent"
    assert PROMPT in original.embeds[0]["description"]
    assert len(original.edits) >= 3  # queued → … → rendering → done, all on the one message

    # The member saw the stages go by on the same message, in words (not the vendor's).
    statuses = [e.body["embeds"][0]["fields"][0]["value"] for e in original.edits if e.body.get("embeds")]
    words = ("waiting its turn at the provider", "generating", "finishing")
    assert sum(any(word in s for s in statuses) for word in words) >= 2, statuses
    assert not any("queuing" in s or "finalizing" in s for s in statuses), statuses

    # The result is announced to the requester, and only to them.
    (result,) = fake.answers(handle)
    (video,) = result.attachments  # it fits the upload limit, so it is uploaded
    assert video["filename"] == f"video-{row.id}.mp4"
    assert f"<@{stack.member_id}>" in result.content
    assert result.data.get("mentions") and {m["id"] for m in result.data["mentions"]} == {
        str(stack.member_id)
    }

    assert await stack.balance() == 2
    assert await ledger_kinds(stack) == ["hold", "capture"]
    sent = stack.vendor.calls("generate")[0].json
    assert sent == {
        "prompt": PROMPT,
        "mode": "textToVideo",
        "modelTier": "sora2",
        "aspectRatio": "landscape",
        "videoDuration": "15",
    }


async def test_the_hold_shows_while_the_job_runs(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    fake = stack.discord
    handle = await fake.invoke_slash("sora", {"prompt": PROMPT})
    message = await fake.wait_for_message(
        lambda m: m.interaction_id == handle.id and bool(m.embeds) and "Rendering" in str(m.embeds)
    )
    assert field(message, "Cost") == "4 credits held"
    # Times are Discord timestamps, which count by themselves between edits.
    assert re.fullmatch(r"<t:\d+:R>", field(message, "Started"))
    # The estimate (from the profile's history: 0.02 s here, so soon past) is a timestamp until it
    # runs out, then words — never "0s" (tests/e2e/test_living_card.py shows both).
    ready = field(message, "Ready")
    assert re.fullmatch(r"<t:\d+:R>", ready) or ready == "⌛ Taking longer than usual — still working on it"
    assert await stack.balance() == 6
    await stack.bot.engine.stop()


async def test_generation_failed_says_so_and_returns_the_credits(stack: Stack) -> None:
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="failed"))
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    await stack.settle(handle)
    original = stack.discord.original_message(handle)
    status = field(original, "Status")
    # One sentence: what happened (the model by its name), the credits, what to try next; the
    # vendor's own "its credits are refunded automatically" (its credits, not ours) is not nested in it.
    sentence = "Sora 2 could not make this video; your 4 credits were returned — try again, perhaps with a different prompt."
    assert status == f"❌ {sentence}"
    assert "Traceback" not in status and "GENERATION_FAILED" not in status
    assert field(original, "Cost") == "4 credits returned"
    assert await stack.balance() == 10
    assert await ledger_kinds(stack) == ["hold", "release"]
    (result,) = stack.discord.answers(handle)
    assert result.content.count(sentence) == 1 and "nano" not in result.content  # no profile name


@pytest.mark.parametrize(
    ("status", "code", "says"),
    [
        (402, "INSUFFICIENT_CREDITS", "admin"),
        (401, "LOGIN_REQUIRED", "admin"),
    ],
)
async def test_vendor_account_problems_tell_an_admin_what_to_do(
    stack: Stack, status: int, code: str, says: str
) -> None:
    await stack.grant(10)
    stack.vendor.fail_next("generate", status=status, code=code, error="vendor words", requiredCredits=4)
    handle = await stack.discord.invoke_slash("sora", {"prompt": PROMPT})
    await stack.settle(handle)
    text = field(stack.discord.original_message(handle), "Status")
    assert says in text.lower()
    assert "vendor words" not in text
    assert await stack.balance() == 10
    assert await ledger_kinds(stack) == ["hold", "release"]


async def assert_refused(stack: Stack, options: dict[str, object], *needles: str) -> None:
    fake = stack.discord
    handle = await fake.invoke_slash("sora", options)
    await fake.wait_for_ack(handle)
    reply = fake.original_message(handle)
    assert reply.ephemeral, "errors are shown only to the member who ran the command"
    for needle in needles:
        assert needle in reply.content, reply.content
    assert await jobs.count(stack.db) == 0
    assert await ledger_kinds(stack) == []
    assert stack.vendor.requests == []


@pytest.mark.parametrize("prompt", ["   ", "\u200b\u200d\u2060", "\u200e \ufeff\n"])
async def test_blank_prompt_is_refused(stack: Stack, prompt: str) -> None:
    """Spaces alone, or zero-width characters Discord counts as text: refused, nothing charged."""
    await stack.grant(10)
    await assert_refused(stack, {"prompt": prompt}, "`prompt`", "is empty", "1 to 2000")


async def test_over_long_prompt_is_refused(stack: Stack) -> None:
    await stack.grant(10)
    await assert_refused(stack, {"prompt": "x" * 2001}, "`prompt`", "2001 characters", "at most 2000")


async def test_unknown_model_is_refused_naming_the_models(stack: Stack) -> None:
    await stack.grant(10)
    await assert_refused(
        stack,
        {"prompt": PROMPT, "model": "sora3-ultra"},
        "`model`",
        "Sora 2, Sora 2 Pro, Sora 2 Pro High",
    )


async def test_not_enough_credits_is_refused_with_balance_and_cost(stack: Stack) -> None:
    await stack.grant(3)
    await assert_refused(stack, {"prompt": PROMPT}, "costs 4", "balance is 3")
    assert await stack.balance() == 3


@pytest.fixture
async def ten_seconds_only(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> AsyncIterator[Stack]:
    async for s in make_stack(tmp_path, fake_discord, vendor, vendor.profile(durations=(10,))):
        yield s


async def test_duration_the_profile_does_not_offer_is_refused(ten_seconds_only: Stack) -> None:
    stack = ten_seconds_only
    await stack.grant(10)
    await assert_refused(stack, {"prompt": PROMPT, "duration": 15}, "`duration`", "15 s", "Allowed: 10 s")


async def test_every_command_is_for_servers_only_and_installed_to_servers(stack: Stack) -> None:
    """``contexts`` [0] (GUILD) and ``integration_types`` [0] (GUILD_INSTALL) on every synced command,
    so a user install cannot run them in servers the bot is not in, nor in DMs."""
    synced = stack.discord.commands(stack.guild_id)
    assert len(synced) >= 8
    for command in synced:
        assert command.get("contexts") == [0], command["name"]
        assert command.get("integration_types") == [0], command["name"]
