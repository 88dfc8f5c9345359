"""``doctor`` checks of delivery: which engine processes drive the jobs, and which results wait to be posted.

On a database several processes share (PostgreSQL), every ``run`` and ``worker`` process holds a
lease it renews every third of ``LEASE_SECONDS``; a process whose lease lapses has its jobs taken by
another (``bot.engine.leases``). ``check_engines`` lists the live ones, by role, and how long ago
each renewed: one that renews late is slow to reach the database or paused, and about to lose its
jobs. On SQLite one process alone opens the database and ``check_process`` (``doctor_runtime``)
already says which, so there is nothing to list here.

A finished job's result is claimed in the outbox before it is posted and marked once it is out
(``storage.outbox``); a running bot posts one within seconds. A result that has waited longer than
``STUCK_AFTER`` means nobody is posting (no bot runs) or Discord keeps refusing it, which its last
answer usually explains: ``check_unsent`` warns, on both backends.

Renewal times are worked out from the lease's end and this machine's ``LEASE_SECONDS``, which every
process reads from the same ``.env``; the clocks of the machines are taken to agree within a second.
"""

from __future__ import annotations

import time

from bot import instance
from bot.ops.checks import CheckResult, Context, ok, warn
from storage import jobs, process_report
from storage.process_report import LiveProcess

STUCK_AFTER = 300.0  # seconds an unsent result may wait before it is worth a warning
LATE_SHARE = 2 / 3  # a lease renewed longer ago than this share of its length missed a renewal
ERROR_CHARS = 200  # of Discord's last answer, shown


def duration(seconds: float) -> str:
    """``2.4s``, ``45s``, ``12 min``, ``3 h 5 min``: as precise as an operator needs."""
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}s"
    whole = round(seconds)
    if whole < 120:
        return f"{whole}s"
    if whole < 7200:
        return f"{whole // 60} min"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


async def check_engines(ctx: Context) -> list[CheckResult]:
    """On a shared database: how many engine processes are live, per role, and each one's lease."""
    if ctx.db is None or not ctx.db_current or not ctx.db.shared:
        return []
    now = time.time()
    live = await process_report.live_processes(ctx.db, now=now)
    if not live:
        active = await jobs.count_active(ctx.db)
        if active:
            return [
                warn(
                    "engine processes",
                    f"none is live on this database, and {active} job(s) in flight wait: start a "
                    "`python -m bot run` or `python -m bot worker` process and it takes them over",
                )
            ]
        return [ok("engine processes", "none is live on this database (no job is in flight)")]
    roles: dict[str, int] = {}
    for process in live:
        roles[process.role] = roles.get(process.role, 0) + 1
    counts = ", ".join(f"{n} {role}" for role, n in sorted(roles.items()))
    out = [ok("engine processes", f"{len(live)} live on this database: {counts}")]
    out.extend(_lease(process, now, ctx.settings.lease_seconds) for process in live)
    return out


def _lease(process: LiveProcess, now: float, lease_seconds: float) -> CheckResult:
    name = f"{process.role} process"
    ago = process.renewed_ago(now, lease_seconds)
    detail = (
        f"{process.owner}: drives {process.load} job(s), lease renewed {duration(ago)} ago,"
        f" up {duration(now - process.started_at)}"
    )
    if ago > lease_seconds * LATE_SHARE:
        return warn(
            name,
            f"{detail}; it renews every {duration(lease_seconds / 3)} and is late: it is paused or slow to "
            f"reach the database, and its jobs go to another process if the lease lapses "
            f"(LEASE_SECONDS={lease_seconds:g})",
        )
    return ok(name, detail)


async def check_unsent(ctx: Context) -> list[CheckResult]:
    """Results claimed for posting and not posted yet; WARN when one has waited over ``STUCK_AFTER``."""
    if ctx.db is None or not ctx.db_current:
        return []
    now = time.time()
    waiting = await process_report.unsent(ctx.db)
    if waiting.count == 0 or waiting.oldest_since is None:
        return [ok("unsent results", "none: every result claimed for posting has been posted")]
    age = now - waiting.oldest_since
    if age <= STUCK_AFTER:
        return [ok("unsent results", f"{waiting.count} being posted, the oldest for {duration(age)}")]
    oldest = await process_report.oldest_unsent(ctx.db)
    if oldest is None:  # posted between the two reads
        return [ok("unsent results", "none: every result claimed for posting has been posted")]
    detail = (
        f"{waiting.count} not posted yet; the oldest, job #{oldest.job_id}, has waited {duration(age)} "
        f"after {oldest.attempts} attempt(s)"
    )
    if oldest.last_error:
        why = oldest.last_error[:ERROR_CHARS]
        return [
            warn(
                "unsent results",
                f"{detail}; Discord's last answer: {why}. A refused result is tried again when the bot "
                "starts; check that the bot may still post in that job's channel",
            )
        ]
    return [warn("unsent results", f"{detail}: {await _who_posts(ctx, now, oldest.job_id)}")]


async def _who_posts(ctx: Context, now: float, job_id: int) -> str:
    """Why nothing posted it: nobody runs (it is posted at the next start), or look in the log."""
    assert ctx.db is not None
    if ctx.db.shared:
        if not await process_report.live_processes(ctx.db, now=now):
            return (
                "no engine process is live on this database; they are posted once a `run` or `worker` starts"
            )
        return f"live processes post a result within seconds: look in their logs for job {job_id}"
    if not instance.is_held(ctx.settings.database_path):
        return "the bot is not running; they are posted when it starts"
    return f"the running bot posts a result within seconds: look in its log for job {job_id}"
