"""Autocomplete as a member types: the choices the bot offers come from the configured provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.nanophoto import FakeNanophoto


async def choices(fake: FakeDiscord, handle: FakeInteraction) -> list[Any]:
    await fake.wait_for_ack(handle)
    assert handle.response_type == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    assert handle.response_data is not None
    return [c["value"] for c in handle.response_data["choices"]]


async def names(fake: FakeDiscord, handle: FakeInteraction) -> list[str]:
    await fake.wait_for_ack(handle)
    assert handle.response_data is not None
    return [c["name"] for c in handle.response_data["choices"]]


async def test_sora_model_offers_the_profiles_models_matching_what_is_typed(stack: Stack) -> None:
    fake = stack.discord
    typed_nothing = await fake.invoke_autocomplete("sora", {}, focused="model")
    assert await choices(fake, typed_nothing) == [
        "nano/sora2",
        "nano/sora2-pro-standard",
        "nano/sora2-pro-high",
    ]
    assert await names(fake, typed_nothing) == ["Sora 2", "Sora 2 Pro", "Sora 2 Pro High"]
    typed_pro = await fake.invoke_autocomplete("sora", {"prompt": "x", "model": "PRO"}, focused="model")
    assert await choices(fake, typed_pro) == ["nano/sora2-pro-standard", "nano/sora2-pro-high"]
    fake.assert_no_violations()


async def test_sora_duration_offers_the_chosen_models_durations(stack: Stack) -> None:
    fake = stack.discord
    handle = await fake.invoke_autocomplete("sora", {"model": "nano/sora2"}, focused="duration")
    assert await choices(fake, handle) == [10, 15]
    assert await names(fake, handle) == ["10 seconds", "15 seconds"]


async def test_a_restricted_profile_offers_only_its_models(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    async for stack in make_stack(tmp_path, fake_discord, vendor, vendor.profile(models=("sora2",))):
        handle = await stack.discord.invoke_autocomplete("sora", {}, focused="model")
        assert await choices(stack.discord, handle) == ["nano/sora2"]


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
