"""The credit ledger: append-only entries and a per-member balance changed in the same transaction.

Every function here takes an open transaction (``Database.transaction()``) so that a hold can be
written together with its job row. SQL enforces the invariants: ``balance >= 0``, one hold, capture
and release per job, and never both a capture and a release. Replays are therefore no-ops.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Literal

from storage.db import Database, Tx

EntryKind = Literal["grant", "hold", "capture", "release", "adjust"]


class NotEnoughCredits(Exception):
    def __init__(self, balance: int, cost: int) -> None:
        super().__init__(f"balance {balance} < cost {cost}")
        self.balance = balance
        self.cost = cost


@dataclass(frozen=True)
class Entry:
    id: int
    guild_id: int
    user_id: int
    kind: EntryKind
    amount: int
    job_id: int | None
    actor_id: int | None
    reason: str | None
    created_at: float


async def _append(
    tx: Tx,
    *,
    guild_id: int,
    user_id: int,
    kind: EntryKind,
    amount: int,
    job_id: int | None = None,
    actor_id: int | None = None,
    reason: str | None = None,
    now: float | None = None,
) -> bool:
    """Write one entry and apply it to the balance. False when it replays an existing job entry."""
    try:
        await tx.execute(
            "INSERT INTO ledger_entries"
            " (guild_id, user_id, kind, amount, job_id, actor_id, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (guild_id, user_id, kind, amount, job_id, actor_id, reason, time.time() if now is None else now),
        )
    except sqlite3.IntegrityError as exc:
        if job_id is None or not _is_replay(exc):
            raise
        return False
    if amount:
        # UPDATE first: an upsert would check its candidate row (a negative balance) before the conflict.
        cur = await tx.execute(
            "UPDATE balances SET balance = balance + ? WHERE guild_id = ? AND user_id = ?",
            (amount, guild_id, user_id),
        )
        if cur.rowcount == 0:
            await tx.execute(
                "INSERT INTO balances (guild_id, user_id, balance) VALUES (?, ?, ?)",
                (guild_id, user_id, amount),
            )
    return True


async def balance_in(tx: Tx, guild_id: int, user_id: int) -> int:
    rows = list(
        await tx.execute_fetchall(
            "SELECT balance FROM balances WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )
    )
    return int(rows[0][0]) if rows else 0


async def grant(
    tx: Tx, guild_id: int, user_id: int, amount: int, *, actor_id: int | None, reason: str
) -> None:
    if amount <= 0:
        raise ValueError("a grant must be positive")
    await _append(
        tx, guild_id=guild_id, user_id=user_id, kind="grant", amount=amount, actor_id=actor_id, reason=reason
    )


async def adjust(
    tx: Tx, guild_id: int, user_id: int, amount: int, *, actor_id: int | None, reason: str
) -> None:
    """A manager's correction, either way; taking more than the balance raises ``NotEnoughCredits``."""
    if amount == 0:
        raise ValueError("an adjustment cannot be zero")
    if amount < 0:
        current = await balance_in(tx, guild_id, user_id)
        if current < -amount:
            raise NotEnoughCredits(current, -amount)
    await _append(
        tx, guild_id=guild_id, user_id=user_id, kind="adjust", amount=amount, actor_id=actor_id, reason=reason
    )


def _is_replay(exc: sqlite3.IntegrityError) -> bool:
    """Only the one-entry-per-job indexes make a replay; a missing job (FOREIGN KEY) is a bug to surface."""
    return exc.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"


_SETTLE_FROM_HOLD = (
    "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, actor_id, reason, created_at)"
    " SELECT guild_id, user_id, ?, ?, job_id, NULL, ?, ? FROM ledger_entries WHERE job_id = ? AND kind = 'hold'"
)


async def hold(tx: Tx, guild_id: int, user_id: int, job_id: int, cost: int) -> bool:
    """Take ``cost`` from the balance for ``job_id``; raise ``NotEnoughCredits`` if it does not cover it.

    False (and nothing written) when ``job_id`` already has a hold: a replay is never refused for lack
    of credits, since the credits it asks for are the ones it already holds. Two statements on the
    happy path: the entry (whose unique index catches a replay), then ``UPDATE … WHERE balance >= cost``.
    """
    if cost < 0:
        raise ValueError("a cost cannot be negative")
    try:
        await tx.execute(
            "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, created_at)"
            " VALUES (?, ?, 'hold', ?, ?, ?)",
            (guild_id, user_id, -cost, job_id, time.time()),
        )
    except sqlite3.IntegrityError as exc:
        if _is_replay(exc):
            return False
        raise
    if cost == 0:
        return True
    cur = await tx.execute(
        "UPDATE balances SET balance = balance - ? WHERE guild_id = ? AND user_id = ? AND balance >= ?",
        (cost, guild_id, user_id, cost),
    )
    if cur.rowcount == 0:  # not enough: take the entry back, so nothing is written whatever the caller does
        await tx.execute("DELETE FROM ledger_entries WHERE job_id = ? AND kind = 'hold'", (job_id,))
        raise NotEnoughCredits(await balance_in(tx, guild_id, user_id), cost)
    return True


