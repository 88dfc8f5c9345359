"""The proof that the copy is whole, run on the copy's own connection before its COMMIT: the credits
are money, so every table's row count, every balance, every member's sum of entries and the ledger's
own invariants must come out on the target exactly as on the source, or everything rolls back."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from bot.ops.copy_plan import Table
from bot.ops.migrate_error import FAILED, MigrateError
from storage.ledger import FINISHED_HOLDING_SQL, INVARIANT_SQL

BALANCES_SQL = "SELECT guild_id, user_id, balance FROM balances"
SUMS_SQL = "SELECT guild_id, user_id, SUM(amount), COUNT(*) FROM ledger_entries GROUP BY guild_id, user_id"


async def _all(src: sqlite3.Connection, sql: str) -> list[Any]:
    """One query on the source, off the event loop (the ledger's sums read every entry)."""
    return await asyncio.to_thread(lambda: src.execute(sql).fetchall())


def _pairs(rows: Any) -> dict[tuple[int, int], tuple[int, ...]]:
    return {(int(r[0]), int(r[1])): tuple(int(v) for v in r[2:]) for r in rows}


def _problems(rows_a: Any, rows_b: Any) -> list[str]:
    out = [f"guild {r[0]} member {r[1]}: balance {r[2]} but entries sum to {r[3]}" for r in rows_a]
    return out + [f"job {r[0]} is {r[1]} but still holds its credits" for r in rows_b]


def _first_difference(a: dict[Any, Any], b: dict[Any, Any]) -> str:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            return f"guild {k[0]} member {k[1]}: source {a.get(k)}, target {b.get(k)}"
    return "none"


async def check(
    conn: Any, src: sqlite3.Connection, plan: list[Table], copied: dict[str, int]
) -> tuple[int, int, int, list[str]]:
    """Prove the copy inside its own transaction: (balances, entries, members, the source's problems)."""
    for table in plan:
        count = int(await conn.fetchval(f"SELECT COUNT(*) FROM {table.quoted}"))
        if count != table.rows or copied[table.name] != table.rows:
            raise MigrateError(
                f"{table.name}: {count:,} rows on the target, {table.rows:,} in the source", FAILED
            )
    src_balances = _pairs(await _all(src, BALANCES_SQL))
    dst_balances = _pairs(await conn.fetch(BALANCES_SQL))
    if src_balances != dst_balances:
        raise MigrateError(f"balances differ: {_first_difference(src_balances, dst_balances)}", FAILED)
    src_sums = _pairs(await _all(src, SUMS_SQL))
    dst_sums = _pairs(await conn.fetch(SUMS_SQL))
    if src_sums != dst_sums:
        raise MigrateError(f"ledger entries differ: {_first_difference(src_sums, dst_sums)}", FAILED)
    before = _problems(await _all(src, INVARIANT_SQL), await _all(src, FINISHED_HOLDING_SQL))
    after = _problems(await conn.fetch(INVARIANT_SQL), await conn.fetch(FINISHED_HOLDING_SQL))
    if sorted(before) != sorted(after):
        new = sorted(set(after) - set(before)) or sorted(set(before) - set(after))
        raise MigrateError(f"the ledger check fails on the target: {new[0]}", FAILED)
    entries = sum(s[1] for s in src_sums.values())
    return len(src_balances), entries, len(src_sums), before
