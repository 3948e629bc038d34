"""Nearest-rank percentiles: the same figures from PostgreSQL's percentile_disc and
from SQLite's selected values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Select, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from monitor.reports.sql import column_percentiles, percentiles


def _rows(rows: list[tuple[Any, ...]]) -> Select[Any]:
    parts = [
        select(*(cast(literal(v), Float if i else String) if v is not None else
                 cast(null(), Float) for i, v in enumerate(row)))
        for row in rows
    ]  # fmt: skip
    return select(union_all(*parts).subquery())


def test_groups_by_nearest_rank_leaving_nulls_out(session: Session) -> None:
    values = _rows(
        [("a", 4.0), ("a", 1.0), ("a", 3.0), ("a", 2.0), ("a", None), ("b", 7.5)]
        + [("c", float(v)) for v in range(1, 11)]
    )
    found = percentiles(session, values, (0.5, 0.9))
    # a: 1, 2, 3, 4 -> ranks ceil(2) = 2 and ceil(3.6) = 4; c: 1..10 -> ranks 5 and 9.
    assert found == {"a": (4, [2.0, 4.0]), "b": (1, [7.5, 7.5]), "c": (10, [5.0, 9.0])}


def test_per_column_in_one_pass_and_an_empty_column(session: Session) -> None:
    values = select(
        union_all(
            *(
                select(
                    cast(literal(float(v)), Float).label("x"),
                    cast(null(), Float).label("y"),
                    cast(literal(float(-v)), Float).label("z"),
                )
                for v in (5, 1, 3)
            )
        ).subquery()
    )
    assert column_percentiles(session, values, (0.5,)) == [
        (3, [3.0]),
        (0, [None]),
        (3, [-3.0]),
    ]