async def capture(tx: Tx, job_id: int) -> bool:
    """Spend what ``job_id`` holds. False when there is no hold or the job is already settled."""
    try:
        cur = await tx.execute(_SETTLE_FROM_HOLD, ("capture", 0, None, time.time(), job_id))
    except sqlite3.IntegrityError as exc:
        if _is_replay(exc):
            return False
        raise
    return cur.rowcount == 1


async def trim_hold(tx: Tx, job_id: int, cost: int, reason: str) -> bool:
    """Lower what ``job_id`` holds to ``cost``, giving the difference back at once (a job moved to a
    cheaper model). Never raises a hold; False (nothing written) when there is nothing to give back,
    the job is settled, or it was trimmed before (one trim a job: the ``adjust`` entry is unique)."""
    if await _settled(tx, job_id):
        return False
    rows = await _held(tx, job_id)
    if not rows:
        return False
    guild_id, user_id, held = rows
    if cost >= held:
        return False
    try:
        return await _append(
            tx,
            guild_id=guild_id,
            user_id=user_id,
            kind="adjust",
            amount=held - cost,
            job_id=job_id,
            reason=reason,
        )
    except sqlite3.IntegrityError:
        return False


async def _held(tx: Tx, job_id: int) -> tuple[int, int, int] | None:
    """(guild, member, credits still held): the hold less any trim."""
    rows = list(
        await tx.execute_fetchall(
            "SELECT guild_id, user_id, -SUM(amount) FROM ledger_entries"
            " WHERE job_id = ? AND kind IN ('hold', 'adjust') GROUP BY guild_id, user_id",
            (job_id,),
        )
    )
    if not rows:
        return None
    guild_id, user_id, held = (int(v) for v in rows[0])
    return guild_id, user_id, held


async def _settled(tx: Tx, job_id: int) -> bool:
    rows = list(
        await tx.execute_fetchall(
            "SELECT 1 FROM ledger_entries WHERE job_id = ? AND kind IN ('capture', 'release')", (job_id,)
        )
    )
    return bool(rows)


async def release(tx: Tx, job_id: int, reason: str) -> bool:
    """Give back what ``job_id`` holds. False when there is no hold or the job is already settled."""
    held = await _held(tx, job_id)
    if held is None:
        return False
    guild_id, user_id, cost = held
    try:
        await tx.execute(_SETTLE_FROM_HOLD, ("release", cost, reason, time.time(), job_id))
    except sqlite3.IntegrityError as exc:
        if _is_replay(exc):
            return False
        raise
    if cost:
        await tx.execute(
            "UPDATE balances SET balance = balance + ? WHERE guild_id = ? AND user_id = ?",
            (cost, guild_id, user_id),
        )
    return True


async def balance(db: Database, guild_id: int, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT balance FROM balances WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return int(row["balance"]) if row else 0


async def entries(
    db: Database, guild_id: int, user_id: int, *, offset: int = 0, limit: int = -1
) -> list[Entry]:
    """A member's entries, newest first (a page of them with ``offset``/``limit``)."""
    rows = await db.fetchall(
        "SELECT * FROM ledger_entries WHERE guild_id = ? AND user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (guild_id, user_id, limit, offset),
    )
    return [Entry(**dict(row)) for row in rows]


async def count_entries(db: Database, guild_id: int, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT COUNT(*) FROM ledger_entries WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    return int(row[0]) if row else 0


async def held(db: Database, guild_id: int, user_id: int) -> int:
    """Credits held by the member's jobs that are not settled yet."""
    row = await db.fetchone(
        "SELECT COALESCE(SUM(-h.amount), 0) FROM ledger_entries h WHERE h.guild_id = ? AND h.user_id = ?"
        " AND h.kind IN ('hold', 'adjust') AND h.job_id IS NOT NULL"  # a trim lowers what a job holds
        " AND NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.job_id = h.job_id"
        " AND s.kind IN ('capture', 'release'))",
        (guild_id, user_id),
    )
    return int(row[0]) if row else 0


async def guild_entries(db: Database, guild_id: int, start: float, end: float) -> list[Entry]:
    """Every entry of a server in ``[start, end)``, oldest first (for exports)."""
    rows = await db.fetchall(
        "SELECT * FROM ledger_entries WHERE guild_id = ? AND created_at >= ? AND created_at < ? ORDER BY id",
        (guild_id, start, end),
    )
    return [Entry(**dict(row)) for row in rows]


async def invariant_violations(db: Database) -> list[str]:
    """Every member whose balance is not the sum of their entries (empty when the ledger is sound)."""
    rows = await db.fetchall(
        "SELECT b.guild_id, b.user_id, b.balance, COALESCE(SUM(e.amount), 0) AS total"
        " FROM balances b LEFT JOIN ledger_entries e ON e.guild_id = b.guild_id AND e.user_id = b.user_id"
        " GROUP BY b.guild_id, b.user_id HAVING b.balance != total"
        " UNION ALL"
        " SELECT e.guild_id, e.user_id, 0, SUM(e.amount) FROM ledger_entries e"
        " WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.guild_id = e.guild_id AND b.user_id = e.user_id)"
        " GROUP BY e.guild_id, e.user_id HAVING SUM(e.amount) != 0"
    )
    return [f"guild {r[0]} member {r[1]}: balance {r[2]} but entries sum to {r[3]}" for r in rows]
