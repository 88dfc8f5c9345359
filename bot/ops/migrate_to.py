"""``python -m bot migrate --to postgresql://…``: copy the SQLite database into an empty PostgreSQL one.

Why a copy of our own rather than a dump or a generic loader: the target's schema must be exactly the
one the bot's PostgreSQL migrations make (identity columns, checks, partial indexes), so the target
is opened with ``Database.open`` — migrated to the code's schema version — and only the *rows* move;
SQLite's loose column affinity has to meet PostgreSQL's strict types value by value; and the credits
are money, so the copy is not done until the ledger is proven whole on the target.

What keeps it safe:

* **Nothing writes the source meanwhile.** The instance lock ``run`` takes (``bot.instance``) is held
  for the whole copy: a running bot makes this refuse (exit 2), and a bot started meanwhile refuses.
  The rows are read in one read transaction, one snapshot. No bot may run on the target either: its
  sole-process lock is taken the way ``run`` takes it.
* **All or nothing.** Every table is copied in ONE target transaction, parents before children (the
  foreign keys, read from the target's catalog), in pages of binary ``COPY``; the target must be
  empty when it starts (``LOCK``ed, so nobody fills it meanwhile). Any failure — a value that does
  not fit its column, a lost connection, a check that does not hold — rolls it all back.
* **Checked before COMMIT,** on the copy's own connection: every table's row count equals the
  source's; every balance equals the source's; every member's entries sum to what they sum to on
  the source; the ledger's own invariants (``storage.ledger.invariant_violations``' SQL) report
  exactly what they report on the source — nothing, on a sound ledger.
* **Sequences continue.** Identity columns are moved past the copied ids (``setval``), last, since a
  sequence change is not undone by a rollback; so the next job or entry written on PostgreSQL gets a
  fresh id.
* **No secret is shown.** A URL's password is masked (``shown_url``) in every line this prints, the
  error texts included, and kept out of the lock file, which records the command line.

This module is the copy itself and the command; its parts live beside it: ``copy_plan`` (what is
copied, in what order), ``pg_values`` (SQLite values made fit for PostgreSQL's types), ``copy_check``
(the proof before COMMIT), ``urls_shown`` (the masked URL) and ``migrate_error`` (why it stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from bot.instance import ACQUIRE_WAIT, AlreadyRunning, InstanceLock
from bot.logs import add_secrets
from bot.ops.copy_check import check
from bot.ops.copy_plan import Table, hold_forward_refs, plan, quote, set_forward_refs
from bot.ops.migrate_error import FAILED, REFUSED, MigrateError
from bot.ops.pg_values import converted
from bot.ops.urls_shown import argv_masked, passwords, scrub, shown_url
from storage.db import Database, is_url, latest_version

if TYPE_CHECKING:
    from bot.config import Settings

PAGE = 5000  # rows per COPY: big enough to stream, small enough that a page is a few MB at most
LOCK_TIMEOUT = "10s"  # waiting longer for the target's tables means somebody else is using them

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the table)


@dataclass(frozen=True)
class Summary:
    """What was copied and what the check proved, for the one short report ``migrate --to`` prints."""

    source: Path
    target: str  # masked
    tables: dict[str, int]  # rows copied, by table, in copy order
    seconds: float
    balances: int
    entries: int
    members: int  # members with entries (their sums were compared)
    source_problems: list[str]  # ledger problems the source already had, copied as they were

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def render(self) -> str:
        lines = [
            f"copied {self.source} to {self.target}: {len(self.tables)} tables, {self.rows:,} rows "
            f"in {self.seconds:.1f} s",
            f"ledger check passed: {self.balances:,} balances equal the source's, {self.entries:,} entries "
            f"of {self.members:,} members sum to the same on both; every table's row count equal",
        ]
        if self.source_problems:
            lines.append(
                f"warning: the source's ledger already had {len(self.source_problems)} problem(s), copied as "
                f"they were (first: {self.source_problems[0]}); `python -m bot doctor` lists them"
            )
        lines.append(
            "next: set DATABASE_URL to that URL (keep DATABASE_PATH: saved videos stay beside it) and start the bot"
        )
        return "\n".join(lines)


async def _copy_table(
    conn: Any, src: sqlite3.Connection, table: Table, page: int, progress: Progress | None
) -> tuple[int, list[tuple[Any, ...]]]:
    """Copy one table in pages; returns (rows, the self-references to set once every row is in).

    The next page is read from SQLite (on a thread; ``sqlite3`` lets go of the GIL while it steps)
    while PostgreSQL takes the current one, so neither side waits for the other.
    """
    cur = src.execute(f"SELECT {', '.join(map(quote, table.columns))} FROM {table.quoted} ORDER BY rowid")
    copied = 0
    later: list[tuple[Any, ...]] = []  # (value, key...) for rows that refer to a row copied after them
    seen: list[set[Any]] = [set() for _ in table.self_refs]
    reading: asyncio.Future[list[Any]] = asyncio.ensure_future(asyncio.to_thread(cur.fetchmany, page))
    try:
        while batch := await reading:
            reading = asyncio.ensure_future(asyncio.to_thread(cur.fetchmany, page))
            rows = converted(table, batch, copied)
            if table.self_refs:
                rows = hold_forward_refs(table, rows, seen, later)
            await conn.copy_records_to_table(table.name, records=rows, columns=table.columns)
            copied += len(rows)
            if progress is not None:
                progress(table.name, copied, table.rows)
    finally:
        with contextlib.suppress(
            Exception, asyncio.CancelledError
        ):  # a read in flight ends before its cursor closes
            await asyncio.shield(reading)
        cur.close()
    return copied, later


async def _reset_sequences(conn: Any) -> None:
    """Move every identity (or serial) column's sequence past the largest id copied."""
    rows = await conn.fetch(
        "SELECT table_name, column_name,"
        " pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), column_name) AS seq"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
    )
    for r in rows:
        if r["seq"] is None:
            continue
        await conn.execute(
            f"SELECT setval($1, COALESCE((SELECT MAX({quote(r['column_name'])}) FROM"
            f" {quote(r['table_name'])}), 0) + 1, false)",
            r["seq"],
        )


