"""Migrations that fill new columns from the rows already there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from monitor.db import make_engine
from monitor.storage import migrate

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _filled(table: sa.Table, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` plus a plain value for every other required column (by its type)."""
    row = dict(given)
    for col in table.columns:
        if col.name in row or col.nullable or col.server_default is not None:
            continue
        if col.primary_key and col.autoincrement:
            continue
        kind = col.type
        if isinstance(kind, sa.Boolean):
            row[col.name] = False
        elif isinstance(kind, sa.Integer | sa.Float | sa.Numeric):
            row[col.name] = 0
        elif isinstance(kind, sa.DateTime):
            row[col.name] = T0
        elif isinstance(kind, sa.LargeBinary):
            row[col.name] = b""
        else:
            row[col.name] = "[]" if "reasons" in col.name else "x"
    return row


def _insert(conn: sa.Connection, table_name: str, **given: Any) -> None:
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    conn.execute(table.insert().values(_filled(table, given)))


def _at_0140_with_replies(engine: Engine) -> None:
    migrate.upgrade(engine, "0140")
    with engine.begin() as conn:
        _insert(conn, "staff", id=1, name="ana", display_name="Ana", role="agent")
        _insert(conn, "staff", id=2, name="bob", display_name="Bob", role="agent")
        _insert(conn, "customers", id=1, display_name="Dan")
        for case_id in (1, 2, 3):
            _insert(conn, "cases", id=case_id, customer_id=1, status="open", channel="email",
                    created_at=T0, updated_at=T0)  # fmt: skip
        # Case 1: Bob's reply went out first although Ana's was written first; a failed
        # one earlier still. Case 2: only a queued reply. Case 3: none.
        for rid, case_id, staff, state, sent in (
            (1, 1, 1, "sent", T0 + timedelta(hours=3)),
            (2, 1, 2, "sent", T0 + timedelta(hours=2)),
            (3, 1, 1, "failed", None),
            (4, 2, 1, "queued", None),
        ):
            _insert(conn, "replies", id=rid, case_id=case_id, staff_id=staff, channel="email",
                    body="Sorry", idempotency_key=f"k{rid}", state=state, attempts=0,
                    created_at=T0, sent_at=sent)  # fmt: skip


def test_first_reply_filled_from_sent_replies(empty_db_url: str) -> None:
    """0180 stamps each case with its earliest sent reply and who sent it."""
    engine = make_engine(empty_db_url)
    try:
        _at_0140_with_replies(engine)
        migrate.upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, first_reply_at, first_reply_by_id FROM cases ORDER BY id")
            ).all()
        cases = sa.Table("cases", sa.MetaData(), autoload_with=engine)
        kind = cases.c.first_reply_at.type
        got = [(r[0], r[1] if r[1] is None else _as_utc(r[1], kind), r[2]) for r in rows]
        assert got == [(1, T0 + timedelta(hours=2), 2), (2, None, None), (3, None, None)]
    finally:
        engine.dispose()


def _as_utc(value: Any, kind: Any) -> datetime:
    if isinstance(value, str):  # SQLite keeps UTC as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
