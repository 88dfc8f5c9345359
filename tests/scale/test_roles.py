"""The roles of several processes, started as an operator would start them: what each refuses.

* two ``run`` processes naming one shard: the second exits 2 with one line, never logging in;
* ``run`` processes on separate shards run side by side, and only the one with shard 0 syncs;
* a ``worker`` on SQLite exits 2 (SQLite serves one process, which ``run`` is).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import SettingsError, load_settings
from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import FakeNanophoto
from tests.ops.process_support import settings


async def test_two_gateways_on_one_shard_the_second_is_refused(pg_url: str, tmp_path: Path) -> None:
    async with FakeDiscord() as fake, FakeNanophoto(rate_limit=None) as vendor:
        env = settings(tmp_path, vendor, DATABASE_URL=pg_url, SHARD_COUNT="2")
        first = BotProcess(tmp_path, fake, {**env, "SHARD_IDS": "0"})
        async with first:
            await first.start()
            code, _, err = await first.run(["run"], timeout=30)  # every shard: shard 0 is taken
            lines = [line for line in err.splitlines() if line.strip() and "PyNaCl" not in line]
            assert code == 2 and len(lines) == 1 and "shard" in lines[0], err
            second = BotProcess(tmp_path, fake, {**env, "SHARD_IDS": "1"})
            async with second:
                await second.start()  # shard 1 is free: it runs beside the first
                assert first.logged("synced") and not second.logged("synced")  # shard 0's process syncs
                assert await second.stop() == 0
            assert await first.stop() == 0


@pytest.mark.sqlite_only("a worker refused on SQLite (the PostgreSQL run gives it DATABASE_URL)")
async def test_a_worker_needs_postgresql(tmp_path: Path) -> None:
    async with FakeDiscord() as fake, FakeNanophoto(rate_limit=None) as vendor:
        bot = BotProcess(tmp_path, fake, settings(tmp_path, vendor))
        code, _, err = await bot.run(["worker"], timeout=30)
        assert code == 2 and "DATABASE_URL" in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SHARD_IDS": "0,1"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,2"}, "shard 2"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0"}, "SHARD_IDS"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "one"}, "SHARD_IDS"),
    ],
)
def test_shard_settings_that_cannot_work_are_refused_naming_what_is_wrong(
    env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings({"DISCORD_TOKEN": "x", **env}, env_file=None)


def test_shard_settings_give_the_shards_this_process_connects() -> None:
    assert load_settings({"DISCORD_TOKEN": "x"}, env_file=None).shards is None
    assert load_settings({"DISCORD_TOKEN": "x", "SHARD_COUNT": "3"}, env_file=None).shards == [0, 1, 2]
    both = {"DISCORD_TOKEN": "x", "SHARD_COUNT": "4", "SHARD_IDS": "3, 1"}
    assert load_settings(both, env_file=None).shards == [1, 3]