# ---- the whole ---------------------------------------------------------------------------------------


def _open_source(path: Path) -> sqlite3.Connection:
    src = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0, check_same_thread=False
    )
    src.row_factory = None
    return src


def _source_version(src: sqlite3.Connection) -> int:
    try:
        row = src.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        return 0
    return int(row[0]) if row and row[0] is not None else 0


async def _open_target(url: str, folder: Path) -> Database:
    where = shown_url(url)
    try:
        db = await Database.open(url, folder=folder)
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise MigrateError(
            f"{where} cannot be reached or migrated: {scrub(str(exc) or type(exc).__name__, url)}"
        ) from None
    try:
        version, latest = await db.schema_version(), latest_version("postgres")
        if version != latest:
            raise MigrateError(
                f"{where} is at schema version {version}, this bot's is {latest}: upgrade the bot"
            )
        if not await db.claim_gateway(None):
            raise MigrateError(f"a soracord process is using {where}; stop it first")
    except BaseException:
        await db.close()
        raise
    return db


async def copy_to(
    source: Path,
    url: str,
    *,
    page: int = PAGE,
    progress: Progress | None = None,
    lock_wait: float = ACQUIRE_WAIT,
) -> Summary:
    """Copy the SQLite database at ``source`` into the empty PostgreSQL database at ``url``, checked.

    Raises ``MigrateError`` — ``exit_code`` 2 when refused before any row was written (a bot running,
    an old schema, a target with data), 1 when the copy failed and was rolled back.
    """
    where = shown_url(url)
    if str(source) == ":memory:" or not await asyncio.to_thread(source.is_file):
        raise MigrateError(f"no SQLite database at {source} (check DATABASE_PATH)")
    try:
        with argv_masked(url):
            lock = await asyncio.to_thread(
                InstanceLock.acquire, source, command="migrate --to", wait=lock_wait
            )
    except AlreadyRunning as exc:
        raise MigrateError(str(exc)) from None
    try:
        src = _open_source(source)
        try:
            return await _copy_locked(src, source, url, where, page, progress)
        finally:
            src.close()
    finally:
        lock.release()


