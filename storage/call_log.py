"""The calls made on each budgeted API key in the last hour: plain SQL, shared by every process.

A vendor's hourly budget does not restart when the bot does, and it does not split itself between
the bot's processes either, so the count of it is a table, not memory. A call is *reserved* here
before it is sent (``reserve``): under the key's row lock (``key_budgets``), the key's calls of the
last hour are counted and the new one is added only if it fits. Two processes racing for the last
call of an hour therefore queue on that row, and the second one counts the first one's call — a
count-then-insert without the lock lets both see room (measured: up to 103 of 100 granted to four
racing processes; with the lock, never more than 100).

Rows are named by key id (a hash of the key, see ``bot.engine.key_budget.key_id``), never by the key.
Calls older than the hour are dropped as new ones are reserved.
"""

from __future__ import annotations

from collections import defaultdict

from storage.db import Database, Tx

# Takes the key's row lock, making the row on a key's first call. ``DO UPDATE`` locks the row even
# when its ``WHERE`` leaves it as it is (PostgreSQL's documented upsert behaviour), so one statement
# both creates and locks, on PostgreSQL and SQLite alike (where the single writer holds the lock
# already), and the row is rewritten only when the limit changed.
_LOCK = (
    "INSERT INTO key_budgets (key_id, per_hour) VALUES ($1, $2)"
    " ON CONFLICT (key_id) DO UPDATE SET per_hour = excluded.per_hour"
    " WHERE key_budgets.per_hour <> excluded.per_hour"
)
# Adds the call if the last hour (a later instant included: another process's clock may run ahead)
# holds fewer than the limit. A statement of its own, after the lock: on PostgreSQL a statement's
# snapshot is taken when it starts, so the count must start once the lock is held.
_TAKE = (
    "INSERT INTO key_calls (key_id, at) SELECT CAST($1 AS TEXT), CAST($2 AS DOUBLE PRECISION)"
    " WHERE (SELECT COUNT(*) FROM key_calls WHERE key_id = $1 AND at > $3) < $4"
)
# Forgets a key's calls from before the window before last. Not the last window's start: a process
# whose clock lags (or that read its clock before waiting for the lock) counts from earlier, and
# must still find the calls it counts.
_PRUNE = "DELETE FROM key_calls WHERE key_id = $1 AND at <= $2"


_HOLD = (
    "INSERT INTO key_holds (key_id, owner, held) VALUES ($1, $2, $3)"
    " ON CONFLICT (key_id, owner) DO UPDATE SET held = excluded.held"
)
# What the other live processes keep reserved on the key (a lapsed process holds nothing).
_OTHERS = (
    "SELECT COALESCE(SUM(h.held), 0) FROM key_holds h JOIN engine_processes p ON p.owner = h.owner"
    " WHERE h.key_id = $1 AND h.owner <> $2 AND p.until > $3"
)


async def reserve(
    db: Database,
    key_id: str,
    at: float,
    limit: int,
    window: float,
    *,
    owner: str = "",
    held: int = 0,
    free: bool = False,
) -> tuple[bool, int]:
    """Reserve one call of ``key_id`` at ``at`` if the ``window`` seconds up to it hold fewer than
    ``limit`` calls, counting every process's. A ``free`` call (not out of a running job's own
    reservation) must also leave every live process's held polls free: ``owner``'s ``held`` is
    recorded first. Returns whether it was reserved (and may be sent) and what the other live
    processes hold on the key, for the caller's copy.

    One transaction: take the key's row lock, record the holds, add the call if it fits, forget the
    key's calls from before the previous window. On SQLite one trip to the writer; on PostgreSQL a
    few round trips on one pooled connection, the row lock held until the commit.
    """
    start = at - window

    async def body(tx: Tx) -> tuple[bool, int]:
        await tx.execute(_LOCK, (key_id, limit))
        await tx.execute(_HOLD, (key_id, owner, held))
        rows = await tx.execute_fetchall(_OTHERS, (key_id, owner, at))
        others = int(rows[0][0]) if rows else 0
        room = limit - (others + held if free else 0)
        taken = await tx.execute(_TAKE, (key_id, at, start, room))
        await tx.execute(_PRUNE, (key_id, start - window))
        return taken.rowcount == 1, others

    return await db.write(body)


async def window(db: Database, key_id: str, start: float) -> list[float]:
    """The calls of ``key_id`` after ``start``, oldest first, whichever process made them: what a
    process refused a reservation reads to know when the oldest age out and room frees up."""
    rows = await db.fetchall(
        "SELECT at FROM key_calls WHERE key_id = $1 AND at > $2 ORDER BY at", (key_id, start)
    )
    return [float(row["at"]) for row in rows]


async def since(db: Database, start: float) -> dict[str, list[float]]:
    """Every logged call after ``start``, by key id, oldest first."""
    rows = await db.fetchall("SELECT key_id, at FROM key_calls WHERE at > $1 ORDER BY at", (start,))
    calls: defaultdict[str, list[float]] = defaultdict(list)
    for row in rows:
        calls[row["key_id"]].append(float(row["at"]))
    return dict(calls)
