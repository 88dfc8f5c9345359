"""Signals between processes: short named channels, a payload of text, every listener told.

Why: PostgreSQL serves several processes (gateways, workers) that each keep small things in memory —
server settings (``Memo``), the models a vendor stopped serving — and a row one process writes must
not be served stale by another. ``Database.notify``/``Database.listen`` carry the news; this module
is what is under them:

* ``Bus`` — this process's listeners, by channel (the in-process fan-out). On SQLite it is all there
  is: one process owns the file, so a notification goes straight to its listeners, synchronously,
  before ``notify`` returns.
* ``PgListener`` — on PostgreSQL, ONE dedicated asyncpg connection (never a pooled one: a pooled
  connection is reset when released, which drops its ``LISTEN``\\s) that ``LISTEN``\\s on every channel
  this process has a listener for and hands what it hears to the ``Bus``. When it drops it is
  reconnected with jittered exponential backoff; a notification sent while no ``LISTEN`` was active is
  lost for good, so every time a channel's ``LISTEN`` starts (the first time, after a new channel, or
  after a reconnect) that channel's listeners are called with ``EVERYTHING`` (``"*"``): "you may have
  missed something — drop what you cached". An idle connection is pinged now and then, so one that
  died without a word (a half-open TCP connection) is found and replaced too.
* ``Memo`` — the write-through memo of small rows (``Database.memo``, server settings), made safe
  across processes: a write notifies, every process's memo drops the entry; a ``"*"`` drops them all.

A notification can still be missed in ways no listener can see (a writer that dies between its commit
and its ``notify``; a connection that is dead but not yet found dead), so on PostgreSQL the memo never
trusts an entry for long: it serves one only while its channel's ``LISTEN`` is live, and only for
``MEMO_TTL`` seconds after it was stored. On SQLite nothing can be missed and the memo is plain
write-through, as fast as a dict.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

Callback = Callable[[str], None]
Key = tuple[str, int]

EVERYTHING = "*"  # the payload meaning "you may have missed something: drop everything cached"
CHANNEL_NAME = re.compile(r"[a-z_]{1,40}")
MAX_PAYLOAD_BYTES = 8000  # PostgreSQL refuses a payload of 8000 bytes or more (its default build)
MEMO_CHANNEL = "settings"  # the memo's channel; a payload is ``<kind>:<id>`` (``guild:123``) or ``*``
MEMO_TTL = 5.0  # seconds a memo entry is trusted on PostgreSQL, however quiet the channel is
PING_EVERY = 5.0  # an idle listener connection is checked this often (a silent drop is found)
PING_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0
BACKOFF_FIRST = 0.05  # seconds before the first reconnect attempt; doubled per failure...
BACKOFF_MAX = 5.0  # ...up to this, jittered (never several processes hammering the server in step)
APPLICATION_NAME = "soracord-listen"  # how the listener shows in pg_stat_activity


def check_channel(channel: str) -> None:
    """Channels are short fixed identifiers (``[a-z_]{1,40}``), never built from input: a name that
    is not one is a programming error, raised before anything is sent or registered."""
    if not isinstance(channel, str) or CHANNEL_NAME.fullmatch(channel) is None:
        raise ValueError(f"a channel is 1-40 of [a-z_], not {channel!r}")


def check_payload(payload: str) -> None:
    """A payload is text PostgreSQL can carry: under 8000 bytes (UTF-8), no NUL character. Checked on
    SQLite too, so a payload that would fail in production fails in the quick test run."""
    if len(payload.encode("utf-8")) >= MAX_PAYLOAD_BYTES:
        raise ValueError(f"a payload is under {MAX_PAYLOAD_BYTES} bytes")
    if "\x00" in payload:
        raise ValueError("a payload cannot hold a NUL character")


class Bus:
    """This process's listeners by channel; ``deliver`` calls each, in the order they registered.

    A callback that raises is logged and the others are still called: one broken cache must not stop
    the others from hearing that their rows changed.
    """

    def __init__(self) -> None:
        self._subs: dict[str, dict[int, Callback]] = {}
        self._ids = itertools.count(1)
        self.on_new_channel: Callable[[str], None] | None = None  # the PG listener's wake-up

    def add(self, channel: str, callback: Callback) -> Callable[[], None]:
        """Register ``callback`` on ``channel``; the function returned unregisters it (idempotent)."""
        subs = self._subs.get(channel)
        new = subs is None
        if subs is None:
            subs = self._subs[channel] = {}
        token = next(self._ids)
        subs[token] = callback
        if new and self.on_new_channel is not None:
            self.on_new_channel(channel)

        def unsubscribe() -> None:
            found = self._subs.get(channel)
            if found is not None:
                found.pop(token, None)
                # The channel itself stays known (and LISTENed on PostgreSQL): channels are a small
                # fixed set, and an UNLISTEN/LISTEN churn would only open windows for missed news.

        return unsubscribe

    def channels(self) -> set[str]:
        """Every channel that ever had a listener in this process."""
        return set(self._subs)

    def deliver(self, channel: str, payload: str) -> None:
        for callback in list(self._subs.get(channel, {}).values()):
            try:
                callback(payload)
            except Exception:
                log.exception("a listener on channel %s failed on payload %.80r", channel, payload)

    def deliver_everywhere(self, payload: str = EVERYTHING) -> None:
        for channel in sorted(self._subs):
            self.deliver(channel, payload)


class PgListener:
    """The one connection of this process that ``LISTEN``\\s, kept up for the database's lifetime.

    ``hears(channel)`` says whether a notification sent now on ``channel`` would reach this process:
    the connection is up and that channel's ``LISTEN`` has taken effect. Caches that must not serve a
    row another process may have changed consult it (``Memo.trusted``).
    """

    def __init__(self, url: str, bus: Bus) -> None:
        self._url = url
        self._bus = bus
        self._conn: asyncpg.Connection | None = None
        self._heard: set[str] = set()  # channels LISTENed on the live connection
        self._wake = asyncio.Event()  # a new channel, a lost connection, or close()
        self._round = asyncio.Event()  # set after each round of LISTENs (``ready`` waits on it)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.reconnects = 0  # connections made after the first (doctor, tests)
        self.ping_every = PING_EVERY
        bus.on_new_channel = self._new_channel

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pg-listener")

    def hears(self, channel: str) -> bool:
        conn = self._conn
        return conn is not None and channel in self._heard and not conn.is_closed()

    @property
    def server_pid(self) -> int | None:
        """The server process behind the listener connection (None while there is none)."""
        conn = self._conn
        return None if conn is None or conn.is_closed() else int(conn.get_server_pid())

    async def ready(self, within: float) -> bool:
        """Wait (up to ``within`` seconds) until every channel known hears notifications."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not self._closing:
            conn = self._conn
            if conn is not None and not conn.is_closed() and self._bus.channels() <= self._heard:
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._round.clear()  # a round ending between the look above and here costs one 50 ms turn
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._round.wait(), min(left, 0.05))
        return False

    async def close(self) -> None:
        """Stop listening for good: the loop ends, the connection closes (no reconnect follows)."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        conn, self._conn = self._conn, None  # left open by ``_run`` when closing: closed politely here
        self._heard.clear()
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), PING_TIMEOUT)
            except Exception:  # a server already gone, or a ping cut short: drop the socket
                conn.terminate()

    # ---- the connection's life --------------------------------------------------------------------

    def _new_channel(self, channel: str) -> None:
        self._wake.set()

    def _on_notify(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._bus.deliver(channel, payload)

    def _on_lost(self, conn: object) -> None:
        self._wake.set()

    async def _run(self) -> None:
        import asyncpg  # here, not at the top: an SQLite bot never loads the PostgreSQL driver

        delay = BACKOFF_FIRST
        first = True
        while not self._closing:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._url,
                    timeout=CONNECT_TIMEOUT,
                    server_settings={"application_name": APPLICATION_NAME},
                )
                conn.add_termination_listener(self._on_lost)
                if not first:
                    self.reconnects += 1
                    log.info("notifications: listener connection back (reconnect %d)", self.reconnects)
                first = False
                self._conn = conn
                await self._serve(conn)  # returns only when closing; raises on any trouble
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._closing:
                    break
                if self._heard:
                    delay = BACKOFF_FIRST  # it was serving: the gap starts now, reconnect at once
                log.warning(
                    "notifications: listener connection lost or refused (%s); again in ~%.2fs", exc, delay
                )
            finally:
                self._heard.clear()  # at once: from here nothing cached may trust this connection
                if not self._closing:
                    self._conn = None
                    if conn is not None and not conn.is_closed():
                        conn.terminate()
            if self._closing:
                break
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, BACKOFF_MAX)

    async def _serve(self, conn: asyncpg.Connection) -> None:
        """LISTEN on every channel, tell each one's listeners ``"*"``, then wait for news or trouble."""
        while not self._closing:
            self._wake.clear()  # before looking: a channel added after this is seen on the next turn
            if conn.is_closed():
                raise ConnectionError("the listener connection closed")
            new = sorted(self._bus.channels() - self._heard)
            for channel in new:
                await conn.add_listener(channel, self._on_notify)
            for channel in new:
                # LISTEN is in effect from here: anything sent before it may have been missed.
                self._heard.add(channel)
                self._bus.deliver(channel, EVERYTHING)
            self._round.set()
            try:
                await asyncio.wait_for(self._wake.wait(), self.ping_every)
            except TimeoutError:
                await conn.fetchval("SELECT 1", timeout=PING_TIMEOUT)  # raises on a dead connection


