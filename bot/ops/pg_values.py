"""SQLite values made fit for PostgreSQL's columns: SQLite keeps whatever it was given whatever a
column's declared type, PostgreSQL's types are strict, so a value that does not already fit (a
float in a BIGINT, a number in a TEXT, a NUL in a string) is converted here, or refused as ``Unfit``
without its value ever being shown."""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.ops.migrate_error import FAILED, MigrateError

if TYPE_CHECKING:
    from bot.ops.copy_plan import Table

Value = Any
Convert = Callable[[Value], Value]


class Unfit(Exception):
    """A source value that the target column's type cannot hold (its Python type, never its value)."""


def _int(v: Value) -> Value:
    if v is None or type(v) is int:
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str | bytes):
        try:
            return int(v.strip())
        except ValueError:
            pass
    raise Unfit(type(v).__name__)


def _float(v: Value) -> Value:
    if v is None or type(v) is float:
        return v
    if isinstance(v, int | str | bytes):
        try:
            return float(v)
        except ValueError:
            pass
    raise Unfit(type(v).__name__)


def _numeric(v: Value) -> Value:
    if v is None:
        return v
    try:
        return decimal.Decimal(str(v) if not isinstance(v, bytes) else v.decode())
    except (decimal.InvalidOperation, UnicodeDecodeError):
        raise Unfit(type(v).__name__) from None


def _text(v: Value) -> Value:
    if type(v) is str:
        return v.replace("\x00", "\ufffd") if "\x00" in v else v  # PostgreSQL's text holds no NUL
    if v is None:
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace").replace("\x00", "\ufffd")
    return str(v)  # a number in a TEXT column (SQLite keeps what it was given)


_TRUE, _FALSE = (
    frozenset({"1", "t", "true", "y", "yes", "on"}),
    frozenset({"0", "f", "false", "n", "no", "off"}),
)


def _bool(v: Value) -> Value:
    if v is None or type(v) is bool:
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise Unfit(type(v).__name__)


def _bytes(v: Value) -> Value:
    if v is None or type(v) is bytes:
        return v
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, memoryview | bytearray):
        return bytes(v)
    raise Unfit(type(v).__name__)


# information_schema.columns.data_type -> what turns an SQLite value into what asyncpg sends for it
CONVERTERS: dict[str, Convert] = {
    "bigint": _int,
    "integer": _int,
    "smallint": _int,
    "double precision": _float,
    "real": _float,
    "numeric": _numeric,
    "text": _text,
    "character varying": _text,
    "character": _text,
    "json": _text,
    "jsonb": _text,
    "boolean": _bool,
    "bytea": _bytes,
}
_NUMBER, TEXT = ("integer", "null"), ("text", "null")
# The SQLite storage classes (``typeof``) asyncpg sends as they are for each type: a column whose every
# value has one of them (and, for text, no NUL) is not converted value by value. One scan of the table
# in SQLite's C finds out; on a database the bot wrote, that is every column, and the rows go as read.
AS_IS: dict[str, tuple[str, ...]] = {
    "bigint": _NUMBER,
    "integer": _NUMBER,
    "smallint": _NUMBER,
    "double precision": ("real", *_NUMBER),
    "real": ("real", *_NUMBER),
    "text": TEXT,
    "character varying": TEXT,
    "character": TEXT,
    "json": TEXT,
    "jsonb": TEXT,
    "bytea": ("blob", "null"),
}


def converted(table: Table, rows: list[tuple[Any, ...]], start: int) -> list[tuple[Any, ...]]:
    """The page as PostgreSQL takes it: only the columns ``copy_plan._survey`` found odd values in are touched."""
    if not table.convert:
        return rows
    pairs = [(i, table.converters[i]) for i in table.convert]
    out: list[tuple[Any, ...]] = []
    for n, row in enumerate(rows):
        values = list(row)
        for i, convert in pairs:
            try:
                values[i] = convert(values[i])
            except Unfit as exc:
                raise MigrateError(
                    f"{table.name}.{table.columns[i]} in row {start + n + 1} holds a {exc} value that "
                    "PostgreSQL's column cannot take; fix that row in the source (or restore a backup) "
                    "and run again",
                    FAILED,
                ) from None
        out.append(tuple(values))
    return out
