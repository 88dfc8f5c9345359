"""``kill -9`` during delivery, four times: every result is in the channel once — none twice, none lost.

The bot runs as its own process (``python -m bot``); the fake Discord and the fake vendor run here.
Each round finishes two jobs at the vendor and kills the bot on the first result it posts: on even
rounds right after Discord stored the message (the answer never reaches the bot: posted, not
marked), on odd rounds just before (claimed, never posted). Counted at the fake Discord.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import ledger
from storage.db import Database
from tests.fakes.bot_process import BotProcess
from tests.fakes.discord import FakeDiscord, StoredMessage
from tests.fakes.discord import records as r
from tests.fakes.discord.payloads import JSON, Channel
from tests.fakes.nanophoto import DEFAULT_KEYS, FakeNanophoto, TaskScript
from tests.ops.process_support import result_counts, result_job

JOBS = 8
KILLS = 4
WELCOME = 100
COST = 4  # sora2, 10 s, on the fake nanophoto


@pytest.mark.timeout(240)
async def test_kill_9_during_delivery_four_times_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    async with (
        FakeDiscord() as fake,
        FakeNanophoto(default_script=TaskScript(outcome="never")) as vendor,
    ):
        (tmp_path / "providers.toml").write_text(
            f'[profiles.nano]\nkind = "nanophoto"\nbase_url = "{vendor.base_url}"\n'
            'key_env = ["NANO_KEY"]\nrequests_per_hour = 100000\n'
            "[profiles.nano.timing]\nexpected = 0.05\nfirst_poll = 0.01\npoll_interval = 0.05\n",
            encoding="utf-8",
        )
        bot = BotProcess(
            tmp_path,
            fake,
            {
                "NANO_KEY": DEFAULT_KEYS["key-a"],
                "PROVIDERS_FILE": str(tmp_path / "providers.toml"),
                "WELCOME_CREDITS": str(WELCOME),
                "PROGRESS_EDIT_INTERVAL": "0.05",
            },
        )
        try:
            await run_the_rounds(fake, vendor, bot)
        except BaseException:
            print(bot.log(200))
            raise
        finally:
            bot.kill()
            await bot.wait(timeout=10)

    counts = result_counts(fake)
    db = await Database.open(bot.database, migrate=False)
    try:
        rows = await db.fetchall("SELECT id, state, delivered_at FROM jobs ORDER BY id")
        sent = await db.fetchall("SELECT job_id, state, attempts, message_id FROM deliveries ORDER BY job_id")
        member = fake.member.user.id
        balance = await ledger.balance(db, fake.guild.id, member)
        violations = await ledger.invariant_violations(db)
    finally:
        await db.close()
    ids = [int(row["id"]) for row in rows]
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    missing = [job for job in ids if counts[job] == 0]
    print(
        f"{JOBS} jobs, {KILLS} kill -9 during delivery, {KILLS + 1} starts: "
        f"{sum(counts.values())} result messages, {duplicates} duplicate, {len(missing)} missing; "
        f"{len(fake.nonces.repeats)} repeats answered by the nonce; "
        f"attempts per result {[int(s['attempts']) for s in sent]}"
    )
    assert len(ids) == JOBS and all(row["state"] == "succeeded" for row in rows)
    assert duplicates == 0 and missing == []
    assert all(row["delivered_at"] is not None for row in rows)
    assert [s["state"] for s in sent] == ["sent"] * JOBS
    by_job = {job: m for m in fake.messages.by_id.values() if (job := result_job(m.components))}
    assert all(int(s["message_id"]) == by_job[int(s["job_id"])].id for s in sent)
    assert len(fake.nonces.repeats) >= KILLS // 2  # each kill after the post was answered by the nonce
    assert balance == WELCOME - JOBS * COST and violations == []
    assert len(vendor.calls("generate")) == JOBS  # nothing submitted twice either
    fake.assert_no_violations()


class Killer:
    """Kills the bot on the first result it posts: just before Discord stores it, or just after."""

    def __init__(self, bot: BotProcess, *, after: bool) -> None:
        self.bot, self.after = bot, after
        self.killed = asyncio.Event()

    async def before_post(self, channel: Channel, body: JSON) -> None:
        if not self.after and result_job(body.get("components") or []):
            if not self.killed.is_set():
                await self._kill()
            raise r.fail(r.SERVER_ERROR)  # it never landed (nor any other result sent meanwhile)

    async def after_post(self, message: StoredMessage) -> None:
        if self.after and result_job(message.components) and not self.killed.is_set():
            await self._kill()  # stored; the answer goes to a dead process

    async def _kill(self) -> None:
        self.killed.set()
        self.bot.kill()
        await self.bot.wait(timeout=10)


async def run_the_rounds(fake: FakeDiscord, vendor: FakeNanophoto, bot: BotProcess) -> None:
    await bot.start()
    for n in range(JOBS):
        await fake.wait_for_ack(await fake.invoke_slash("sora", {"prompt": f"take {n}"}), timeout=10)
    async with asyncio.timeout(30):
        while len(vendor.tasks) < JOBS:  # noqa: ASYNC110 - every job is with the vendor
            await asyncio.sleep(0.05)
    tasks = list(vendor.tasks)
    per_round = JOBS // KILLS
    for k in range(KILLS):
        killer = Killer(bot, after=k % 2 == 0)
        fake.before_channel_message, fake.after_channel_message = killer.before_post, killer.after_post
        for task_id in tasks[k * per_round : (k + 1) * per_round]:
            vendor.finish(task_id)
        await asyncio.wait_for(killer.killed.wait(), 30)
        await bot.wait(timeout=10)
        fake.before_channel_message = fake.after_channel_message = None
        await bot.start()
    async with asyncio.timeout(60):
        while len(result_counts(fake)) < JOBS:  # noqa: ASYNC110 - every result has arrived
            await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # a late duplicate would show up now
    assert await bot.stop(timeout=30) == 0
