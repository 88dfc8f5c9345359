"""The credit ledger: append-only entries and a per-member balance changed in the same transaction.

Every function here takes an open transaction (``Database.transaction()``) so that a hold can be
written together with its job row. SQL enforces the invariants: ``balance >= 0``, one hold, capture
and release per job, and never both a capture and a release. Replays are therefore no-ops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from storage.db import Database, Row, Tx
from storage.states import ACTIVE, sql_set

EntryKind = Literal["grant", "hold", "capture", "release", "adjust"]
_ACTIVE_SQL = sql_set(ACTIVE)
T = TypeVar("T")


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
    """Write one entry and apply it to the balance. False when it replays an existing job entry.

    A replay is told by ``ON CONFLICT DO NOTHING RETURNING`` giving no row, not by an error: on
    PostgreSQL an error would abort the caller's whole transaction (the job row with it).
    """
    added = await tx.execute_fetchall(
        "INSERT INTO ledger_entries"
        " (guild_id, user_id, kind, amount, job_id, actor_id, reason, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, user_id, kind, amount, job_id, actor_id, reason, time.time() if now is None else now),
    )
    if not added:
        return False
    if amount > 0:  # an upsert: two first grants racing (several processes) both land
        await tx.execute(
            "INSERT INTO balances (guild_id, user_id, balance) VALUES ($1, $2, $3)"
            " ON CONFLICT (guild_id, user_id) DO UPDATE SET balance = balances.balance + excluded.balance",
            (guild_id, user_id, amount),
        )
    elif amount < 0:  # taken only from a balance that covers it (``adjust`` checked, under the row lock)
        await tx.execute(
            "UPDATE balances SET balance = balance + $1 WHERE guild_id = $2 AND user_id = $3",
            (amount, guild_id, user_id),
        )
    return True


async def balance_in(tx: Tx, guild_id: int, user_id: int) -> int:
    rows = list(
        await tx.execute_fetchall(
            "SELECT balance FROM balances WHERE guild_id = $1 AND user_id = $2", (guild_id, user_id)
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
        # Checked and locked in one statement: ``SELECT`` then ``UPDATE`` could race another process.
        cur = await tx.execute(
            "UPDATE balances SET balance = balance WHERE guild_id = $1 AND user_id = $2 AND balance >= $3",
            (guild_id, user_id, -amount),
        )
        if cur.rowcount == 0:
            raise NotEnoughCredits(await balance_in(tx, guild_id, user_id), -amount)
    await _append(
        tx, guild_id=guild_id, user_id=user_id, kind="adjust", amount=amount, actor_id=actor_id, reason=reason
    )


_SETTLE_FROM_HOLD = (
    "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, actor_id, reason, created_at)"
    " SELECT guild_id, user_id, $1, $2, job_id, NULL, $3, $4 FROM ledger_entries"
    " WHERE job_id = $5 AND kind = 'hold' ON CONFLICT DO NOTHING RETURNING id"
)


async def hold(tx: Tx, guild_id: int, user_id: int, job_id: int, cost: int) -> bool:
    """Take ``cost`` from the balance for ``job_id``; raise ``NotEnoughCredits`` if it does not cover it.

    False (and nothing written) when ``job_id`` already has a hold: a replay is never refused for lack
    of credits, since the credits it asks for are the ones it already holds. Two statements on the
    happy path: the entry (whose unique index turns a replay into no row), then
    ``UPDATE … WHERE balance >= cost``.
    """
    if cost < 0:
        raise ValueError("a cost cannot be negative")
    added = await tx.execute_fetchall(
        "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, created_at)"
        " VALUES ($1, $2, 'hold', $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        (guild_id, user_id, -cost, job_id, time.time()),
    )
    if not added:
        return False
    if cost == 0:
        return True
    cur = await tx.execute(
        "UPDATE balances SET balance = balance - $1 WHERE guild_id = $2 AND user_id = $3 AND balance >= $1",
        (cost, guild_id, user_id),
    )
    if cur.rowcount == 0:  # not enough: take the entry back, so nothing is written whatever the caller does
        await tx.execute("DELETE FROM ledger_entries WHERE job_id = $1 AND kind = 'hold'", (job_id,))
        raise NotEnoughCredits(await balance_in(tx, guild_id, user_id), cost)
    return True


async def capture(tx: Tx, job_id: int) -> bool:
    """Spend what ``job_id`` holds. False when there is no hold or the job is already settled."""
    added = await tx.execute_fetchall(_SETTLE_FROM_HOLD, ("capture", 0, None, time.time(), job_id))
    return len(added) == 1


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
    return await _append(
        tx,
        guild_id=guild_id,
        user_id=user_id,
        kind="adjust",
        amount=held - cost,
        job_id=job_id,
        reason=reason,
    )


async def _held(tx: Tx, job_id: int) -> tuple[int, int, int] | None:
    """(guild, member, credits still held): the hold less any trim."""
    rows = list(
        await tx.execute_fetchall(
            "SELECT guild_id, user_id, -SUM(amount) FROM ledger_entries"
            " WHERE job_id = $1 AND kind IN ('hold', 'adjust') GROUP BY guild_id, user_id",
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
            "SELECT 1 FROM ledger_entries WHERE job_id = $1 AND kind IN ('capture', 'release')", (job_id,)
        )
    )
    return bool(rows)


# What the job still holds (its hold less any trim) becomes the release's amount, in the statement
# that writes it: no read first. No hold: no row to insert; settled: the unique indexes refuse it.
_RELEASE_HELD = (
    "INSERT INTO ledger_entries (guild_id, user_id, kind, amount, job_id, actor_id, reason, created_at)"
    " SELECT h.guild_id, h.user_id, 'release', -h.amount - COALESCE((SELECT SUM(a.amount)"
    " FROM ledger_entries a WHERE a.job_id = h.job_id AND a.kind = 'adjust'), 0), h.job_id, NULL, $2, $3"
    " FROM ledger_entries h WHERE h.job_id = $1 AND h.kind = 'hold'"
    " ON CONFLICT DO NOTHING RETURNING guild_id, user_id, amount"
)


async def release(tx: Tx, job_id: int, reason: str) -> bool:
    """Give back what ``job_id`` holds. False when there is no hold or the job is already settled.

    Two statements (the entry, then the balance): a release is on every failed or cancelled job."""
    added = await tx.execute_fetchall(_RELEASE_HELD, (job_id, reason, time.time()))
    if not added:
        return False
    guild_id, user_id, cost = (int(v) for v in added[0])
    if cost:
        await tx.execute(
            "UPDATE balances SET balance = balance + $1 WHERE guild_id = $2 AND user_id = $3",
            (cost, guild_id, user_id),
        )
    return True


async def balance(db: Database, guild_id: int, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT balance FROM balances WHERE guild_id = $1 AND user_id = $2", (guild_id, user_id)
    )
    return int(row["balance"]) if row else 0


NO_LIMIT = 2**63 - 1  # ``LIMIT -1`` is "all" to SQLite and an error to PostgreSQL
ENTRY_PAGE_SQL = (
    "SELECT * FROM ledger_entries WHERE guild_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3 OFFSET $4"
)
OLDER_PAGE_SQL = (
    "SELECT * FROM ledger_entries WHERE guild_id = $1 AND user_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
)
NEWER_PAGE_SQL = (
    "SELECT * FROM ledger_entries WHERE guild_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4"
)
COUNT_SQL = "SELECT COUNT(*) FROM ledger_entries WHERE guild_id = $1 AND user_id = $2"
# Only active jobs are read: a hold is settled in the transaction that ends its job (``Runner.finish``,
# ``Admission.cancel``), so an unsettled hold always belongs to an active job — and a member has a few
# of those, against tens of thousands of settled holds. ``invariant_violations`` checks that premise.
HELD_SQL = (
    "SELECT COALESCE(SUM(-h.amount), 0) FROM jobs j CROSS JOIN ledger_entries h"  # CROSS: jobs first
    f" WHERE j.guild_id = $1 AND j.user_id = $2 AND j.state IN {_ACTIVE_SQL}"
    " AND h.job_id = j.id AND h.kind IN ('hold', 'adjust')"  # a trim lowers what a job holds
    " AND h.guild_id = j.guild_id AND h.user_id = j.user_id"
    " AND NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.job_id = h.job_id AND s.kind IN ('capture', 'release'))"
)
# Keyset pages by (time, id), so each page is one range of ledger_by_guild_time, however deep.
GUILD_PAGE_SQL = (
    "SELECT id, created_at, user_id, kind, amount, job_id, actor_id, reason FROM ledger_entries"
    " WHERE guild_id = $1 AND (created_at, id) > ($2, $3) AND created_at < $4 ORDER BY created_at, id LIMIT $5"
)
GUILD_ANY_SQL = (
    "SELECT 1 FROM ledger_entries WHERE guild_id = $1 AND created_at >= $2 AND created_at < $3 LIMIT 1"
)


async def entries(
    db: Database, guild_id: int, user_id: int, *, offset: int = 0, limit: int = -1
) -> list[Entry]:
    """A member's entries, newest first (a page of them with ``offset``/``limit``; -1: all of them)."""
    rows = await db.fetchall(ENTRY_PAGE_SQL, (guild_id, user_id, limit if limit >= 0 else NO_LIMIT, offset))
    return [Entry(**dict(row)) for row in rows]


