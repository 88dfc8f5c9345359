"""SIGTERM/SIGINT: the bot closes (engine stopped, gateway closed), the database closes, run returns."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import run, serve
from bot.config import load_settings
from storage import ledger
from tests.backend import database_env, open_database
from tests.fakes.discord import FakeDiscord
from tests.fakes.nanophoto import DEFAULT_KEYS, FakeNanophoto


class StubBot:
    """Just the surface ``serve`` uses: start blocks until close."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.started = asyncio.Event()
        self._closed = asyncio.Event()
        self.closes = 0

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        self.started.set()
        if self.fail is not None:
            raise self.fail
        await self._closed.wait()

    async def close(self) -> None:
        self.closes += 1
        self._closed.set()

    def is_closed(self) -> bool:
        return self._closed.is_set()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_closes_the_bot_and_restores_the_handler(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    bot = StubBot()
    task = asyncio.create_task(serve(bot, "t"))
    await asyncio.wait_for(bot.started.wait(), 5)
    assert signal.getsignal(sig) is not before  # ours is installed: the kill below cannot end pytest
    os.kill(os.getpid(), sig)
    await asyncio.wait_for(task, 5)
    assert bot.is_closed() and bot.closes == 1
    assert signal.getsignal(sig) == before


async def test_a_bot_error_propagates_and_the_bot_is_closed() -> None:
    bot = StubBot(fail=RuntimeError("login refused"))
    with pytest.raises(RuntimeError, match="login refused"):
        await asyncio.wait_for(serve(bot, "t", signals=()), 5)
    assert bot.is_closed()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_sigterm_stops_the_real_bot_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole ``run``: real discord.py against the fake Discord, metrics on, then SIGTERM."""
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    monkeypatch.setenv("NANO_KEY", DEFAULT_KEYS["key-a"])
    port = _free_port()
    async with FakeDiscord() as discord_fake, FakeNanophoto() as vendor:
        (tmp_path / "providers.toml").write_text(
            f'[profiles.nano]\nkind = "nanophoto"\nbase_url = "{vendor.base_url}"\nkey_env = ["NANO_KEY"]\n',
            encoding="utf-8",
        )
        settings = load_settings(
            env={
                "DISCORD_TOKEN": discord_fake.token,
                **database_env(tmp_path / "bot.db", migrated=False),  # the bot migrates it
                "PROVIDERS_FILE": str(tmp_path / "providers.toml"),
                "DEV_GUILD_ID": str(discord_fake.guild.id),
                "METRICS_PORT": str(port),
            }
        )
        task = asyncio.create_task(run(settings))
        async with asyncio.timeout(10):
            while not (discord_fake.live_sessions() and discord_fake.commands(discord_fake.guild.id)):
                assert not task.done(), task.exception()
                await asyncio.sleep(0.02)
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert resp.status == 200
            assert "soracord_jobs" in await resp.text()
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 10)  # returns normally: exit status 0 in main()
        for _ in range(250):  # the gateway connection is gone (the fake notices within moments)
            if not discord_fake.connections:
                break
            await asyncio.sleep(0.02)
        assert not discord_fake.connections
    # The metrics port is released and the database is closed and sound.
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{port}/metrics")
    db = await open_database(tmp_path / "bot.db", migrate=False)
    try:
        assert await ledger.invariant_violations(db) == []
    finally:
        await db.close()


async def test_sigterm_with_jobs_in_flight_then_start_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jobs running when SIGTERM arrives resume at the next start, finish, and settle exactly once."""
    from tests.fakes.nanophoto import TaskScript

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NANO_KEY", DEFAULT_KEYS["key-a"])
    async with (
        FakeDiscord() as discord_fake,
        FakeNanophoto(default_script=TaskScript(outcome="never")) as vendor,
    ):
        (tmp_path / "providers.toml").write_text(
            f'[profiles.nano]\nkind = "nanophoto"\nbase_url = "{vendor.base_url}"\nkey_env = ["NANO_KEY"]\n'
            "[profiles.nano.timing]\nexpected = 0.05\nfirst_poll = 0.01\npoll_interval = 0.02\n",
            encoding="utf-8",
        )
        settings = load_settings(
            env={
                "DISCORD_TOKEN": discord_fake.token,
                **database_env(tmp_path / "bot.db", migrated=False),  # the bot migrates it
                "PROVIDERS_FILE": str(tmp_path / "providers.toml"),
                "DEV_GUILD_ID": str(discord_fake.guild.id),
                "WELCOME_CREDITS": "30",
                "PROGRESS_EDIT_INTERVAL": "0.05",
            }
        )

        async def start_bot() -> asyncio.Task[None]:
            task = asyncio.create_task(run(settings))
            async with asyncio.timeout(10):
                while not (discord_fake.live_sessions() and discord_fake.commands(discord_fake.guild.id)):
                    assert not task.done(), task.exception()
                    await asyncio.sleep(0.02)
            return task

        first = await start_bot()
        for prompt in ("one", "two", "three"):
            await discord_fake.wait_for_ack(await discord_fake.invoke_slash("sora", {"prompt": prompt}))
        async with asyncio.timeout(10):
            while len(vendor.tasks) < 3:  # noqa: ASYNC110 - all three are with the vendor, none finished
                await asyncio.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(first, 10)

        # Two finish while the bot is down; one fails. By job id: the three creates went out at once,
        # so the vendor may have seen them in any order (on PostgreSQL it often does).
        db = await open_database(tmp_path / "bot.db", migrate=False)
        try:
            tasks = [r["remote_id"] for r in await db.fetchall("SELECT remote_id FROM jobs ORDER BY id")]
        finally:
            await db.close()
        for task_id in tasks[:2]:
            vendor.finish(task_id)
        vendor.finish(tasks[2], "failed")
        second = await start_bot()
        async with asyncio.timeout(10):
            while True:
                db = await open_database(tmp_path / "bot.db", migrate=False)
                try:
                    rows = await db.fetchall("SELECT state FROM jobs ORDER BY id")
                    if all(r["state"] in ("succeeded", "failed") for r in rows):
                        break
                finally:
                    await db.close()
                await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(second, 10)
    db = await open_database(tmp_path / "bot.db", migrate=False)
    try:
        assert [r["state"] for r in await db.fetchall("SELECT state FROM jobs ORDER BY id")] == [
            "succeeded",
            "succeeded",
            "failed",
        ]
        member = discord_fake.member.user.id
        assert await ledger.balance(db, discord_fake.guild.id, member) == 30 - 4 - 4
        assert await ledger.invariant_violations(db) == []
        assert len(vendor.calls("generate")) == 3  # nothing submitted twice
    finally:
        await db.close()
