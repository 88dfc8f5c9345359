"""``/jobs show`` of a running job posts a card that keeps following the job, in the asker's
language, through to the result's buttons; a finished job's card is posted once and left alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.engine.engine import Engine
from bot.net import Fetcher
from bot.providers.http import RetryPolicy, VendorHttp
from bot.providers.registry import build_provider
from storage.jobs import JobRow
from tests import backend
from tests.backend import open_database
from tests.e2e.conftest import Stack
from tests.fakes.discord import FakeInteraction
from tests.fakes.discord.records import StoredMessage
from tests.fakes.nanophoto import TaskScript


async def running(stack: Stack, handle: FakeInteraction) -> JobRow:
    """The command's job, once its own card says it renders."""
    await stack.discord.wait_for_message(
        lambda m: m.interaction_id == handle.id and "Rendering" in str(m.embeds)
    )
    return await stack.job_for(handle)


def statuses(message: StoredMessage) -> list[str]:
    bodies: list[dict[str, Any]] = [message.data, *(e.body for e in message.edits)]
    return [b["embeds"][0]["fields"][0]["value"] for b in bodies if isinstance(b, dict) and b.get("embeds")]


async def until(check: Callable[[], bool], *, within: float) -> None:
    """Look at ``check`` every 10 ms until it holds; fail when it does not within ``within`` s."""
    for _ in range(int(within / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"not within {within}s")


def labels(message: StoredMessage) -> list[str]:
    return [c.get("label", "") for row in message.components for c in row["components"]]


async def test_jobs_show_of_a_running_job_keeps_updating_until_the_result(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    stages = ("queuing", "generating", "finalizing")
    stack.vendor.script_next(TaskScript(stages=stages, advance="time", stage_seconds=0.6))
    handle = await fake.invoke_slash("sora", {"prompt": "A paper boat in the rain"})
    job = await running(stack, handle)

    show = await fake.invoke_slash("jobs show", {"id": job.id}, locale="zh-CN")
    await fake.wait_for_ack(show)
    done = await stack.settle(handle)
    async with asyncio.timeout(5):
        await stack.bot.followers.wait_idle()
    assert done.state == "succeeded"

    card = fake.original_message(show)
    seen = statuses(card)
    assert len(card.edits) >= 2, seen  # it moved after it was posted, not just once
    assert seen[-1] == "✅ 你的视频已生成", seen  # in the asker's language, to the end
    assert any("生成中——收尾中" in s or "生成中——生成中" in s for s in seen[1:]), seen
    assert all(edit.via == "webhook" for edit in card.edits)  # through the /jobs show token
    assert "详情" in labels(card) and "取消" not in labels(card)  # the result's buttons now
    assert stack.bot.followers.following(job.id) == 0  # dropped once the job ended


async def test_jobs_show_of_a_finished_job_is_posted_once(stack: Stack) -> None:
    fake = stack.discord
    await stack.grant(10)
    job = await stack.settle(await fake.invoke_slash("sora", {"prompt": "A kite over dunes"}))
    show = await fake.invoke_slash("jobs show", {"id": job.id})
    await fake.wait_for_ack(show)
    assert stack.bot.followers.following(job.id) == 0
    assert fake.original_message(show).edits == []


@pytest.mark.skipif(not backend.POSTGRES, reason="several processes share a PostgreSQL database only")
async def test_jobs_show_follows_a_job_another_process_drives(stack: Stack, tmp_path: Path) -> None:
    """The gateway hands a new job to a worker (it drives the fewest jobs); ``/jobs show`` through
    the gateway still follows it to the end, read back from the database the worker writes."""
    fake = stack.discord
    await stack.grant(20)
    profile = stack.vendor.profile()
    db = await open_database(tmp_path / "bot.db")  # the worker's own pool on the same database
    async with (
        Fetcher(allow_private=True) as fetcher,
        VendorHttp(retry=RetryPolicy(base_delay=0.001, max_delay=0.01), fetcher=fetcher) as http,
    ):
        worker = Engine(
            db, {profile.name: profile}, {profile.name: build_provider(profile, http)}, role="worker"
        )
        try:
            await worker.start()
            stack.vendor.script_next(
                TaskScript(
                    stages=("generating",), advance="time", stage_seconds=3600
                ),  # keeps the gateway busy
                TaskScript(stages=("queuing", "generating", "finalizing"), advance="time", stage_seconds=0.6),
            )
            first = await running(stack, await fake.invoke_slash("sora", {"prompt": "A long night"}))
            assert stack.bot.engine.runner.driving(first.id)  # a tie: kept by the gateway
            handle = await fake.invoke_slash("sora", {"prompt": "A paper boat in the rain"})
            job = await stack.job_for(handle)
            await until(lambda: worker.runner.driving(job.id), within=5)
            assert job.lease_owner == worker.owner and not stack.bot.engine.runner.driving(job.id)

            show = await fake.invoke_slash("jobs show", {"id": job.id}, locale="zh-CN")
            await fake.wait_for_ack(show)
            async with asyncio.timeout(10):
                await worker.wait_idle()
            await until(lambda: not stack.bot.followers.following(job.id), within=5)
            async with asyncio.timeout(5):
                await stack.bot.followers.wait_idle()
        finally:
            await worker.stop()
            await db.close()
    seen = statuses(fake.original_message(show))
    assert len(seen) >= 3, seen  # posted, then moved with the worker's progress
    assert any("生成中" in s for s in seen[1:-1]), seen
    assert seen[-1] == "✅ 你的视频已生成", seen
    assert "详情" in labels(fake.original_message(show))
