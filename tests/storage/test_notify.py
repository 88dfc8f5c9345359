"""Signals between processes (``Database.notify``/``listen``, ``storage.notify``).

SQLite: one process, so a notification goes straight to this process's listeners, and the settings
memo stays plain write-through. PostgreSQL: two ``Database`` objects on one database stand for two
processes; what one sends the other hears within a bounded wait, a settings write in one is seen by
the other's next read, a listener connection killed by the server comes back and says ``"*"``, and
``close()`` leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from storage import guilds
from storage.db import Database
from storage.guilds import GuildSettings
from storage.notify import APPLICATION_NAME, EVERYTHING, MEMO_CHANNEL, Bus, Memo, PgListener
from storage.postgres import PostgresDatabase
from storage.tx import Tx

GUILD = 42
WAIT = 5.0  # the bound on any wait here: far above what a notification takes (a millisecond or so)


class Heard:
    """A listener that keeps every payload and lets a test wait for one."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, payload: str) -> None:
        self.payloads.append(payload)
        self._changed.set()

    async def wait_for(self, wanted: Callable[[list[str]], bool], within: float = WAIT) -> None:
        deadline = time.monotonic() + within
        while not wanted(self.payloads):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"not heard within {within}s; heard {self.payloads}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)


# ---- both backends ------------------------------------------------------------------------------


async def test_the_sender_hears_itself_and_unsubscribing_stops_it(db: Database) -> None:
    first, second, other = Heard(), Heard(), Heard()
    stop = db.listen("jobs_changed", first)
    db.listen("jobs_changed", second)
    db.listen("something_else", other)
    assert await db.listening()
    await db.notify("jobs_changed", "7")
    await first.wait_for(lambda p: "7" in p)
    await second.wait_for(lambda p: "7" in p)
    stop()
    stop()  # a second call is harmless
    await db.notify("jobs_changed", "8")
    await second.wait_for(lambda p: "8" in p)
    assert "8" not in first.payloads
    assert all(p in (EVERYTHING,) for p in other.payloads), "another channel hears nothing of it"


@pytest.mark.parametrize("channel", ["", "Jobs", "jobs-changed", "jobs1", "x" * 41, "a b"])
async def test_a_channel_is_a_short_fixed_identifier(db: Database, channel: str) -> None:
    with pytest.raises(ValueError, match="channel"):
        db.listen(channel, lambda _: None)
    with pytest.raises(ValueError, match="channel"):
        await db.notify(channel)


async def test_a_payload_is_under_8000_bytes(db: Database) -> None:
    heard = Heard()
    db.listen("big", heard)
    assert await db.listening()
    await db.notify("big", "é" * 3999)  # 7998 bytes: the largest that fits
    await heard.wait_for(lambda p: any(len(x) == 3999 for x in p))
    with pytest.raises(ValueError, match="8000"):
        await db.notify("big", "é" * 4000)
    with pytest.raises(ValueError, match="NUL"):
        await db.notify("big", "a\x00b")


# ---- SQLite: one process ------------------------------------------------------------------------


