"""A 30-minute outage with a 20-minute job timeout: every job is polled again and every finished
video delivered — a job's deadline counts only the time the bot was up.

The bot runs as its own process. The outage is simulated the way it looks from the inside: the bot
is stopped, every time it stored (deadlines, heartbeats, interaction tokens) is moved 30 minutes
back, the fake Discord's interaction tokens are aged past their 15 minutes, and the vendor finishes
the videos meanwhile. Before this was fixed the restarted bot marked each job timed out without a
single status call.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.ops.process_support import query, result_posted, settings, settled, shift_clock, until

JOBS = 6
TIMEOUT = 20 * 60.0
OUTAGE = 30 * 60.0


async def test_a_30_minute_outage_with_a_20_minute_timeout_delivers_every_finished_video(
    tmp_path: Path,
) -> None:
    async with (
        FakeDiscord() as discord_fake,
        FakeNanophoto(rate_limit=None, default_script=TaskScript(outcome="never")) as vendor,
    ):
        env = settings(tmp_path, vendor, timeout=TIMEOUT)
        async with BotProcess(tmp_path, discord_fake, env) as bot:
            await bot.start()
            handles = [
                await discord_fake.invoke_slash("sora", {"prompt": f"lanterns over a lake, {i}"})
                for i in range(JOBS)
            ]
            await asyncio.gather(*(discord_fake.wait_for_ack(h, timeout=10) for h in handles))
            await until(
                lambda: (
                    len(query(bot.database, "SELECT id FROM jobs WHERE state = 'running' AND polls > 0"))
                    == JOBS
                ),
                timeout=20,
                what="every job running and polled",
            )
            assert await bot.stop() == 0

            # The outage: 30 minutes pass. The vendor finishes all but one video meanwhile.
            *finished, still_rendering = list(vendor.tasks)
            for task_id in finished:
                vendor.finish(task_id)
            assert shift_clock(bot.database, OUTAGE) > 0
            for handle in handles:
                discord_fake.age_interaction(handle, OUTAGE)
            deadlines = [r["deadline_at"] for r in query(bot.database, "SELECT deadline_at FROM jobs")]
            assert all(d < time.time() for d in deadlines)  # by the wall clock, every job is overdue

            polls_before = len(vendor.calls("status"))
            await bot.start()
            ids = [int(r["id"]) for r in query(bot.database, "SELECT id FROM jobs ORDER BY id")]
            by_task = {
                r["remote_id"]: int(r["id"]) for r in query(bot.database, "SELECT id, remote_id FROM jobs")
            }
            await until(
                lambda: all(result_posted(discord_fake, by_task[t]) for t in finished),
                timeout=30,
                what="the five finished videos to be delivered",
            )
            left = query(
                bot.database, "SELECT state, polls FROM jobs WHERE remote_id = $1", (still_rendering,)
            )
            assert (
                left[0]["state"] == "running"
            )  # polled, not timed out: it had time left when the bot stopped
            assert len(vendor.calls("status")) - polls_before >= JOBS  # every job was asked again

            vendor.finish(still_rendering)
            await until(
                lambda: result_posted(discord_fake, by_task[still_rendering]),
                timeout=30,
                what="the last video to be delivered",
            )
            assert await bot.stop() == 0

        assert [r["state"] for r in query(bot.database, "SELECT state FROM jobs ORDER BY id")] == [
            "succeeded"
        ] * JOBS
        assert all(settled(bot.database)[i] == ["hold", "capture"] for i in ids)
        assert bot.logged("the bot was down 180", f"{JOBS} running job(s) get that time back")  # 1800-1802 s
