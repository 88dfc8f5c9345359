"""Links the bot will not fetch, end to end: nothing connects to them, nobody pays, nobody sees them.

A counting origin (``tests.fakes.origin``, counted at TCP accept) stands for something inside the
bot's network on 127.0.0.2. The stacks here do not allow private addresses: either the real
setting is off (``fetch_allow_private=False``), or the fetcher treats 127.0.0.1 alone as a public
host, so a redirect can start somewhere allowed. The fake Discord and vendor stay reachable: the
bot talks to them over configured URLs, which ``bot.net`` does not police.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.i18n import EN, t
from bot.net import Fetcher
from storage import jobs
from tests.e2e.conftest import Stack, make_stack
from tests.fakes.discord import FakeDiscord, FakeInteraction, StoredMessage
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.fakes.origin import Origin, loopback_as_public, ok, redirect

PROMPT = "The cat slowly turns its head and blinks"
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 2000
REFUSED = t("net.link_refused", EN)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def image_embed(url: str) -> dict[str, Any]:
    """What Discord unfurls from a picture's link posted in a message."""
    return {"type": "image", "url": url, "thumbnail": {"url": url, "width": 64, "height": 48}}


async def ledger_kinds(stack: Stack) -> list[str]:
    rows = await stack.db.fetchall("SELECT kind FROM ledger_entries WHERE job_id IS NOT NULL ORDER BY id")
    return [r["kind"] for r in rows]


def everything_sent(fake: FakeDiscord) -> str:
    """Every request body the bot sent Discord, as one text (to look for a link in any of them)."""
    return json.dumps([q.json for q in fake.requests], default=str)


async def result_of(stack: Stack, job_id: int) -> StoredMessage:
    return await stack.discord.wait_for_message(lambda m: f"(job #{job_id})" in m.content)


async def animate_embed(stack: Stack, url: str) -> FakeInteraction:
    """A member posts a link to a picture and picks "Animate" on it; returns the modal's submit."""
    fake = stack.discord
    posted = await fake.post_member_message("look at this", embeds=[image_embed(url)])
    opened = await fake.invoke_message_command("Animate", posted)
    await fake.wait_for_ack(opened)
    assert opened.modal is not None
    return await fake.invoke_modal_submit(opened, {"animate:prompt": PROMPT})


async def assert_told_and_not_charged(stack: Stack, submit: FakeInteraction) -> None:
    reply = await stack.discord.wait_for_message(
        lambda m: m.interaction_id == submit.id and m.ephemeral and not m.deleted and bool(m.content)
    )
    assert reply.content == REFUSED
    assert "127.0.0" not in reply.content
    assert await jobs.count(stack.db) == 0
    assert await ledger_kinds(stack) == []
    assert stack.vendor.requests == []
    assert await stack.balance() == 10


async def test_animate_on_an_embed_pointing_inside_connects_nowhere_and_costs_nothing(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    async with Origin("127.0.0.2") as inside:
        url = inside.route("/cat.png", ok(png(), "image/png"))
        async for stack in make_stack(tmp_path, fake_discord, vendor, fetch_allow_private=False):
            await stack.grant(10)
            submit = await animate_embed(stack, url)
            await assert_told_and_not_charged(stack, submit)
    assert inside.connections == 0


async def test_animate_on_a_link_that_redirects_inside_stops_at_the_redirect(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    async with Origin("127.0.0.2") as inside, Origin("127.0.0.1") as outside:
        start = outside.route("/cat.png", redirect(inside.route("/cat.png", ok(png(), "image/png"))))
        fetcher = Fetcher(policy=loopback_as_public)
        async for stack in make_stack(tmp_path, fake_discord, vendor, fetcher=fetcher):
            await stack.grant(10)
            submit = await animate_embed(stack, start)
            await assert_told_and_not_charged(stack, submit)
    assert (outside.connections, inside.connections) == (1, 0)


async def test_an_embed_on_an_allowed_host_is_animated(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto
) -> None:
    """The control for the two above: the same path, a host the policy allows, a job that runs."""
    async with Origin("127.0.0.1") as outside:
        url = outside.route("/cat.png", ok(png(), "image/png"))
        async for stack in make_stack(
            tmp_path, fake_discord, vendor, fetcher=Fetcher(policy=loopback_as_public)
        ):
            await stack.grant(10)
            vendor.script_next(TaskScript(stages=("generating",)))
            job = await stack.settle(await animate_embed(stack, url))
            assert job.state == "succeeded", job.error_message
            assert vendor.calls("generate")[0].json["imageUrls"] == [url]
    assert outside.connections == 1


@pytest.mark.parametrize("how", ["direct", "redirect"])
async def test_a_vendor_video_link_inside_is_neither_fetched_nor_shown(
    tmp_path: Path, fake_discord: FakeDiscord, vendor: FakeNanophoto, how: str
) -> None:
    async with Origin("127.0.0.2") as inside, Origin("127.0.0.1") as outside:
        video = inside.route("/v.mp4", ok(MP4, "video/mp4"))
        link = video if how == "direct" else outside.route("/v.mp4", redirect(video))
        vendor.video_url = lambda job_id: link  # type: ignore[method-assign]  # the vendor's answer
        options: dict[str, Any] = (
            {"fetch_allow_private": False}
            if how == "direct"
            else {"fetcher": Fetcher(policy=loopback_as_public)}
        )
        async for stack in make_stack(tmp_path, fake_discord, vendor, **options):
            await stack.grant(10)
            vendor.script_next(TaskScript(stages=("generating",)))
            handle = await fake_discord.invoke_slash("sora", {"prompt": PROMPT})
            job = await stack.settle(handle)
            assert job.state == "succeeded", job.error_message
            assert job.video_url is None  # dropped, so no later view (/jobs show, Details) shows it
            result = await result_of(stack, job.id)
            assert result.attachments == [] and result.mentions == [stack.member_id]
            assert "cannot be delivered" in result.content
            sent = everything_sent(fake_discord)
            assert link not in sent and video not in sent and "127.0.0.2" not in sent
            # The video was made and billed by the vendor: the member's credits were spent, and
            # the message says so rather than pretending otherwise.
            assert await ledger_kinds(stack) == ["hold", "capture"]
            assert await stack.balance() == 10 - job.cost
            assert "credits were spent" in result.content
    assert inside.connections == 0
    assert outside.connections == (1 if how == "redirect" else 0)