async def test_sqlite_delivers_before_notify_returns_and_survives_a_broken_listener(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.db")
    try:
        heard: list[str] = []

        def broken(payload: str) -> None:
            raise RuntimeError("a cache with a bug")

        db.listen("events", broken)
        db.listen("events", heard.append)
        await db.notify("events", "job:1")
        assert heard == ["job:1"], "synchronously, and the broken listener did not stop the next"
        await db.notify("events")
        assert heard == ["job:1", ""]
    finally:
        await db.close()


async def test_sqlite_memo_stays_write_through(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.db")
    try:
        wanted = GuildSettings(GUILD, price_multiplier=2.0)
        await guilds.save(db, wanted)
        assert await guilds.get(db, GUILD) is wanted, "served from the memo, not read back"

        async def forget(tx: Tx) -> None:
            await tx.execute("DELETE FROM guild_settings")

        await db.write(forget)
        assert await guilds.get(db, GUILD) is wanted, "one process: the memo is never read again"
        changed = await guilds.update(db, GUILD, confirm_above=9)
        assert await guilds.get(db, GUILD) is changed
    finally:
        await db.close()


async def test_a_read_in_flight_when_a_save_lands_does_not_put_the_old_row_back(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.db")
    try:
        old = GuildSettings(GUILD, price_multiplier=1.5)
        await guilds.save(db, old)
        db.memo.clear()
        read = db.fetchone

        async def slow_read(sql: str, params: object = ()) -> object:
            row = await read(sql, params)  # type: ignore[arg-type]
            await guilds.save(db, new)  # lands after the row was read, before the memo is filled
            return row

        new = GuildSettings(GUILD, price_multiplier=3.0)
        db.fetchone = slow_read  # type: ignore[assignment,method-assign]
        assert (await guilds.get(db, GUILD)).price_multiplier == 1.5  # what that read found...
        del db.fetchone
        assert await guilds.get(db, GUILD) is new  # ...was not memoized over the newer save
    finally:
        await db.close()


def test_memo_drops_by_payload_and_everything_on_star() -> None:
    memo = Memo()
    memo[("guild", 1)] = "one"
    memo[("guild", 2)] = "two"
    memo.heard("guild:1")
    assert memo.get(("guild", 1)) is None and memo.get(("guild", 2)) == "two"
    memo.heard("nonsense")  # unreadable: drop everything rather than trust anything
    assert len(memo) == 0
    memo[("guild", 3)] = "three"
    version = memo.version()
    memo.heard(EVERYTHING)
    assert not memo.fill(("guild", 3), "stale", version), "a read from before the drop is not kept"
    assert memo.fill(("guild", 3), "fresh", memo.version())
    assert memo.get(("guild", 3)) == "fresh"


def test_memo_on_postgres_trusts_an_entry_briefly_and_only_while_heard() -> None:
    now = [100.0]
    hears = [True]
    memo = Memo(ttl=5.0, trusted=lambda: hears[0])
    memo.clock = lambda: now[0]
    memo[("guild", 1)] = "one"
    assert memo.get(("guild", 1)) == "one"
    hears[0] = False  # the listener is reconnecting: a change now would not be heard
    assert memo.get(("guild", 1)) is None
    hears[0] = True
    now[0] += 4.9
    assert memo.get(("guild", 1)) == "one"
    now[0] += 0.1
    assert memo.get(("guild", 1)) is None, "expired: read again"


# ---- PostgreSQL: two processes --------------------------------------------------------------------


async def _admin(pg_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(pg_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def test_a_notification_reaches_the_other_process_quickly(
    pair: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, b = pair
    heard = Heard()
    b.listen("ping", heard)
    assert await b.listening()
    await heard.wait_for(lambda p: p == [EVERYTHING])  # its LISTEN began: "you may have missed some"
    latencies = []
    for i in range(50):
        started = time.perf_counter()
        await a.notify("ping", str(i))
        await heard.wait_for(lambda p, i=i: str(i) in p)  # type: ignore[misc]
        latencies.append(time.perf_counter() - started)
    median = statistics.median(latencies)
    print(f"notify -> other process: median {median * 1000:.2f} ms, max {max(latencies) * 1000:.2f} ms")
    assert heard.payloads == [EVERYTHING, *map(str, range(50))], "each once, in order"
    assert median < 0.05 and max(latencies) < 1.0


async def test_a_settings_write_in_one_process_is_seen_by_the_others_next_read(
    pair: tuple[PostgresDatabase, PostgresDatabase],
) -> None:
    a, b = pair
    told = Heard()
    b.listen(MEMO_CHANNEL, told)
    assert await b.listening()
    assert await guilds.get(b, GUILD) == GuildSettings(GUILD)
    assert ("guild", GUILD) in b.memo, "B memoized the default"
    saved = await guilds.update(a, GUILD, price_multiplier=2.5, fallbacks={"text": ("x",)})
    await told.wait_for(lambda p: f"guild:{GUILD}" in p)
    assert ("guild", GUILD) not in b.memo, "B dropped its copy"
    assert await guilds.get(b, GUILD) == saved
    # and back the other way, B writing and A reading
    a_told = Heard()
    a.listen(MEMO_CHANNEL, a_told)
    assert await a.listening()
    assert await guilds.get(a, GUILD) == saved
    again = await guilds.update(b, GUILD, confirm_above=0)
    await a_told.wait_for(lambda p: f"guild:{GUILD}" in p)
    assert await guilds.get(a, GUILD) == again


async def test_a_killed_listener_reconnects_and_says_star(
    pair: tuple[PostgresDatabase, PostgresDatabase], pg_url: str
) -> None:
    a, b = pair
    assert b.listener is not None
    told = Heard()
    b.listen(MEMO_CHANNEL, told)
    assert await b.listening()
    await guilds.get(b, GUILD)
    assert ("guild", GUILD) in b.memo
    told.payloads.clear()
    pid = b.listener.server_pid
    assert pid is not None
    rows = await _admin(
        pg_url,
        "SELECT pg_terminate_backend(pid) AS ok, application_name FROM pg_stat_activity WHERE pid = $1",
        pid,
    )
    assert rows and rows[0]["ok"] and rows[0]["application_name"] == APPLICATION_NAME
    await told.wait_for(lambda p: EVERYTHING in p)
    assert len(b.memo) == 0, "B dropped every cached row"
    assert b.listener.reconnects == 1 and b.listener.server_pid not in (None, pid)
    assert await b.listening()
    await guilds.update(a, GUILD, price_multiplier=4.0)  # heard again on the new connection
    await told.wait_for(lambda p: f"guild:{GUILD}" in p)
    assert (await guilds.get(b, GUILD)).price_multiplier == 4.0


async def test_no_memo_while_the_listener_is_away(pair: tuple[PostgresDatabase, PostgresDatabase]) -> None:
    _, b = pair
    assert b.listener is not None
    assert await b.listening()
    await guilds.get(b, GUILD)
    assert b.memo.get(("guild", GUILD)) is not None
    b.listener._heard.clear()  # as between a drop and its reconnect
    assert b.memo.get(("guild", GUILD)) is None, "a change now would not be heard: read it again"


async def test_close_stops_the_listener_cleanly(pg_url: str) -> None:
    a = await Database.open(pg_url)
    b = await Database.open(pg_url)
    assert isinstance(b, PostgresDatabase) and b.listener is not None
    try:
        heard = Heard()
        b.listen("ping", heard)
        assert await b.listening()
        pid = b.listener.server_pid
        task = b.listener._task
        await b.close()
        assert task is not None and task.done()
        assert b.listener.server_pid is None and not b.listener.hears("ping")
        await a.notify("ping", "after close")
        await asyncio.sleep(0.2)
        assert "after close" not in heard.payloads
        deadline = time.monotonic() + WAIT
        while await _admin(pg_url, "SELECT 1 FROM pg_stat_activity WHERE pid = $1", pid):
            assert time.monotonic() < deadline, "the listener's server process is still there"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert b.listener.reconnects == 0, "closing is not a drop: no reconnect followed"
    finally:
        await a.close()


async def test_a_listener_that_cannot_connect_keeps_trying_and_closes_cleanly(pg_url: str) -> None:
    bus = Bus()
    bus.add("ping", lambda _: None)
    listener = PgListener(pg_url.replace("/test_", "/no_such_database_"), bus)
    listener.start()
    assert not await listener.ready(0.5), "refused: it never hears"
    assert not listener.hears("ping") and listener.server_pid is None
    task = listener._task
    await listener.close()
    assert task is not None and task.done()