class Memo:
    """Small rows read on every command, kept in memory by the repository that writes them.

    * ``get(key)`` — the value, or ``default`` when absent or no longer trusted;
    * ``version()`` then ``fill(key, value, version)`` — store what a read found, unless the key was
      changed or dropped since ``version()`` was taken: a read in flight while another write landed
      (here or in another process) would otherwise put the old row back after the drop;
    * ``memo[key] = value`` — write-through, after the write committed (also voids reads in flight);
    * ``heard(payload)`` — the ``settings`` channel's listener: ``<kind>:<id>`` drops that entry,
      ``"*"`` (or anything it cannot read) drops them all.

    ``ttl`` and ``trusted`` are None on SQLite (one process: an entry is current until this process
    changes it). On PostgreSQL ``trusted`` says whether the channel's ``LISTEN`` is live and an entry
    older than ``ttl`` seconds is read again, so a missed notification costs at most ``ttl`` seconds.
    """

    def __init__(self, *, ttl: float | None = None, trusted: Callable[[], bool] | None = None) -> None:
        self._entries: dict[Key, tuple[Any, float]] = {}
        self._changed: dict[Key, int] = {}  # key -> the version that last changed or dropped it
        self._count = 0  # bumped by every change or drop
        self._all = 0  # the version of the last drop of everything
        self.ttl = ttl
        self.trusted = trusted
        self.clock: Callable[[], float] = time.monotonic

    @staticmethod
    def payload(key: Key) -> str:
        """What a write of ``key`` sends on ``MEMO_CHANNEL`` (``guild:123``)."""
        return f"{key[0]}:{key[1]}"

    def get(self, key: Key, default: Any = None) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return default
        if self.ttl is not None and self.clock() - entry[1] >= self.ttl:
            del self._entries[key]
            return default
        if self.trusted is not None and not self.trusted():
            return default
        return entry[0]

    def version(self) -> int:
        """Taken before a read whose result goes to ``fill``."""
        return self._count

    def fill(self, key: Key, value: Any, version: int) -> bool:
        """Store ``value`` read after ``version()`` gave ``version``; False (not stored) when the key
        changed or was dropped meanwhile, since the read may then predate the change."""
        if self._all > version or self._changed.get(key, 0) > version:
            return False
        self._entries[key] = (value, self.clock())
        return True

    def __setitem__(self, key: Key, value: Any) -> None:
        self._count += 1
        self._changed[key] = self._count
        self._entries[key] = (value, self.clock())

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def drop(self, key: Key) -> None:
        self._count += 1
        self._changed[key] = self._count
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._count += 1
        self._all = self._count
        self._changed.clear()
        self._entries.clear()

    def heard(self, payload: str) -> None:
        if payload != EVERYTHING:
            kind, _, ident = payload.partition(":")
            if kind and ident.lstrip("-").isdigit():
                self.drop((kind, int(ident)))
                return
            log.warning("memo: cannot read payload %.80r; dropping everything", payload)
        self.clear()
