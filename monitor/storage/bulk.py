"""Many-row INSERT and UPDATE for the ingest hot path, below SQLAlchemy's parameter layer.

For every row of an ``executemany`` SQLAlchemy builds a parameter dict and runs each
column's bind processor through generic code. Ingestion writes a few rows per message
(the mention, its events, its case and identity), and skipping that generic layer cut
19% of the instructions per ingested message (``bench/ingest.py --instructions``).
Here the caller builds each row as a tuple of values already in database form, using
:class:`RowEncoder` for the two kinds that need converting, and the rows go to the
DBAPI's ``executemany`` in one call per chunk, inside the session's transaction.

:class:`RowEncoder` encodes exactly as the column types in :mod:`monitor.db` do
(``UTCDateTime`` and ``JSONType``); ``tests/storage/test_bulk.py`` writes the same rows both
ways on SQLite and PostgreSQL and compares what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from monitor.db import UTCDateTime, json_dumps

CHUNK = 500


def _unchanged(value: Any) -> Any:
    return value


class RowEncoder:
    """Database form of aware datetimes and JSON documents, for one dialect.

    ``datetime`` and ``json`` are the converting functions themselves (not methods
    wrapping them): they run several times for every message ingested.
    """

    def __init__(self, datetime_bind: Callable[[Any], Any] | None) -> None:
        self.datetime: Callable[[datetime | None], Any] = datetime_bind or _unchanged
        self.json: Callable[[Any], str] = json_dumps


def encoder(session: Session) -> RowEncoder:
    dialect = session.connection().dialect
    return RowEncoder(UTCDateTime().bind_processor(dialect))


def _placeholder(table: Table, column: str, dialect: Dialect) -> str:
    if dialect.name == "sqlite":
        return "?"
    if isinstance(table.c[column].type.dialect_impl(dialect), JSON):  # JSONB: a str needs a cast
        return "%s::jsonb"
    return "%s"


def _names(table: Table, columns: Sequence[str], dialect: Dialect) -> tuple[str, list[str]]:
    """The quoted table name and column names; every column must exist in the table."""
    quote = dialect.identifier_preparer.quote
    return quote(table.name), [quote(table.c[c].name) for c in columns]


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT rows (tuples in ``columns`` order, values encoded) in the session's transaction."""
    if not rows:
        return
    conn = session.connection()
    name, cols = _names(table, columns, conn.dialect)
    marks = ", ".join(_placeholder(table, c, conn.dialect) for c in columns)
    # Names come from our own table metadata (quoted), values are bound parameters.
    sql = f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({marks})"  # noqa: S608
    for i in range(0, len(rows), CHUNK):
        conn.exec_driver_sql(sql, list(rows[i : i + CHUNK]))


def update_rows_by_id(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """UPDATE by primary key: each row is the ``columns`` values followed by the id."""
    if not rows:
        return
    conn = session.connection()
    name, cols = _names(table, columns, conn.dialect)
    sets = ", ".join(
        f"{q} = {_placeholder(table, c, conn.dialect)}" for q, c in zip(cols, columns, strict=True)
    )
    where = f"id = {_placeholder(table, 'id', conn.dialect)}"
    sql = f"UPDATE {name} SET {sets} WHERE {where}"  # noqa: S608 (names as above)
    for i in range(0, len(rows), CHUNK):
        conn.exec_driver_sql(sql, list(rows[i : i + CHUNK]))
