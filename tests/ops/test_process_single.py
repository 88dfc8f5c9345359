"""One process per SQLite database: a second ``python -m bot`` on the running bot's file exits 2 with
one line naming the first; ``generate`` runs beside the bot on a database of its own.

Before, a second process started silently and ran every command twice (one grant of 50 wrote +100)
and polled every job twice.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot import instance
from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import FakeNanophoto
from tests.ops.process_support import query, settings

# On PostgreSQL the second bot is refused by the server's gateway locks instead, tested beside them
# (tests/storage); generate's own database is always a file.
pytestmark = pytest.mark.sqlite_only("the SQLite file's lock file (bot.instance) names the running bot")


async def test_a_second_bot_on_the_same_database_is_refused_naming_the_first(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeNanophoto(rate_limit=None) as vendor:
        env = settings(tmp_path, vendor)
        async with BotProcess(tmp_path, discord_fake, env) as bot:
            await bot.start()
            sessions = len(discord_fake.live_sessions())

            began = time.monotonic()
            code, out, err = await bot.run(["run"], timeout=30)
            assert code == 2, err
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1, err  # one line, no traceback
            assert f"pid {bot.pid}" in lines[0] and str(bot.database) in lines[0], lines[0]
            assert time.monotonic() - began < 15
            assert len(discord_fake.live_sessions()) == sessions  # it never logged in
            assert bot.proc is not None and bot.proc.returncode is None  # the first goes on

            # generate runs on its own database beside the bot's (and never touches the bot's) ...
            code, out, err = await bot.run(["generate", "--prompt", "a paper boat"], timeout=60)
            assert code == 0, err
            assert out.strip().splitlines()[-1].startswith(vendor.base_url)
            own = bot.database.parent / "generate" / bot.database.name
            assert query(own, "SELECT COUNT(*) AS n FROM jobs")[0]["n"] == 1
            assert query(bot.database, "SELECT COUNT(*) AS n FROM jobs")[0]["n"] == 0
            # ... and is refused like a second bot when told to use the bot's.
            code, out, err = await bot.run(["generate", "--prompt", "x", "--database", str(bot.database)])
            assert code == 2 and f"pid {bot.pid}" in err, err

            assert await bot.stop() == 0
        assert not instance.is_held(bot.database)  # released at exit: the next start takes it
        holder = instance.read(bot.database)
        assert holder is not None and holder.pid == bot.pid and "stopped_at" in holder.info
