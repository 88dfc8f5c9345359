"""What the process-level fault tests share: the vendor, the settings, reading the bot's database.

The bot runs as its own process (``tests.fakes.bot_process``); the fake Discord and the fake vendor
run here. The database is read from a connection of the test's own beside the bot's, as an
operator's shell would: ``sqlite3`` read-only on a file (WAL lets both in at once), ``asyncpg`` on
PostgreSQL (``tests.backend.query``), so the same test reads either backend.
"""

# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests import backend
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.payloads import JSON
from tests.fakes.nanophoto import DEFAULT_KEYS, FakeNanophoto

KEY = DEFAULT_KEYS["key-a"]
COST = 4  # a 10-second Sora video on nanophoto


class BilledOnArrival(FakeNanophoto):
    """A vendor that starts (and bills) a create the moment it arrives and answers ``create_delay``
    seconds later — a create the bot's SIGTERM can catch half-way, as a real vendor's would be."""

    create_delay = 0.0

    async def _answer(
        self, request: web.Request, route: str, logic: Callable[[Any], web.Response]
    ) -> web.Response:
        if route != "generate" or not self.create_delay:
            return await super()._answer(request, route, logic)
        rec, _ = await self._begin(request, route)
        resp = logic(rec)  # the task exists, and costs, from here on
        await asyncio.sleep(self.create_delay)
        rec.status = resp.status
        self._after(rec, resp, None)
        return resp


def providers_toml(vendor: FakeNanophoto, *, timeout: float = 600.0, poll: float = 0.3) -> str:
    return (
        f'[profiles.nano]\nkind = "nanophoto"\nbase_url = "{vendor.base_url}"\nkey_env = ["NANO_KEY"]\n'
        f"[profiles.nano.timing]\nexpected = {poll}\nfirst_poll = {poll}\npoll_interval = {poll}\n"
        f"timeout = {timeout}\nbackoff_max = 1.0\n"
    )


def settings(
    tmp_path: Path, vendor: FakeNanophoto, *, timeout: float = 600.0, poll: float = 0.3, **extra: str
) -> dict[str, str]:
    """The bot's settings for a process test (``extra`` overrides, e.g. ``SHUTDOWN_GRACE="20"``)."""
    toml = tmp_path / "providers.toml"
    toml.write_text(providers_toml(vendor, timeout=timeout, poll=poll), encoding="utf-8")
    return {
        "PROVIDERS_FILE": str(toml),
        "NANO_KEY": KEY,
        "WELCOME_CREDITS": "1000",
        "PROGRESS_EDIT_INTERVAL": "0.2",
        **extra,
    }


def query(target: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows from the bot's database, read beside the running bot (``$1`` parameters)."""
    return backend.query(target, sql, params)


async def until(check: Callable[[], bool | Awaitable[bool]], *, timeout: float, what: str) -> None:
    """Wait (bounded) until ``check()`` is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def invoke_many(discord: FakeDiscord, prompts: list[str]) -> None:
    """Members run ``/sora`` with each prompt at once; every one is acknowledged."""
    handles = await asyncio.gather(*(discord.invoke_slash("sora", {"prompt": p}) for p in prompts))
    await asyncio.gather(*(discord.wait_for_ack(h, timeout=10) for h in handles))


def settled(target: Path | str) -> dict[int, list[str]]:
    """Each job's ledger entries in order (``hold``, then ``capture`` or ``release``)."""
    out: dict[int, list[str]] = {}
    for row in query(target, "SELECT job_id, kind FROM ledger_entries WHERE job_id IS NOT NULL ORDER BY id"):
        out.setdefault(int(row["job_id"]), []).append(str(row["kind"]))
    return out


TIME_TYPES = ("REAL", "DOUBLE PRECISION")  # how each backend stores a time (epoch seconds)


def shift_clock(target: Path | str, seconds: float) -> int:
    """Move every time the bot stored ``seconds`` into the past, as if that long passed while it was
    down (the bot must be stopped). Returns how many values moved."""
    moved = 0
    for table, name, kind in backend.columns(target):
        if kind in TIME_TYPES and (name == "at" or name.endswith("_at")):
            moved += backend.execute(
                target, f"UPDATE {table} SET {name} = {name} - $1 WHERE {name} IS NOT NULL", (seconds,)
            )
    return moved


def result_posted(discord: FakeDiscord, job_id: int) -> bool:
    """The member's "your video is ready (job #N · …)" message is in the channel."""
    return any(f"(job #{job_id} · " in m.content for m in list(discord.messages.by_id.values()))


DETAILS = "soracord:job:details:"


def result_job(components: list[JSON]) -> int | None:
    """The job a message is the result of (the id on its Details button), if it is one."""
    for row in components:
        for c in row.get("components", []):
            if str(c.get("custom_id", "")).startswith(DETAILS):
                return int(str(c["custom_id"]).removeprefix(DETAILS))
    return None


def result_counts(fake: FakeDiscord) -> Counter[int]:
    bot = fake.bot_user.id
    found = (result_job(m.components) for m in fake.messages.by_id.values() if m.author_id == bot)
    return Counter(job for job in found if job is not None)
