"""``/credits`` and ``/credits-admin`` as members and managers use them, through the fake Discord."""

from __future__ import annotations

import csv
import io

from storage import guilds, ledger
from tests.e2e.conftest import Stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import TaskScript


def owner(fake: FakeDiscord):  # the server owner has every permission, Manage Server included
    return fake.guild.members[fake.owner.id]


async def reply(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    message = fake.original_message(handle)
    assert message.ephemeral
    return message


async def entries(stack: Stack) -> list[ledger.Entry]:
    return await ledger.entries(stack.db, stack.guild_id, stack.member_id)


async def test_admin_commands_are_hidden_from_members_by_default(stack: Stack) -> None:
    synced = {c["name"]: c for c in stack.discord.commands(stack.guild_id)}
    assert str(synced["credits-admin"]["default_member_permissions"]) == str(1 << 5)  # Manage Server
    assert synced["credits"].get("default_member_permissions") is None
    assert {o["name"] for o in synced["credits"]["options"]} == {"balance", "history", "prices"}


async def test_balance_shows_available_and_held(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript(outcome="never"))
    await stack.job_for(await fake.invoke_slash("sora", {"prompt": "a quiet harbour at dawn"}))
    h = await fake.invoke_slash("credits balance")
    message = await reply(fake, h)
    assert "You have **6** credits (4 more held by videos in progress)" in message.content
    await stack.bot.engine.stop()


async def test_grant_then_balance_then_history(stack: Stack) -> None:
    fake = stack.discord
    h = await fake.invoke_slash(
        "credits-admin grant",
        {"member": fake.member, "amount": 25, "reason": "launch week"},
        user=owner(fake),
    )
    assert "new balance **25**" in (await reply(fake, h)).content
    [entry] = await entries(stack)
    assert (entry.kind, entry.amount, entry.actor_id, entry.reason) == (
        "grant",
        25,
        fake.owner.id,
        "launch week",
    )

    h = await fake.invoke_slash("credits balance")
    assert "You have **25** credits" in (await reply(fake, h)).content

    h = await fake.invoke_slash("credits history")
    history = await reply(fake, h)
    assert (
        "`+25` granted" in history.embeds[0]["description"]
        and "launch week" in history.embeds[0]["description"]
    )
    fake.assert_no_violations()


async def test_history_pages_with_buttons_only_for_the_asker(stack: Stack) -> None:
    fake = stack.discord
    for n in range(1, 24):
        await stack.grant(n)
    h = await fake.invoke_slash("credits history")
    first = await reply(fake, h)
    assert "Page 1 of 3" in first.embeds[0]["footer"]["text"]
    assert "`+23`" in first.embeds[0]["description"]  # newest first
    buttons = {c["label"]: c for row in first.components for c in row["components"]}
    assert buttons["Newer"].get("disabled") is True

    press = await fake.invoke_component(first, buttons["Older"]["custom_id"])
    await fake.wait_for_ack(press)
    page2 = fake.message(first.channel_id, first.id)
    assert "Page 2 of 3" in page2.embeds[0]["footer"]["text"] and "`+13`" in page2.embeds[0]["description"]
    fake.assert_no_violations()


async def test_members_cannot_see_others_or_use_manager_commands(stack: Stack) -> None:
    fake = stack.discord
    h = await fake.invoke_slash("credits balance", {"member": owner(fake)})
    assert "Only server managers" in (await reply(fake, h)).content
    # A member who reaches a manager command anyway (e.g. a stale permission override) is refused server-side.
    h = await fake.invoke_slash("credits-admin grant", {"member": fake.member, "amount": 5, "reason": "me"})
    assert "Only server managers" in (await reply(fake, h)).content
    assert await entries(stack) == []


async def test_bad_amounts_and_targets_are_refused_and_nothing_is_written(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    for amount, needle in ((0, "is 0"), (-5, "is -5"), (5_000_000, "over the maximum")):
        h = await fake.invoke_slash(
            "credits-admin grant", {"member": fake.member, "amount": amount, "reason": "x"}, user=boss
        )
        message = (await reply(fake, h)).content
        assert "`amount`" in message and needle in message and "1 to 1,000,000" in message
    h = await fake.invoke_slash(
        "credits-admin grant",
        {"member": fake.guild.members[fake.bot_user.id], "amount": 5, "reason": "x"},
        user=boss,
    )
    assert "is a bot" in (await reply(fake, h)).content
    h = await fake.invoke_slash(
        "credits-admin take", {"member": fake.member, "amount": 5, "reason": "x"}, user=boss
    )
    assert "the member has 0" in (await reply(fake, h)).content
    assert await entries(stack) == []
    assert await ledger.entries(stack.db, stack.guild_id, fake.bot_user.id) == []


async def test_export_csv_and_bad_ranges(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    await stack.grant(7)
    h = await fake.invoke_slash("credits-admin export", user=boss)
    message = await reply(fake, h)
    assert message.attachments and message.attachments[0]["filename"].endswith(".csv")
    data = next(iter(message.files.values()))
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [(r["member_id"], r["kind"], r["amount"]) for r in rows] == [(str(stack.member_id), "grant", "7")]

    h = await fake.invoke_slash("credits-admin export", {"from": "2026-12-02", "to": "2026-12-01"}, user=boss)
    assert "is after `to`" in (await reply(fake, h)).content
    h = await fake.invoke_slash("credits-admin export", {"from": "2001-01-01", "to": "2001-01-02"}, user=boss)
    assert "No credit entries between 2001-01-01 and 2001-01-02" in (await reply(fake, h)).content
    h = await fake.invoke_slash("credits-admin export", {"from": "yesterday"}, user=boss)
    assert "YYYY-MM-DD" in (await reply(fake, h)).content
    fake.assert_no_violations()


async def test_prices_follow_the_server_multiplier_and_explicit_prices(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    h = await fake.invoke_slash("credits prices")
    assert (
        "**Sora 2**\n*makes text, image*\n10 seconds — **4** credits\n"
        in (await reply(fake, h)).embeds[0]["description"]
    )
    await reply(fake, await fake.invoke_slash("credits-admin multiplier", {"value": 1.5}, user=boss))
    await reply(
        fake,
        await fake.invoke_slash(
            "credits-admin price", {"model": "sora2-pro-high", "duration": 15, "credits": 200}, user=boss
        ),
    )
    h = await fake.invoke_slash("credits prices")
    text = (await reply(fake, h)).embeds[0]["description"]
    assert "**Sora 2**\n*makes text, image*\n10 seconds — **6** credits\n15 seconds — **12** credits" in text
    high = (
        "**Sora 2 Pro High**\n*makes text, image*\n10 seconds — **180** credits\n15 seconds — **200** credits"
    )
    assert high in text

    await stack.grant(6)
    stack.vendor.script_next(TaskScript())
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": "a kite over dunes"}))
    assert job.cost == 6 and await stack.balance() == 0


async def test_allowance_is_granted_once_per_period(stack: Stack) -> None:
    fake = stack.discord
    await reply(
        fake,
        await fake.invoke_slash(
            "credits-admin allowance", {"amount": 12, "period": "week"}, user=owner(fake)
        ),
    )
    for _ in range(3):  # the allowance that is due shows at once; looking at it writes nothing
        assert "**12**" in (await reply(fake, await fake.invoke_slash("credits balance"))).content
    assert [e for e in await entries(stack) if e.kind == "grant"] == []
    for prompt in ("a kite over dunes", "a lighthouse in fog"):  # it lands with the first job, once
        stack.vendor.script_next(TaskScript())
        await stack.settle(await fake.invoke_slash("sora", {"prompt": prompt}))
    grants = [e for e in await entries(stack) if e.kind == "grant"]
    assert len(grants) == 1 and grants[0].reason.startswith("allowance ")
    assert "**4**" in (await reply(fake, await fake.invoke_slash("credits balance"))).content


async def test_caps_stop_a_job_before_anything_is_charged(stack: Stack) -> None:
    fake = stack.discord
    await guilds.update(stack.db, stack.guild_id, max_daily_spend_per_member=5)
    await stack.grant(20)
    stack.vendor.script_next(TaskScript())
    await stack.settle(await fake.invoke_slash("sora", {"prompt": "first"}))
    message = await reply(fake, await fake.invoke_slash("sora", {"prompt": "second"}))
    assert "spending today to 8 credits" in message.content and "allows 5 a day" in message.content
    assert await stack.balance() == 16


async def test_history_names_each_entrys_job_in_the_readers_language(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    stack.vendor.script_next(TaskScript())
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": "a kite over dunes"}))
    english = (await reply(fake, await fake.invoke_slash("credits history"))).embeds[0]["description"]
    assert f"job #{job.id} (Text to video · sora2 · 10 s · done)" in english
    chinese = (await reply(fake, await fake.invoke_slash("credits history", locale="zh-CN"))).embeds[0][
        "description"
    ]
    assert "sora2 · 10 s" in chinese and "Text to video" not in chinese


async def test_bad_pricing_settings_are_refused_and_change_nothing(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    for value in (0.0, 250.0):
        message = await reply(
            fake, await fake.invoke_slash("credits-admin multiplier", {"value": value}, user=boss)
        )
        assert "`multiplier`" in message.content and "0.1 to 100" in message.content
    bad_model = await reply(
        fake,
        await fake.invoke_slash(
            "credits-admin price", {"model": "sora9", "duration": 10, "credits": 5}, user=boss
        ),
    )
    assert "`model`" in bad_model.content and "sora2, sora2-pro-standard, sora2-pro-high" in bad_model.content
    bad_duration = await reply(
        fake,
        await fake.invoke_slash(
            "credits-admin price", {"model": "sora2", "duration": 12, "credits": 5}, user=boss
        ),
    )
    assert "`duration`" in bad_duration.content and "10, 15" in bad_duration.content
    settings = await guilds.get(stack.db, stack.guild_id)
    assert settings.price_multiplier == 1.0 and settings.prices == {}


async def test_allowance_zero_turns_it_off(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    await reply(
        fake, await fake.invoke_slash("credits-admin allowance", {"amount": 12, "period": "month"}, user=boss)
    )
    off = await reply(fake, await fake.invoke_slash("credits-admin allowance", {"amount": 0}, user=boss))
    assert "turned off" in off.content.lower()
    settings = await guilds.get(stack.db, stack.guild_id)
    assert settings.allowance_amount is None and settings.allowance_period is None
    assert "**0**" in (await reply(fake, await fake.invoke_slash("credits balance"))).content


async def test_export_keeps_formula_like_reasons_as_text(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    reasons = [
        '=HYPERLINK("http://evil.example","prize")',
        "+1 for launch",
        "-fix",
        "@sum(A1)",
        "plain thanks",
    ]
    for reason in reasons:
        h = await fake.invoke_slash(
            "credits-admin grant", {"member": fake.member, "amount": 1, "reason": reason}, user=boss
        )
        await reply(fake, h)
    message = await reply(fake, await fake.invoke_slash("credits-admin export", user=boss))
    rows = list(csv.DictReader(io.StringIO(next(iter(message.files.values())).decode())))
    assert [r["reason"] for r in rows] == [
        '\'=HYPERLINK("http://evil.example","prize")',
        "'+1 for launch",
        "'-fix",
        "'@sum(A1)",
        "plain thanks",
    ]
