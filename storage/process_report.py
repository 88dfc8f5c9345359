"""What ``doctor`` and the metrics read about delivery: the live engine processes and the unsent results.

Read-only, for people: nothing here decides who drives a job (``storage.leases`` does) or posts a
result (``storage.outbox`` does). A process is *live* while its lease row's ``until`` is ahead of
``now``, the rule ``storage.leases.take`` uses to decide whose jobs are free. A result is *unsent*
while its outbox row is claimed or pending; its ``created_at`` is when it was first claimed for
posting, so the oldest one says how long a result has waited to be posted.

The lease row keeps when the lease ends, not when it was renewed: the caller, who knows the lease's
length (``LEASE_SECONDS``), works out the renewal as ``until`` minus that length.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.outbox import SENT

# Spelt as a literal, not a parameter: the partial index ``deliveries_unsent`` serves only a query
# that states its condition the same way, and the metrics read this at every scrape.
_UNSENT = f"state != '{SENT}'"


@dataclass(frozen=True)
class LiveProcess:
    owner: str  # ``role:host:pid:random`` (``bot.engine.leases.owner_name``)
    role: str
    started_at: float
    until: float  # the lease ends then unless renewed
    load: int = 0  # jobs it drives, as its last renewal said (``storage.leases.hand_out_in`` reads it)

    def renewed_ago(self, now: float, lease_seconds: float) -> float:
        """Seconds since the lease was last renewed, for a lease ``lease_seconds`` long (never below
        0: the process's clock may run a little ahead of the reader's)."""
        return max(0.0, now - (self.until - lease_seconds))


@dataclass(frozen=True)
class OldestUnsent:
    job_id: int
    since: float  # first claimed for posting
    attempts: int
    last_error: str | None  # Discord's answer to the last refused attempt


@dataclass(frozen=True)
class Unsent:
    count: int
    oldest_since: float | None  # None: nothing is waiting


async def live_processes(db: Database, *, now: float) -> list[LiveProcess]:
    """The processes whose lease is live at ``now``, by role then name."""
    rows = await db.fetchall(
        "SELECT owner, role, started_at, until, load FROM engine_processes WHERE until > $1"
        " ORDER BY role, owner",
        (now,),
    )
    return [
        LiveProcess(
            str(r["owner"]), str(r["role"]), float(r["started_at"]), float(r["until"]), int(r["load"])
        )
        for r in rows
    ]


async def unsent(db: Database) -> Unsent:
    """How many results are claimed or pending but not posted, and since when the oldest waits."""
    row = await db.fetchone(
        f"SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM deliveries WHERE {_UNSENT}"
    )
    if row is None or not row["n"]:
        return Unsent(0, None)
    return Unsent(int(row["n"]), float(row["oldest"]))


async def oldest_unsent(db: Database) -> OldestUnsent | None:
    """The result that has waited longest to be posted (None: every claimed result is out)."""
    row = await db.fetchone(
        "SELECT job_id, created_at, attempts, last_error FROM deliveries"
        f" WHERE {_UNSENT} ORDER BY created_at, job_id LIMIT 1"
    )
    if row is None:
        return None
    return OldestUnsent(int(row["job_id"]), float(row["created_at"]), int(row["attempts"]), row["last_error"])
