"""What ``migrate --to`` copies and in what order: the source's tables and columns, the target's
column types and foreign keys read from its catalog, parents before children, and — for a table that
refers to itself (``jobs.riff_of``) — the references that point at a row not copied yet, held back
and set once the table is in. Worked out before the first row moves, so a schema the copy cannot
fill is refused with nothing written."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.ops.migrate_error import MigrateError
from bot.ops.pg_values import AS_IS, CONVERTERS, TEXT, Convert

SKIPPED = frozenset({"schema_version"})  # the target has its own, written by its own migrations


@dataclass
class Table:
    """One table to copy: the source's columns, how each value is converted, how it refers to itself."""

    name: str
    columns: list[str]
    converters: list[Convert]
    convert: list[int] = field(default_factory=list)  # the columns whose values need converting
    rows: int = 0  # in the source
    # (column, referenced column) of a foreign key to the table itself (jobs.riff_of -> jobs.id)
    self_refs: list[tuple[int, int]] = field(default_factory=list)
    key: list[int] = field(default_factory=list)  # the primary key's positions in ``columns``

    @property
    def quoted(self) -> str:
        return quote(self.name)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_tables(src: sqlite3.Connection) -> dict[str, list[str]]:
    names = [
        str(r[0])
        for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {
        n: [str(c[1]) for c in src.execute(f"PRAGMA table_info({quote(n)})")]
        for n in names
        if n not in SKIPPED
    }


async def _target_schema(conn: Any) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str, str]]]:
    """{table: {column: data_type}} and the single-column foreign keys (child, column, parent, column)."""
    tables: dict[str, dict[str, str]] = {}
    for r in await conn.fetch(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position"
    ):
        if r["table_name"] not in SKIPPED:
            tables.setdefault(str(r["table_name"]), {})[str(r["column_name"])] = str(r["data_type"])
    fks: list[tuple[str, str, str, str]] = []
    for r in await conn.fetch(
        "SELECT ch.relname AS child, pa.relname AS parent,"
        " ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)"
        "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,"
        " ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)"
        "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS refs"
        " FROM pg_constraint c JOIN pg_class ch ON ch.oid = c.conrelid JOIN pg_class pa ON pa.oid = c.confrelid"
        " JOIN pg_namespace ns ON ns.oid = ch.relnamespace"
        " WHERE c.contype = 'f' AND ns.nspname = current_schema()"
    ):
        cols, refs = list(r["cols"]), list(r["refs"])
        if len(cols) != 1:  # none today; a composite key to the table itself would need more than ids
            if r["child"] == r["parent"]:
                raise MigrateError(
                    f"{r['child']} refers to itself through {cols}; migrate --to cannot copy that"
                )
            cols, refs = cols[:1], refs[:1]
        fks.append((str(r["child"]), cols[0], str(r["parent"]), refs[0]))
    return tables, fks


async def _primary_key(conn: Any, table: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT a.attname::text AS name FROM pg_index i"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))"
        " AND i.indisprimary",
        table,
    )
    return [str(r["name"]) for r in rows]


def _survey(src: sqlite3.Connection, table: Table, types: list[str]) -> tuple[int, list[int]]:
    """(rows in the source table, the columns holding a value asyncpg cannot send as it is): one scan."""
    checks = []
    for column, pg_type in zip(table.columns, types, strict=True):
        quoted, as_is = quote(column), AS_IS.get(pg_type)
        if as_is is None:
            checks.append("1")  # always converted (booleans, numerics)
            continue
        odd = f"typeof({quoted}) NOT IN ({', '.join(repr(t) for t in as_is)})"
        if as_is == TEXT:
            odd += f" OR instr(CAST({quoted} AS BLOB), x'00') > 0"  # PostgreSQL's text holds no NUL
        checks.append(f"SUM({odd})")
    row = src.execute(f"SELECT COUNT(*), {', '.join(checks)} FROM {table.quoted}").fetchone()
    return int(row[0]), [i for i, odd in enumerate(row[1:]) if odd]


def _order(tables: Sequence[str], fks: Sequence[tuple[str, str, str, str]]) -> list[str]:
    """Parents before children (Kahn's algorithm, ties by name so every run copies alike)."""
    needs = {t: {p for c, _, p, _ in fks if c == t and p != t and p in tables} for t in tables}
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, parents in needs.items() if not parents)
        if not ready:
            raise MigrateError(
                f"the tables {sorted(needs)} refer to each other in a cycle; cannot order the copy"
            )
        for t in ready:
            ordered.append(t)
            del needs[t]
        for parents in needs.values():
            parents.difference_update(ready)
    return ordered


async def plan(src: sqlite3.Connection, conn: Any) -> tuple[list[Table], list[str]]:
    """The tables to copy, in order, and the target's tables the source lacks (they must stay empty)."""
    source = _source_tables(src)
    target, fks = await _target_schema(conn)
    missing = sorted(set(source) - set(target))
    if missing:
        raise MigrateError(
            f"the target has no table {missing[0]} though the source has one: both should be at the "
            "same schema version (run `python -m bot migrate` on each, with this version of the bot)"
        )
    tables: list[Table] = []
    for name in _order(sorted(source), fks):
        columns = source[name]
        types = target[name]
        absent = [c for c in columns if c not in types]
        if absent:
            raise MigrateError(f"the target's {name} has no column {absent[0]}: the schemas differ")
        converters: list[Convert] = []
        for c in columns:
            convert = CONVERTERS.get(types[c])
            if convert is None:
                raise MigrateError(
                    f"{name}.{c} is {types[c]} on the target, which migrate --to cannot fill yet"
                )
            converters.append(convert)
        table = Table(name, columns, converters)
        table.rows, table.convert = await asyncio.to_thread(_survey, src, table, [types[c] for c in columns])
        table.self_refs = [
            (columns.index(col), columns.index(ref))
            for child, col, parent, ref in fks
            if child == parent == name and col in columns and ref in columns
        ]
        if table.self_refs:
            key = await _primary_key(conn, name)
            if not key or any(k not in columns for k in key):
                raise MigrateError(f"{name} refers to itself but has no primary key to copy it by")
            table.key = [columns.index(k) for k in key]
        tables.append(table)
    return tables, sorted(set(target) - set(source))


def hold_forward_refs(
    table: Table, rows: list[tuple[Any, ...]], seen: list[set[Any]], later: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]]:
    """A row whose reference to its own table points at a row not copied yet goes in with NULL there
    and gets its value after the table is in (a COPY checks its foreign keys when it ends, so rows of
    the same page may refer to each other)."""
    for n, (_, ref) in enumerate(table.self_refs):
        seen[n].update(r[ref] for r in rows)
    out = rows
    for n, (col, _) in enumerate(table.self_refs):
        fixed: list[tuple[Any, ...]] = []
        for r in out:
            if r[col] is not None and r[col] not in seen[n]:
                later.append((col, r[col], *(r[k] for k in table.key)))
                r = (*r[:col], None, *r[col + 1 :])
            fixed.append(r)
        out = fixed
    return out


async def set_forward_refs(conn: Any, table: Table, later: list[tuple[Any, ...]]) -> None:
    key = " AND ".join(f"{quote(table.columns[k])} = ${i + 2}" for i, k in enumerate(table.key))
    for col, _ in table.self_refs:
        args = [v[1:] for v in later if v[0] == col]
        if args:
            await conn.executemany(
                f"UPDATE {table.quoted} SET {quote(table.columns[col])} = $1 WHERE {key}", args
            )
