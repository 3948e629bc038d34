"""``column IN (many values)`` bound as one parameter.

For ``column.in_(values)`` SQLAlchemy renders one placeholder per value, again on every
execution, and the database prepares a new statement for every new list length.
Ingestion looks up about a thousand ids per batch this way (stored mentions,
identities, open cases, overdue promises, customer values): the rendering cost about a
millisecond per query, more than the query itself.

:func:`one_of` binds the whole list as a single parameter instead, so the statement's
text never changes: SQLAlchemy reuses its compiled form, and on SQLite the driver its
prepared statement (PostgreSQL connections here plan every statement afresh, see
``monitor.db.make_engine``). SQLite reads the list with ``json_each`` (built in since
3.38), PostgreSQL as an array with ``= ANY``; both still search the column's index
(see ``tests/storage/test_sql_lists.py``). Any other dialect gets a plain ``IN``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, String, Text, any_, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import QueryableAttribute

from monitor.db import json_dumps

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def one_of(
    column: QueryableAttribute[Any], values: Iterable[Any], dialect: Dialect
) -> ColumnElement[bool]:
    """``column IN values`` with the values (ints or strings) as one bound parameter.

    Strings must not hold NUL: ``json_each`` would cut them there (ingestion never looks
    one up: :mod:`monitor.ingest.column_fit` keeps NUL out of every stored identifier).
    Integers beyond 64 bits are left out: no row holds one, and no driver binds one.
    """
    listed = [v for v in values if not isinstance(v, int) or INT64_MIN <= v <= INT64_MAX]
    if dialect.name == "sqlite":
        rows = func.json_each(bindparam(None, json_dumps(listed), type_=String())).table_valued(
            "value"
        )
        return column.in_(select(rows.c.value))
    if dialect.name == "postgresql":
        # Unbounded text[] for strings: a VARCHAR(n)[] cast would cut longer values to n
        # characters, and a cut value can equal a stored one.
        element = column.expression.type
        if isinstance(element, String):
            element = Text()
        return column == any_(bindparam(None, listed, type_=ARRAY(element)))
    return column.in_(listed)
