"""Portable SQL for the reports: case filters, durations, buckets, percentiles.

Durations are seconds, as floats: ``EXTRACT(EPOCH FROM a - b)`` (cast from numeric,
which sorts several times slower) on PostgreSQL, the difference of ``julianday()``
times 86,400 on SQLite (which stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff').
Percentiles are nearest-rank: the value at rank ceil(p * n) in ascending order (the
median of 1, 2, 3, 4 is 2). PostgreSQL computes them with ``percentile_disc``, whose
definition that is. SQLite (3.40 here) has no percentile function and its window
functions took seconds over a month of a million cases, so there SQL selects the
values and the rank is picked here with numpy, the values held as 8-byte floats
(:func:`_nearest_ranks`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from monitor.models import Case, CaseTag, Event, Reply, ReplyState, Staff
from monitor.reports.period import Bucket, Filters

CHUNK_ROWS = 50_000  # SQLite: rows fetched at a time for the percentiles
SORT_MEMORY = "64MB"  # PostgreSQL work_mem for a report's percentile sorts (this transaction)


def seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    if _postgresql(session):
        return cast(func.extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def bucket_of(column: Any, buckets: Sequence[Bucket]) -> ColumnElement[Any]:
    """The index of the bucket a time falls in (rows are already inside the period): a
    binary search of CASEs, so a row of a 53-week year is compared 6 times, not 52."""
    return _bucket_between(column, buckets, 0, len(buckets))


def _bucket_between(column: Any, buckets: Sequence[Bucket], lo: int, hi: int) -> ColumnElement[Any]:
    """The index in [lo, hi) of the bucket of ``column``, known to be in one of them."""
    if hi - lo == 1:
        return literal(lo)
    mid = (lo + hi) // 2
    return case(
        (column < buckets[mid].start, _bucket_between(column, buckets, lo, mid)),
        else_=_bucket_between(column, buckets, mid, hi),
    )


def in_period(column: Any, start: Any, end: Any) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def case_filters(f: Filters) -> list[ColumnElement[bool]]:
    """Conditions on ``Case`` for the filters (join or correlate Case in the query)."""
    return [*case_column_filters(f), *case_id_filters(f, Case.id)]


def case_column_filters(f: Filters) -> list[ColumnElement[bool]]:
    """The filters read from the case's own row (channel, cause)."""
    out: list[ColumnElement[bool]] = []
    if f.channel:
        out.append(Case.channel == f.channel)
    if f.cause:
        out.append(Case.cause.is_(None) if f.cause == "none" else Case.cause == f.cause)
    return out


def case_id_filters(f: Filters, case_id: Any) -> list[ColumnElement[bool]]:
    """The filters that need only the case's id (a tag; an agent or team replied on it),
    so a row that carries ``case_id`` is filtered without joining its case."""
    out: list[ColumnElement[bool]] = []
    if f.tag:
        out.append(exists().where(CaseTag.case_id == case_id, CaseTag.tag == f.tag))
    by = aliased(Reply)  # not the Reply of a query the filter is applied to
    sent = [by.case_id == case_id, by.state == ReplyState.SENT]
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
    """``values`` selects (group, value) rows; per group: (n, [value at each p]).
    Rows whose value is NULL are left out."""
    inner = values.subquery()
    g, v = inner.c[0], inner.c[1]
    if _postgresql(session):
        _sort_in_memory(session)
        rows = session.execute(
            select(g, func.count(v), _percentile_disc(ps, v)).where(v.is_not(None)).group_by(g)
        ).all()
        return {r[0]: (int(r[1]), _floats(r[2], ps)) for r in rows}
    by_group: dict[Any, array[float]] = {}
    for rows in _driver_rows(session, select(g, v).where(v.is_not(None))):
        for group, value in rows:
            by_group.setdefault(group, array("d")).append(value)
    return {
        group: (len(vs), _nearest_ranks(np.frombuffer(vs, dtype=np.float64), ps))
        for group, vs in by_group.items()
    }


def _driver_rows(session: Session, stmt: Select[Any]) -> Iterator[Sequence[Any]]:
    """The rows as the driver's cursor gives them, a chunk at a time: SQLite's plain
    floats, strings, integers and NULLs (wrapping 82,000 rows in SQLAlchemy rows took
    longer than the query). Flushed first, as ``session.execute`` would."""
    session.flush()
    result = session.connection().execute(stmt)
    try:
        while rows := result.cursor.fetchmany(CHUNK_ROWS):
            yield rows
    finally:
        result.close()


def column_percentiles(
    session: Session, values: Select[Any], ps: Sequence[float] = (0.5, 0.9)
) -> list[tuple[int, list[float | None]]]:
    """Per column of ``values``: (n of its non-NULL values, [value at each p]), in one
    pass over the rows."""
    inner = values.subquery()
    if _postgresql(session):
        _sort_in_memory(session)
        aggs = [(func.count(c), _percentile_disc(ps, c)) for c in inner.c]
        row = session.execute(select(*(a for pair in aggs for a in pair))).one()
        return [(int(row[2 * i]), _floats(row[2 * i + 1], ps)) for i in range(len(aggs))]
    # NULL becomes NaN, left out below.
    chunks = [np.array(rows, dtype=np.float64) for rows in _driver_rows(session, select(inner))]
    table = np.concatenate(chunks) if chunks else np.empty((0, len(inner.c)))
    out = []
    for j in range(len(inner.c)):
        column = table[:, j]
        found = column[~np.isnan(column)]
        out.append((len(found), _nearest_ranks(found, ps)))
    return out


def without_jit(session: Session) -> None:
    """PostgreSQL, for this transaction: no JIT compilation. A report's statements are
    costed high enough to be compiled, and compiling took longer than running them
    (315 of 674 ms for "complained again" over a month of a million cases)."""
    if _postgresql(session):
        session.execute(text("SET LOCAL jit = off"))


def _sort_in_memory(session: Session) -> None:
    # The ranking sorts every value of the period (82,000 per stage for a month of a
    # million cases): in memory, not in an external merge on disk with the default 4 MB.
    session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))


def _percentile_disc(ps: Sequence[float], v: Any) -> Any:
    return func.percentile_disc(postgresql.array([float(p) for p in ps])).within_group(v)


def _floats(values: Sequence[Any] | None, ps: Sequence[float]) -> list[float | None]:
    """percentile_disc's array, or NULL when there were no values."""
    if values is None:
        return [None] * len(ps)
    return [None if x is None else float(x) for x in values]


def _nearest_ranks(values: npt.NDArray[np.float64], ps: Sequence[float]) -> list[float | None]:
    """The value at rank ceil(p * n) for each p, as percentile_disc computes it (by
    partial sorting: only those ranks are put in place)."""
    n = len(values)
    if not n:
        return [None] * len(ps)
    ranks = [max(1, math.ceil(p * n)) - 1 for p in ps]
    placed = np.partition(values, ranks)
    return [float(placed[r]) for r in ranks]


def hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600.0, 1)
