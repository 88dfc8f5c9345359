"""Autocomplete as a member types: the choices the bot offers come from the configured provider."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.nanophoto import FakeNanophoto


async def choices(fake: FakeDiscord, handle: FakeInteraction) -> list[str]:
    await fake.wait_for_ack(handle)
    assert handle.response_type == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    assert handle.response_data is not None
    return [c["value"] for c in handle.response_data["choices"]]


async def test_sora_tier_offers_the_profiles_tiers_matching_what_is_typed(stack: Stack) -> None:
    fake = stack.discord
    typed_nothing = await fake.invoke_autocomplete("sora", {}, focused="tier")
    assert await choices(fake, typed_nothing) == ["sora2", "sora2-pro-standard", "sora2-pro-high"]
    typed_pro = await fake.invoke_autocomplete("sora", {"prompt": "x", "tier": "PRO"}, focused="tier")
    assert await choices(fake, typed_pro) == ["sora2-pro-standard", "sora2-pro-high"]
    fake.assert_no_violations()


async def test_a_restricted_profile_offers_only_its_tiers(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    async for stack in make_stack(tmp_path, fake_discord, vendor, vendor.profile(models=("sora2",))):
        handle = await stack.discord.invoke_autocomplete("sora", {}, focused="tier")
        assert await choices(stack.discord, handle) == ["sora2"]


async def test_settings_offers_profiles_then_that_profiles_models(stack: Stack) -> None:
    fake = stack.discord
    boss = fake.guild.members[fake.owner.id]
    profiles = await fake.invoke_autocomplete("settings provider", {}, focused="profile", user=boss)
    assert await choices(fake, profiles) == ["nano"]
    models = await fake.invoke_autocomplete(
        "settings provider", {"profile": "nano", "model": "high"}, focused="model", user=boss
    )
    assert await choices(fake, models) == ["sora2-pro-high"]
    unknown = await fake.invoke_autocomplete(
        "settings provider", {"profile": "nope"}, focused="model", user=boss
    )
    assert await choices(fake, unknown) == []
    fake.assert_no_violations()
