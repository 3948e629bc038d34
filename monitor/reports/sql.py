"""Portable SQL for the reports: case filters, durations, buckets, percentiles.

Durations are seconds: ``EXTRACT(EPOCH FROM a - b)`` on PostgreSQL, the difference of
``julianday()`` times 86,400 on SQLite (which stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff').
Percentiles are nearest-rank (the value at rank ceil(p * n) in ascending order; the
median of 1, 2, 3, 4 is 2), by window functions both databases have:
``ROW_NUMBER() OVER (PARTITION BY g ORDER BY v)`` and ``COUNT(*) OVER (PARTITION BY g)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from monitor.models import Case, CaseTag, Event, Reply, ReplyState, Staff
from monitor.reports.period import Bucket, Filters

SORT_MEMORY = "64MB"  # PostgreSQL work_mem for a report's percentile sorts (this transaction)


def seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def bucket_of(column: Any, buckets: Sequence[Bucket]) -> ColumnElement[Any]:
    """The index of the bucket a time falls in (rows are already inside the period)."""
    if len(buckets) == 1:
        return literal(0)
    whens = [(column < b.end, i) for i, b in enumerate(buckets[:-1])]
    return case(*whens, else_=len(buckets) - 1)


def in_period(column: Any, start: Any, end: Any) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def case_filters(f: Filters) -> list[ColumnElement[bool]]:
    """Conditions on ``Case`` for the filters (join or correlate Case in the query)."""
    out: list[ColumnElement[bool]] = []
    if f.channel:
        out.append(Case.channel == f.channel)
    if f.cause:
        out.append(Case.cause.is_(None) if f.cause == "none" else Case.cause == f.cause)
    if f.tag:
        out.append(exists().where(CaseTag.case_id == Case.id, CaseTag.tag == f.tag))
    by = aliased(Reply)  # not the Reply of a query the filter is applied to
    sent = [by.case_id == Case.id, by.state == ReplyState.SENT]
    if f.agent_id is not None:
        out.append(exists().where(*sent, by.staff_id == f.agent_id))
    if f.team_id is not None:
        team = select(Staff.id).where(or_(Staff.id == f.team_id, Staff.lead_id == f.team_id))
        out.append(exists().where(*sent, by.staff_id.in_(team.scalar_subquery())))
    return out


def has_event(kind: str) -> ColumnElement[bool]:
    return exists().where(Event.kind == kind, Event.case_id == Case.id)


def percentiles(
    session: Session, values: Select[Any], ps: Sequence[float] = (0.5, 0.9)
) -> dict[Any, tuple[int, list[float | None]]]:
    """``values`` selects (group, value) rows; per group: (n, [value at each p])."""
    if session.get_bind().dialect.name == "postgresql":
        # The ranking sorts every value of the period (365,000 for a month of a million
        # cases): in memory, not in an external merge on disk with the default 4 MB.
        session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
    inner = values.subquery()
    g, v = inner.c[0], inner.c[1]
    ranked = (
        select(
            g.label("g"),
            v.label("v"),
            func.row_number().over(partition_by=g, order_by=v).label("rn"),
            func.count().over(partition_by=g).label("n"),
        )
        .where(v.is_not(None))
        .subquery()
    )
    cols = [func.min(case((ranked.c.rn >= ranked.c.n * p, ranked.c.v))) for p in ps]
    rows = session.execute(
        select(ranked.c.g, func.max(ranked.c.n), *cols).group_by(ranked.c.g)
    ).all()
    return {r[0]: (int(r[1]), [None if x is None else float(x) for x in r[2:]]) for r in rows}


def hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600.0, 1)
