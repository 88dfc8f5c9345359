"""SIGTERM (``docker stop``) aimed at 48 creates in flight: the bot lets them come back, stores their
remote ids, exits 0 — and after the restart every job goes on; none is refunded that the vendor billed.

The bot runs as its own process (``python -m bot``); the vendor here starts and bills a create the
moment it arrives and answers it seconds later, so the signal lands while all 48 are in flight.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import TaskScript
from tests.ops.process_support import BilledOnArrival, invoke_many, query, settings, settled, until

JOBS = 48
CREATE_TAKES = 3.0  # seconds the vendor takes to answer a create
GRACE = 20.0


async def test_sigterm_lets_48_creates_in_flight_finish_and_every_job_goes_on(tmp_path: Path) -> None:
    async with (
        FakeDiscord() as discord_fake,
        BilledOnArrival(rate_limit=None, default_script=TaskScript(outcome="never")) as vendor,
    ):
        vendor.create_delay = CREATE_TAKES
        env = settings(tmp_path, vendor, SHUTDOWN_GRACE=str(GRACE))
        async with BotProcess(tmp_path, discord_fake, env) as bot:
            await bot.start()
            await invoke_many(discord_fake, [f"a paper boat, take {i}" for i in range(JOBS)])
            await until(lambda: len(vendor.tasks) == JOBS, timeout=20, what="48 creates at the vendor")
            in_flight = [r for r in vendor.calls("generate") if r.status is None]
            assert len(in_flight) == JOBS  # every create is billed and none answered yet

            began = time.monotonic()
            assert await bot.stop(signal.SIGTERM, timeout=GRACE + 15) == 0
            took = time.monotonic() - began
            assert took < GRACE, took  # the creates came back: the grace was not used up
            rows = query(bot.database, "SELECT state, remote_id FROM jobs")
            assert len(rows) == JOBS
            assert {r["state"] for r in rows} == {"running"}  # stored before the bot exited
            assert {r["remote_id"] for r in rows} == set(vendor.tasks)
            assert bot.logged("waiting up to", "48 create(s) in flight")

            for task_id in vendor.tasks:  # the vendor finishes them while the bot is down
                vendor.finish(task_id)
            await bot.start()
            await until(
                lambda: all(r["state"] == "succeeded" for r in query(bot.database, "SELECT state FROM jobs")),
                timeout=40,
                what="every job to succeed after the restart",
            )
            assert await bot.stop() == 0

        assert len(vendor.calls("generate")) == JOBS  # nothing submitted twice
        entries = settled(bot.database)
        assert len(entries) == JOBS and all(kinds == ["hold", "capture"] for kinds in entries.values())
        refunded_but_billed = [j for j, kinds in entries.items() if "release" in kinds]
        assert refunded_but_billed == []
        assert not bot.logged("cut off")