async def count_entries(db: Database, guild_id: int, user_id: int) -> int:
    row = await db.fetchone(COUNT_SQL, (guild_id, user_id))
    return int(row[0]) if row else 0


async def page(
    db: Database,
    guild_id: int,
    user_id: int,
    *,
    offset: int,
    limit: int,
    older_than: int | None = None,
    newer_than: int | None = None,
) -> tuple[int, list[Entry]]:
    """(how many entries the member has, one page of them newest first), read in one trip.

    A page next to one already shown is read from its edge (``older_than``/``newer_than`` an entry id):
    one index range however deep, and the same rows ``offset`` would have given when that page was read.
    """

    async def body(tx: Tx) -> tuple[int, list[Entry]]:
        [total] = await tx.execute_fetchall(COUNT_SQL, (guild_id, user_id))
        if older_than is not None:
            rows = await tx.execute_fetchall(OLDER_PAGE_SQL, (guild_id, user_id, older_than, limit))
        elif newer_than is not None:
            rows = (await tx.execute_fetchall(NEWER_PAGE_SQL, (guild_id, user_id, newer_than, limit)))[::-1]
        else:
            rows = await tx.execute_fetchall(ENTRY_PAGE_SQL, (guild_id, user_id, limit, offset))
        return int(total[0]), [Entry(**dict(row)) for row in rows]

    return await db.read(body)


