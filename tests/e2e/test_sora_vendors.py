"""``/sora`` end to end on every vendor that does text-to-video, through the same harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.providers.base import Kind
from tests.contract.cases import CASES, VendorCase
from tests.e2e.conftest import make_stack
from tests.fakes.discord import FakeDiscord

TEXT_CASES = [c for c in CASES if c.request.kind is Kind.TEXT and c.family == "sora"]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.name for c in TEXT_CASES])
async def test_sora_on_each_vendor(tmp_path: Path, fake_discord: FakeDiscord, case: VendorCase) -> None:
    async with case.open() as vendor:
        case.script_success(vendor)
        async for stack in make_stack(tmp_path, fake_discord, vendor, case.profile(vendor)):
            await stack.grant(1000)
            handle = await fake_discord.invoke_slash("sora", {"prompt": "Neon koi swimming through fog"})
            job = await stack.settle(handle)
            assert job.state == "succeeded", (job.error_code, job.error_message)
            assert job.video_url
            original = fake_discord.original_message(handle)
            # Uploaded: the result carries the video, so the card shows no vendor link (and a video the
            # vendor handed over as bytes has none a member could open anyway).
            assert job.video_url not in str(original.embeds)
            (result,) = fake_discord.answers(handle)
            assert result.attachments and result.attachments[0]["filename"] == f"video-{job.id}.mp4"
            assert await stack.balance() == 1000 - job.cost


async def test_provider_options_reach_the_vendor(tmp_path: Path, fake_discord: FakeDiscord) -> None:
    case = next(c for c in CASES if c.name == "openai_videos")
    async with case.open() as vendor:
        case.script_success(vendor)
        profile = vendor.profile(models=("sora-2", "sora-2-pro"))
        async for stack in make_stack(tmp_path, fake_discord, vendor, profile):
            await stack.grant(1000)
            options = {
                "prompt": "rain on a tin roof",
                "model": "sora-2-pro",
                "high_quality": True,
                "watermark": False,
                "private": True,
            }
            job = await stack.settle(await fake_discord.invoke_slash("sora", options))
            assert job.state == "succeeded"
            form = vendor.calls("create")[0].form
            assert form["size"] == "1024x1792" and form["watermark"] == "false" and form["private"] == "true"


async def test_an_option_the_provider_lacks_is_refused_before_any_charge(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    case = next(c for c in CASES if c.name == "nanophoto")
    async with case.open() as vendor:
        async for stack in make_stack(tmp_path, fake_discord, vendor, case.profile(vendor)):
            await stack.grant(100)
            handle = await fake_discord.invoke_slash("sora", {"prompt": "x", "watermark": True})
            await fake_discord.wait_for_ack(handle)
            reply = fake_discord.original_message(handle)
            assert (
                reply.ephemeral
                and "`watermark`" in reply.content
                and "cannot be set for Sora 2" in reply.content
            )
            assert vendor.requests == [] and await stack.balance() == 100


@pytest.mark.parametrize("vip", [False, True])
async def test_a_private_video_needs_a_vip_account_and_nothing_is_charged_without_one(
    tmp_path: Path, fake_discord: FakeDiscord, vip: bool
) -> None:
    case = next(c for c in CASES if c.name == "freesora")
    async with case.open() as vendor:
        vendor.is_vip = vip
        case.script_success(vendor)
        async for stack in make_stack(tmp_path, fake_discord, vendor, case.profile(vendor)):
            await stack.grant(1000)
            handle = await fake_discord.invoke_slash("sora", {"prompt": "x", "private": True})
            if vip:
                job = await stack.settle(handle)
                assert job.state == "succeeded"
                assert vendor.calls("create")[0].json["isPublic"] is False
                continue
            await fake_discord.wait_for_ack(handle)
            refusal = await fake_discord.wait_for_message(
                lambda m, asked=handle.id: m.interaction_id == asked and m.ephemeral
            )
            assert "VIP" in refusal.content
            assert vendor.calls("create") == [] and await stack.balance() == 1000
            row = await stack.db.fetchone("SELECT COUNT(*) AS n FROM jobs")
            assert row is not None and row["n"] == 0
