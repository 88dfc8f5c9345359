"""``doctor``'s database check when ``DATABASE_URL`` names PostgreSQL instead of an SQLite file.

No file to look at: the server must answer, the schema must be this code's, and a write must work
(a table created and rolled back, as on SQLite). The URL is shown without its password.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit, urlunsplit

from bot.ops.checks import CheckResult, Context, fail, ok
from storage.db import Database, latest_version
from storage.faults import advice


def shown(url: str) -> str:
    """The URL with any password replaced, fit for logs and doctor's output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class _Rollback(Exception):
    pass


async def check_postgres(ctx: Context, url: str) -> list[CheckResult]:
    where = shown(url)
    try:
        if ctx.db is None:
            ctx.db = await Database.open(url, migrate=False, folder=ctx.settings.database_path.parent)
        version = await ctx.db.schema_version()
    except Exception as exc:  # refused, unknown host, bad password, no such database: all said plainly
        return [fail("database", f"{where} cannot be reached ({exc}); check DATABASE_URL and the server")]
    latest = latest_version("postgres")
    if version != latest:
        action = "run `python -m bot migrate`" if version < latest else "upgrade the bot"
        return [fail("database", f"schema version {version}, latest {latest}: {action}")]
    ctx.db_current = True
    out = [ok("database", f"{where}, schema version {version} (latest)")]
    if ctx.quick:
        return out
    try:
        with contextlib.suppress(_Rollback):
            async with ctx.db.transaction() as tx:
                await tx.execute("CREATE TABLE doctor_write_probe (x BIGINT)")
                raise _Rollback
    except Exception as exc:
        out.append(fail("database", f"{where} refuses writes ({exc}); {advice(exc)}"))
    return out