async def _copy_locked(
    src: sqlite3.Connection, source: Path, url: str, where: str, page: int, progress: Progress | None
) -> Summary:
    version, latest = _source_version(src), latest_version("sqlite")
    if version < latest:
        raise MigrateError(
            f"{source} is at schema version {version}, this bot's is {latest}: run `python -m bot migrate` first"
        )
    if version > latest:
        raise MigrateError(
            f"{source} is at schema version {version}, newer than this bot's {latest}: upgrade the bot"
        )
    db = await _open_target(url, source.parent)
    try:
        try:
            conn = await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise MigrateError(f"{where} cannot be reached: {scrub(str(exc), url)}") from None
        try:
            return await _copy(conn, src, source, url, where, page, progress)
        finally:
            await conn.close()
    finally:
        await db.close()


async def _copy(
    conn: Any,
    src: sqlite3.Connection,
    source: Path,
    url: str,
    where: str,
    page: int,
    progress: Progress | None,
) -> Summary:
    started = time.monotonic()
    src.execute("BEGIN")  # one snapshot for the plan, every page and the check
    try:
        tables, extra = await plan(src, conn)
        copied: dict[str, int] = {}
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            names = [t.quoted for t in tables] + [quote(t) for t in extra]
            await conn.execute(f"LOCK TABLE {', '.join(names)} IN EXCLUSIVE MODE")
            for name in [t.name for t in tables] + extra:
                if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {quote(name)})"):
                    raise MigrateError(
                        f"{where} already has data (table {name} is not empty); migrate --to copies into "
                        "an empty database only: create a new one, or empty this one first"
                    )
            for table in tables:
                copied[table.name], later = await _copy_table(conn, src, table, page, progress)
                if later:
                    await set_forward_refs(conn, table, later)
            balances, entries, members, problems = await check(conn, src, tables, copied)
            await _reset_sequences(conn)  # last: a sequence keeps its change even if the rest rolls back
    except MigrateError:
        raise
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error) as exc:
        detail = scrub(f"{type(exc).__name__}: {exc}", url)
        raise MigrateError(
            f"the copy failed and was rolled back; the target is as it was ({detail})", FAILED
        ) from None
    finally:
        src.rollback()
    return Summary(
        source=source,
        target=where,
        tables=copied,
        seconds=time.monotonic() - started,
        balances=balances,
        entries=entries,
        members=members,
        source_problems=problems,
    )


def _progress(table: str, done: int, total: int) -> None:
    if done == total:
        print(f"  {table}: {done:,} rows", file=sys.stderr)


async def main(settings: Settings, url: str) -> int:
    """``migrate --to URL``: the copy from ``DATABASE_PATH``, its summary, or one line saying why not."""
    if not is_url(url):
        print("soracord: migrate --to takes a postgresql:// URL", file=sys.stderr)
        return REFUSED
    add_secrets(passwords(url))  # anything logged meanwhile is scrubbed of it too
    if settings.database_url is not None and settings.database_url != url:
        print(
            f"soracord: migrate --to: DATABASE_URL is set ({shown_url(settings.database_url)}), so the bot "
            f"does not run on DATABASE_PATH; unset it to copy {settings.database_path} to {shown_url(url)}",
            file=sys.stderr,
        )
        return REFUSED
    try:
        summary = await copy_to(settings.database_path, url, progress=_progress)
    except MigrateError as exc:
        print(f"soracord: migrate --to: {scrub(str(exc), url)}", file=sys.stderr)
        return exc.exit_code
    print(summary.render())
    return 0
