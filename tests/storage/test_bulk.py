"""The ingest hot path's own many-row writer stores exactly what SQLAlchemy's would.

Rows are written both ways into the same tables on each backend (SQLite and
PostgreSQL), then read back raw, so an encoding difference (datetime format, JSON,
booleans, NULLs) shows up as a failing comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from monitor.db import Base
from monitor.storage.bulk import encoder, insert_rows, update_rows_by_id

T = Base.metadata.tables
AT = datetime(2026, 11, 23, 9, 5, 7, 12, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def _customer(session: Session) -> int:
    return session.execute(
        insert(T["customers"]).returning(T["customers"].c.id),
        {"display_name": "Pat", "value": 0.0, "created_at": AT},
    ).scalar_one()


def _case(session: Session, customer_id: int) -> int:
    values = {"customer_id": customer_id, "status": "open", "channel": "x", "created_at": AT}
    return session.execute(
        insert(T["cases"]).returning(T["cases"].c.id), {**values, "updated_at": AT}
    ).scalar_one()


def _raw(session: Session, table: str, ids: list[int], columns: list[str]) -> list[tuple[Any, ...]]:
    cols = ", ".join(columns)
    rows = session.execute(text(f"SELECT id, {cols} FROM {table} ORDER BY id")).all()
    return [tuple(r[1:]) for r in rows if r[0] in ids]


def test_inserted_rows_match_sqlalchemys(session: Session) -> None:
    case_id = _case(session, _customer(session))
    payload = {"score": 71, "reasons": ["text: blame (+40)", "naïve “quotes” 🙂"], "x": None}
    sa_rows = [
        {
            "case_id": case_id,
            "kind": "mention.created",
            "actor": "system",
            "payload": payload,
            "created_at": AT,
        },
        {
            "case_id": None,
            "kind": "case.updated",
            "actor": "system",
            "payload": {},
            "created_at": AT.astimezone(PLUS_TWO),
        },
    ]
    session.execute(insert(T["events"]), sa_rows)
    enc = encoder(session)
    insert_rows(
        session,
        T["events"],
        ("case_id", "kind", "actor", "payload", "created_at"),
        [
            (
                r["case_id"],
                r["kind"],
                r["actor"],
                enc.json(r["payload"]),
                enc.datetime(r["created_at"]),
            )
            for r in sa_rows
        ],
    )
    ids = list(session.scalars(select(T["events"].c.id).order_by(T["events"].c.id)))
    assert len(ids) == 4
    columns = ["case_id", "kind", "actor", "payload", "created_at"]
    raw = _raw(session, "events", ids, columns)
    assert raw[:2] == raw[2:]
    typed = session.execute(select(T["events"].c.payload, T["events"].c.created_at)).all()
    assert [tuple(r) for r in typed[:2]] == [tuple(r) for r in typed[2:]]
    assert typed[2] == (payload, AT) and typed[3][1] == AT.replace(microsecond=12)


def test_updated_rows_match_sqlalchemys(session: Session) -> None:
    customer = _customer(session)
    a, b = _case(session, customer), _case(session, customer)
    state = {
        "status": "open",
        "score": 64,
        "public": True,
        "followers": None,
        "reasons": ["public, 12k followers (+6)"],
        "text_score": {"complaint": 0.9, "cues": [["again", 4]]},
        "updated_at": AT + timedelta(hours=1),
        "first_unanswered_at": AT,
        "resolved_at": None,
    }
    session.execute(update(T["cases"]).where(T["cases"].c.id == a).values(**state))
    enc = encoder(session)
    row = tuple(
        enc.json(v)
        if k in ("reasons", "text_score")
        else enc.datetime(v)
        if k.endswith("_at")
        else v
        for k, v in state.items()
    )
    update_rows_by_id(session, T["cases"], tuple(state), [(*row, b)])
    raw = _raw(session, "cases", [a, b], list(state))
    assert raw[0] == raw[1]
    typed = session.execute(
        select(T["cases"].c.text_score, T["cases"].c.updated_at).where(T["cases"].c.id == b)
    ).one()
    assert typed == (state["text_score"], state["updated_at"])


def test_naive_datetimes_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="naive"):
        encoder(session).datetime(datetime(2026, 11, 23, 9, 5))


def test_case_state_rows_follow_case_state_order(session: Session) -> None:
    from monitor.customers.placement_rows import CASE_STATE, CaseRow, CustomerRow
    from monitor.ingest.rows import case_state

    case = CaseRow(
        7,
        CustomerRow(3),
        "open",
        "email",
        AT,
        AT + timedelta(hours=1),
        subject="Refund",
        priority=55.0,
        score=55,
        band="high",
        reasons=["r"],
        text_score={"points": 3},
        unanswered_count=2,
        hop_from="x",
        public=True,
        followers=12,
        last_customer_at=AT,
        first_unanswered_at=AT - timedelta(days=1),
        resolved_at=None,
    )
    enc = encoder(session)
    expected = [
        enc.json(v)
        if name in ("reasons", "text_score")
        else enc.datetime(v)
        if name.endswith("_at")
        else v
        for name, v in ((n, getattr(case, n)) for n in CASE_STATE)
    ]
    assert list(case_state(case, enc)) == [*expected, 7]
