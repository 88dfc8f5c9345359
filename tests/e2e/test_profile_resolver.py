"""One profile resolver: once a server picks another provider, everything a member sees follows it.

The bot's default profile is nanophoto (``nano``); the server's manager switches to freesora
(``fsg``) with ``/settings provider``. Autocomplete, ``/credits prices`` and ``/credits-admin
price`` must then all speak of freesora's models, as ``/sora`` itself does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.providers.base import TextToVideo
from storage import guilds
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.freesora import FakeFreeSora
from tests.fakes.nanophoto import FakeNanophoto


@pytest.fixture
async def switched(tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto) -> AsyncIterator[Stack]:
    async with FakeFreeSora() as fsg:
        async for stack in make_stack(tmp_path, fake_discord, vendor, extra_profiles=[fsg.profile()]):
            boss = stack.discord.guild.members[stack.discord.owner.id]
            handle = await stack.discord.invoke_slash("settings provider", {"profile": "fsg"}, user=boss)
            assert "fsg" in str((await reply(stack.discord, handle)).embeds)
            yield stack


async def reply(fake: FakeDiscord, handle: FakeInteraction) -> StoredMessage:
    await fake.wait_for_ack(handle)
    message = fake.original_message(handle)
    assert message.ephemeral
    return message


async def test_sora_model_autocomplete_offers_the_servers_provider_first(switched: Stack) -> None:
    fake = switched.discord
    handle = await fake.invoke_autocomplete("sora", {"prompt": "x"}, focused="model")
    await fake.wait_for_ack(handle)
    assert handle.response_data is not None
    values = [c["value"] for c in handle.response_data["choices"]]
    assert values[:3] == ["fsg/sora-2", "fsg/sora-2-stable", "fsg/sora-2-pro"]
    fake.assert_no_violations()


async def test_credits_prices_lists_every_model_the_server_can_use(switched: Stack) -> None:
    fake = switched.discord
    shown = (await reply(fake, await fake.invoke_slash("credits prices"))).embeds[0]["description"]
    assert shown.index("**Sora 2** (fsg)") < shown.index("**Sora 2** (nano)")  # the server's own first
    pro = "**Sora 2 Pro** (fsg)\n*makes text, image, storyboard*\n10 seconds — **375** credits\n"
    assert pro + "15 seconds — **675** credits\n25 seconds — **875** credits · storyboard only" in shown
    assert "**Sora 2 Pro High**\n*makes text, image*\n10 seconds — **120** credits" in shown  # no name
    fake.assert_no_violations()


async def test_credits_admin_price_accepts_the_servers_provider_models(switched: Stack) -> None:
    fake = switched.discord
    boss = fake.guild.members[fake.owner.id]
    handle = await fake.invoke_slash(
        "credits-admin price", {"model": "sora-2", "duration": 10, "credits": 42}, user=boss
    )
    assert "`model`" not in (await reply(fake, handle)).content
    settings = await guilds.get(switched.db, switched.guild_id)
    assert settings.prices == {"fsg:sora-2:10": 42}
    quote = await switched.bot.engine.admission.quote(TextToVideo(prompt="x"), switched.guild_id)
    assert (quote.profile, quote.model, quote.cost) == ("fsg", "sora-2", 42)
    fake.assert_no_violations()
