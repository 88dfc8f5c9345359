"""A disk that refuses the bot's writes while it polls: no job ends, the log and ``doctor`` say what is
wrong, and every job goes on by itself once writes work again.

The bot runs as its own process. The fault is a real one from the kernel, no mock: its file-size
limit (``RLIMIT_FSIZE``, set from here with ``prlimit``) drops to 0, so every write it makes to any
file fails the way a full or failing disk makes it fail — SQLite answers "disk I/O error" to every
commit — while this process, the fake vendor and the bot's log pipe are untouched. Unprivileged,
so it runs wherever the suite does. Raising the limit again is "space returns".
"""

from __future__ import annotations

import asyncio
import resource
import sys
from pathlib import Path

import pytest

from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import FakeNanophoto, TaskScript
from tests.ops.process_support import query, result_posted, settings, settled, until

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prlimit is Linux's"),
    # On PostgreSQL the server writes the data, not the bot: its file-size limit refuses nothing.
    pytest.mark.sqlite_only("the bot's own writes to its SQLite file fail (RLIMIT_FSIZE)"),
]

JOBS = 6


def doctor_row(out: str, check: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(check))


async def test_writes_failing_while_polling_end_no_job_and_all_recover(tmp_path: Path) -> None:
    async with (
        FakeDiscord() as discord_fake,
        FakeNanophoto(rate_limit=None, default_script=TaskScript(outcome="never")) as vendor,
    ):
        env = settings(tmp_path, vendor)
        async with BotProcess(tmp_path, discord_fake, env) as bot:
            await bot.start()
            handles = [
                await discord_fake.invoke_slash("sora", {"prompt": f"a glass city at dawn, {i}"})
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
            by_task = {
                r["remote_id"]: int(r["id"]) for r in query(bot.database, "SELECT id, remote_id FROM jobs")
            }

            # The disk fills up: every write the bot makes to a file fails from now on.
            _, hard = resource.prlimit(bot.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(bot.pid, resource.RLIMIT_FSIZE, (0, hard))
            try:
                early = list(vendor.tasks)[: JOBS // 2]
                for task_id in early:  # half the videos finish while the bot cannot write
                    vendor.finish(task_id)
                await until(
                    lambda: bool(bot.logged("database error while", "disk I/O error")),
                    timeout=15,
                    what="the bot to log the database error",
                )
                polls = len(vendor.calls("status"))
                await asyncio.sleep(3.0)  # a while with the disk full: retries back off, nothing ends
                assert len(vendor.calls("status")) - polls <= JOBS  # no poll storm: the drivers wait
                assert [r["state"] for r in query(bot.database, "SELECT state FROM jobs")] == [
                    "running"
                ] * JOBS
                assert all(kinds == ["hold"] for kinds in settled(bot.database).values())
                assert bot.proc is not None and bot.proc.returncode is None  # nothing died

                _, out, _ = await bot.run(["doctor", "--quick"])
                row = doctor_row(out, "bot process")
                assert "FAIL" in row and f"pid {bot.pid}" in row, out
                assert "database writes fail since" in row and "disk I/O error" in row, row
            finally:
                resource.prlimit(bot.pid, resource.RLIMIT_FSIZE, (hard, hard))  # space returns

            await until(
                lambda: all(result_posted(discord_fake, by_task[t]) for t in early),
                timeout=30,
                what="the videos finished during the fault to be delivered",
            )
            assert bot.logged("database writes work again")
            for task_id in list(vendor.tasks)[JOBS // 2 :]:
                vendor.finish(task_id)
            await until(
                lambda: all(result_posted(discord_fake, j) for j in by_task.values()),
                timeout=30,
                what="every video to be delivered",
            )
            _, out, _ = await bot.run(["doctor", "--quick"])
            assert "database writes work" in doctor_row(out, "bot process"), out
            assert await bot.stop() == 0

        assert [r["state"] for r in query(bot.database, "SELECT state FROM jobs")] == ["succeeded"] * JOBS
        assert all(kinds == ["hold", "capture"] for kinds in settled(bot.database).values())
