"""``doctor`` checks of the bot as it runs: its process, its database's health, jobs left behind.

The running bot cannot answer ``doctor`` through the database when the database is what fails (a
full disk, a lock held by someone else), so it reports through its lock file (``bot.instance``):
which process it is and, while its writes fail, since when, how often, the last error and the fix.
These checks read that file and never write; ``check_process`` is cheap enough for the container's
HEALTHCHECK (``--quick``), so a bot whose database fails turns the container unhealthy.

Jobs whose provider profile left the configuration wait, untouched, until it comes back
(``bot.engine.orphans``); ``check_orphans`` lists them with the two ways out.
"""

from __future__ import annotations

import time

from bot import instance
from bot.engine.orphans import WHAT_TO_DO
from bot.ops.checks import CheckResult, Context, fail, ok, warn
from storage import engine_state

SHOWN = 10  # job ids listed per profile


async def check_process(ctx: Context) -> list[CheckResult]:
    """Is a bot running on this database, and does it say its database writes fail?"""
    database = ctx.settings.database_path
    holder = instance.read(database)
    if not instance.is_held(database):
        last = f" (last: {holder.describe()})" if holder is not None else ""
        return [ok("bot process", f"none is running on {database}{last}")]
    if holder is None:
        return [ok("bot process", f"one is running on {database} (it gave no details)")]
    info = holder.info
    since = info.get("db_failing_since")
    if isinstance(since, int | float):
        errors = info.get("db_errors", "?")
        return [
            fail(
                "bot process",
                f"{holder.describe()}: its database writes fail since {_ago(since)} (errors: {errors}), last: "
                f"{info.get('db_error', '?')} — {info.get('db_advice', 'check the disk')}. Jobs are kept and "
                "retried; they go on by themselves once writes work again",
            )
        ]
    return [ok("bot process", f"{holder.describe()}, database writes work")]


def _ago(when: float) -> str:
    seconds = max(0, round(time.time() - when))
    return f"{seconds}s ago" if seconds < 120 else f"{seconds // 60} min ago"


async def check_orphans(ctx: Context) -> list[CheckResult]:
    """Unfinished jobs whose profile is not in the providers file: kept, waiting, listed here."""
    if ctx.db is None or not ctx.db_current or ctx.profiles is None:
        return []
    found = await engine_state.without_profile(ctx.db, ctx.profiles)
    by_profile: dict[str, list[int]] = {}
    for job in found:
        by_profile.setdefault(job.profile, []).append(job.id)
    out: list[CheckResult] = []
    for profile, ids in sorted(by_profile.items()):
        shown = ", ".join(f"#{i}" for i in ids[:SHOWN]) + (
            f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
        )
        out.append(
            warn(
                f"jobs on {profile}",
                f"{len(ids)} unfinished job(s) ({shown}) use profile `{profile}`, which "
                f"{ctx.settings.providers_file} no longer defines; they wait, untouched: {WHAT_TO_DO}",
            )
        )
    return out