async def held(db: Database, guild_id: int, user_id: int) -> int:
    """Credits held by the member's jobs that are not settled yet."""
    row = await db.fetchone(HELD_SQL, (guild_id, user_id))
    return int(row[0]) if row else 0


async def any_in(db: Database, guild_id: int, start: float, end: float) -> bool:
    """Whether the server has an entry in ``[start, end)`` (an export checks before it defers)."""
    return bool(await db.fetchall(GUILD_ANY_SQL, (guild_id, start, end)))


async def guild_page(
    db: Database,
    guild_id: int,
    start: float,
    end: float,
    *,
    after: tuple[float, int] | None,
    limit: int,
    render: Callable[[list[Row]], T],
) -> tuple[T, int, tuple[float, int]] | None:
    """The next ``limit`` entries of a server in ``[start, end)`` after ``after`` (time, id), oldest
    first, handed to ``render``: (what it made, how many rows, where the next page starts), or None
    after the last page. Rows are ``id, created_at, user_id, kind, amount, job_id, actor_id, reason``.

    Exports read page by page, each page one trip to a read connection, and ``render`` runs there
    too (on that connection's thread): a million entries never reach the event loop as objects.
    """
    since, last_id = after if after is not None else (start, -1)  # the first page includes ``start``

    async def body(tx: Tx) -> tuple[T, int, tuple[float, int]] | None:
        rows = await tx.execute_fetchall(GUILD_PAGE_SQL, (guild_id, since, last_id, end, limit))
        if not rows:
            return None
        return render(rows), len(rows), (float(rows[-1]["created_at"]), int(rows[-1]["id"]))

    return await db.read(body)


INVARIANT_SQL = (
    "SELECT b.guild_id, b.user_id, b.balance, COALESCE(SUM(e.amount), 0) AS total"
    " FROM balances b LEFT JOIN ledger_entries e ON e.guild_id = b.guild_id AND e.user_id = b.user_id"
    " GROUP BY b.guild_id, b.user_id HAVING b.balance != COALESCE(SUM(e.amount), 0)"
    " UNION ALL"
    " SELECT e.guild_id, e.user_id, 0, SUM(e.amount) FROM ledger_entries e"
    " WHERE NOT EXISTS (SELECT 1 FROM balances b WHERE b.guild_id = e.guild_id AND b.user_id = e.user_id)"
    " GROUP BY e.guild_id, e.user_id HAVING SUM(e.amount) != 0"
)
FINISHED_HOLDING_SQL = (
    "SELECT j.id, j.state FROM jobs j CROSS JOIN ledger_entries h"
    f" WHERE j.state NOT IN {_ACTIVE_SQL} AND h.job_id = j.id AND h.kind = 'hold'"
    " AND NOT EXISTS (SELECT 1 FROM ledger_entries s WHERE s.job_id = j.id AND s.kind IN ('capture', 'release'))"
    " ORDER BY j.id"
)


async def invariant_violations(db: Database) -> list[str]:
    """Every member whose balance is not the sum of their entries, and every finished job whose hold
    was never settled (``held`` counts only active jobs). Empty when the ledger is sound."""

    async def body(tx: Tx) -> list[str]:
        rows = await tx.execute_fetchall(INVARIANT_SQL)
        out = [f"guild {r[0]} member {r[1]}: balance {r[2]} but entries sum to {r[3]}" for r in rows]
        rows = await tx.execute_fetchall(FINISHED_HOLDING_SQL)
        return out + [f"job {r[0]} is {r[1]} but still holds its credits" for r in rows]

    return await db.read(body)
