"""Identify slots: when a gateway shard may send its IDENTIFY, reserved where every process sees it.

Discord counts identifies over every connection of the bot, not per process: shards identify in
buckets (bucket = shard id % ``max_concurrency``), at most one identify per bucket every 5 seconds
(``INTERVAL``). discord.py spaces the shards of its own process only, so several ``run`` processes
started at once on one PostgreSQL database would identify together; here they queue in the database.

``reserve`` takes the bucket's next free slot in one short transaction: the upsert locks the bucket's
row in ``identify_buckets`` (made on first use), the slot is ``max(now, next_at)``, ``next_at`` moves
one interval past it, commit. Concurrent reservers of a bucket wait on that row lock for the length
of this transaction only and get slots one interval apart; other buckets' rows are not locked. The
caller sleeps ``Slot.wait`` *after* the commit — no lock is ever held while anyone waits, and a process
that dies while waiting leaves only an unused slot behind (the next one is still 5 s later: safe).

``now`` is read from the database's clock, under the row lock: processes on machines whose clocks
disagree still queue on one clock, and a reserver that waited for the lock reads the time after it.
The SQL is written once; only the clock is said two ways.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, Tx

INTERVAL = 5.0  # seconds between two identifies of one bucket (Discord's rule)

_CLOCK = {
    "postgres": "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8",
    "sqlite": "SELECT (julianday('now') - 2440587.5) * 86400.0",  # ms resolution; one process anyway
}


@dataclass(frozen=True)
class Slot:
    """A reserved identify: ``bucket``'s turn at ``at`` (epoch seconds, the database's clock), which
    was ``wait`` seconds away (0: at once) when it was reserved."""

    bucket: int
    at: float
    wait: float


async def reserve(db: Database, bucket: int, *, interval: float = INTERVAL) -> Slot:
    """Reserve ``bucket``'s next free identify slot, at least ``interval`` seconds after the one before.
    Sleep ``wait`` afterwards, outside any transaction, then identify."""
    if bucket < 0 or interval <= 0:
        raise ValueError(f"bucket must be >= 0 and interval > 0, not {bucket} and {interval}")

    async def body(tx: Tx) -> Slot:
        # The no-op update makes the row exist and locks it either way (PostgreSQL: a second
        # reserver of the bucket waits here until this transaction commits; SQLite has one writer).
        row = await (
            await tx.execute(
                "INSERT INTO identify_buckets (bucket, next_at) VALUES ($1, 0)"
                " ON CONFLICT (bucket) DO UPDATE SET next_at = identify_buckets.next_at RETURNING next_at",
                (bucket,),
            )
        ).fetchone()
        clock = await (await tx.execute(_CLOCK[tx.backend])).fetchone()
        assert row is not None and clock is not None
        now, next_at = float(clock[0]), float(row[0])
        at = max(now, next_at)
        after = at + interval
        await tx.execute("UPDATE identify_buckets SET next_at = $2 WHERE bucket = $1", (bucket, after))
        return Slot(bucket, at, at - now)

    return await db.write(body)
