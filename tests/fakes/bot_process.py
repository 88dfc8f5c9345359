"""``python -m bot`` as its own process, pointed at a ``FakeDiscord`` and fake vendors in the test.

Process-level tests need what an in-process test cannot give: a real SIGTERM or ``kill -9`` at the
moment that matters, a second process on the same database, a kernel that refuses the process's
writes. ``BotProcess`` starts the real entry point with the settings a test gives (an empty working
directory, so no ``.env`` leaks in), points discord.py at the fake through
``subprocess_hook/sitecustomize.py``, keeps every line it logs (read continuously, so a chatty bot
never blocks on a full pipe), and waits — always with a timeout — for it to be ready or to exit.

    async with FakeDiscord() as discord_fake, FakeNanophoto() as vendor:
        bot = BotProcess(tmp_path, discord_fake, {"PROVIDERS_FILE": ..., "NANO_KEY": ...})
        await bot.start()              # returns once the bot's gateway session is live
        ...
        assert await bot.stop() == 0   # SIGTERM, then its exit status
"""

# Test helpers take an explicit ``timeout=`` so every wait in a test is visibly bounded.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.backend import database_env
from tests.fakes.discord import FakeDiscord

ROOT = Path(__file__).resolve().parents[2]
HOOK = Path(__file__).resolve().parent / "discord" / "subprocess_hook"


def bot_env(root: Path, discord: FakeDiscord, extra: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: PATH and the like from ours, the bot's settings from the test."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT")}
    return {
        **keep,
        "PYTHONPATH": os.pathsep.join([str(HOOK), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
        "SORACORD_FAKE_DISCORD_PORT": str(discord.port),
        "DISCORD_TOKEN": discord.token,
        "DEV_GUILD_ID": str(discord.guild.id),
        # An SQLite file, or under PostgreSQL an empty database beside it: the bot migrates either.
        **database_env(root / "data" / "bot.db", migrated=False),
        "FETCH_ALLOW_PRIVATE": "true",  # the fake vendor's video links are on 127.0.0.1
        "LOG_LEVEL": "INFO",
        **extra,
    }


class BotProcess:
    def __init__(self, root: Path, discord: FakeDiscord, env: Mapping[str, str]) -> None:
        self.root = root
        self.discord = discord
        self.env = bot_env(root, discord, env)
        self.lines: list[str] = []  # everything it wrote to stderr, over every run
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def database(self) -> Path | str:
        """What the bot opens: its ``DATABASE_URL`` (PostgreSQL) when set, else its file."""
        return self.env.get("DATABASE_URL") or Path(self.env["DATABASE_PATH"])

    async def spawn(self, *args: str) -> asyncio.subprocess.Process:
        """Start ``python -m bot ARGS`` without waiting for anything."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=self.root,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read(self.proc))
        return self.proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    async def start(self, *, timeout: float = 30.0) -> None:
        """Start the bot and return once its gateway session is live (the engine started before it)."""
        before = set(self.discord.sessions)
        proc = await self.spawn()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any(s.alive for k, s in self.discord.sessions.items() if k not in before):
            if proc.returncode is not None:
                await self._drain()
                raise AssertionError(f"the bot exited {proc.returncode} before it was ready:\n{self.log()}")
            if loop.time() > deadline:
                raise AssertionError(f"the bot was not ready within {timeout}s:\n{self.log()}")
            await asyncio.sleep(0.05)

    async def wait(self, *, timeout: float = 30.0) -> int:
        """Its exit status, waiting (bounded) for it to exit."""
        assert self.proc is not None
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.kill()
            raise AssertionError(f"the bot did not exit within {timeout}s:\n{self.log()}") from None
        await self._drain()
        return code

    async def stop(self, sig: signal.Signals = signal.SIGTERM, *, timeout: float = 30.0) -> int:
        """Send ``sig`` (SIGTERM: ``docker stop``) and return the exit status."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        return await self.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()

    async def _drain(self) -> None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reader, 5)

    def log(self, last: int = 40) -> str:
        return "\n".join(self.lines[-last:])

    def logged(self, *words: str) -> list[str]:
        """The lines that contain every one of ``words``."""
        return [line for line in self.lines if all(w in line for w in words)]

    async def run(self, args: Sequence[str], *, timeout: float = 60.0) -> tuple[int, str, str]:
        """Run another ``python -m bot ARGS`` with the same settings (a second process, ``doctor``)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=self.root,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            raise
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def __aenter__(self) -> BotProcess:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.kill()
        if self.proc is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 10)
        await self._drain()
