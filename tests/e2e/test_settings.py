"""``/settings`` as a server manager uses it, and what it changes for members."""

from __future__ import annotations

from storage import guilds
from tests.e2e.conftest import Stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage


async def reply(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    message = fake.original_message(handle)
    assert message.ephemeral
    return message


def owner(fake: FakeDiscord):  # the server owner has Manage Server
    return fake.guild.members[fake.owner.id]


async def test_settings_are_for_managers(stack: Stack) -> None:
    fake = stack.discord
    synced = {c["name"]: c for c in fake.commands(stack.guild_id)}
    assert str(synced["settings"]["default_member_permissions"]) == str(1 << 5)
    message = await reply(fake, await fake.invoke_slash("settings show"))
    assert "Only server managers" in message.content
    shown = await reply(fake, await fake.invoke_slash("settings show", user=owner(fake)))
    assert "anywhere" in str(shown.embeds) and "everyone" in str(shown.embeds)
    message = await reply(fake, await fake.invoke_slash("settings limits", {"active_per_member": 2}))
    assert "Only server managers" in message.content
    assert (await guilds.get(stack.db, stack.guild_id)).max_active_per_member is None


async def test_provider_model_and_limits(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    message = await reply(
        fake,
        await fake.invoke_slash(
            "settings provider", {"profile": "nano", "model": "sora2-pro-high"}, user=boss
        ),
    )
    assert "sora2-pro-high" in str(message.embeds)
    bad = await reply(fake, await fake.invoke_slash("settings provider", {"profile": "nope"}, user=boss))
    assert "`profile`" in bad.content and "nano" in bad.content
    bad = await reply(
        fake, await fake.invoke_slash("settings provider", {"profile": "nano", "model": "x"}, user=boss)
    )
    assert "`model`" in bad.content and "sora2, sora2-pro-standard, sora2-pro-high" in bad.content

    await stack.grant(500)
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": "glass city at night"}))
    assert job.model == "sora2-pro-high" and job.cost == 120  # the server's default model was used
    assert stack.vendor.calls("generate")[0].json["modelTier"] == "sora2-pro-high"

    message = await reply(
        fake,
        await fake.invoke_slash("settings limits", {"active_per_member": 2, "daily_spend": 0}, user=boss),
    )
    assert "in progress per member: 2" in str(message.embeds)
    bad = await reply(fake, await fake.invoke_slash("settings limits", {"active_per_server": -1}, user=boss))
    assert "`active_per_server`" in bad.content
    fake.assert_no_violations()


async def test_generation_only_where_and_by_whom_the_server_allows(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    general = next(c for c in fake.guild.channels.values() if c.name == "general")
    await reply(fake, await fake.invoke_slash("settings channel", {"channel": general.id}, user=boss))
    await stack.grant(50)
    refused = await reply(fake, await fake.invoke_slash("sora", {"prompt": "a red balloon"}))  # in #studio
    assert f"only in <#{general.id}>" in refused.content
    role = fake.add_role(fake.guild.id, "Creators", 0)
    await reply(fake, await fake.invoke_slash("settings open", user=boss))
    await reply(fake, await fake.invoke_slash("settings role", {"role": role.id}, user=boss))
    refused = await reply(fake, await fake.invoke_slash("sora", {"prompt": "a red balloon"}))
    assert "needs one of these roles" in refused.content and f"<@&{role.id}>" in refused.content
    assert not refused.data.get("mentions")  # naming the role pinged no one
    assert stack.vendor.requests == [] and await stack.balance() == 50
    # Managers are never locked out.
    await stack.grant(50, user_id=fake.owner.id)
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": "a red balloon"}, user=boss))
    assert job.state == "succeeded"


async def test_a_channel_can_be_allowed_and_then_removed(stack: Stack) -> None:
    fake = stack.discord
    boss = owner(fake)
    general = next(c for c in fake.guild.channels.values() if c.name == "general")
    await reply(fake, await fake.invoke_slash("settings channel", {"channel": general.id}, user=boss))
    assert (await guilds.get(stack.db, stack.guild_id)).allowed_channels == (general.id,)
    shown = await reply(
        fake, await fake.invoke_slash("settings channel", {"channel": general.id, "allow": False}, user=boss)
    )
    assert (await guilds.get(stack.db, stack.guild_id)).allowed_channels == ()
    assert "anywhere" in str(shown.embeds)
