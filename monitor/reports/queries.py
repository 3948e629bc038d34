"""Figures on cases, each computed by SQL: volume and recurrence, customer outcome.

Every function takes the period and filters and returns :class:`Table` rows; the
promise, stage and agent figures live in :mod:`promise_figures` and
:mod:`stage_figures`. A case belongs to the period it was opened in (``created_at``),
a resolution to the period it was resolved in, a survey answer to when it was given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session, aliased

from monitor.config import ReportsSettings
from monitor.events import EventKind
from monitor.models import Case, Survey
from monitor.reports.period import Filters, Period
from monitor.reports.sql import bucket_of, case_filters, has_event, in_period, seconds
from monitor.reports.tables import Table

NONE = "(none)"
AGAIN_DAYS = 30


def _opened(period: Period, f: Filters) -> list[ColumnElement[bool]]:
    return [in_period(Case.created_at, period.start, period.end), *case_filters(f)]


def _by_cause(session: Session, period: Period, f: Filters) -> dict[str, int]:
    rows = session.execute(
        select(Case.cause, func.count()).where(*_opened(period, f)).group_by(Case.cause)
    ).all()
    return {(c or NONE): int(n) for c, n in rows}


def cause_labels(settings: ReportsSettings) -> dict[str, str]:
    return {c.name: c.title for c in settings.causes} | {NONE: "No cause yet"}


def volume(
    session: Session, period: Period, f: Filters, *, settings: ReportsSettings, now: datetime
) -> list[Table]:
    labels = cause_labels(settings)
    counts = _slot_counts(session, period, f)
    now_counts: dict[str, int] = {}
    for (_, c), n in counts.items():  # the period's causes from the per-day counts
        now_counts[c] = now_counts.get(c, 0) + n
    before = _by_cause(session, period.previous(), f)
    causes = sorted(set(now_counts) | set(before), key=lambda c: (-now_counts.get(c, 0), c))
    by_cause: list[list[Any]] = [
        [
            labels.get(c, c),
            now_counts.get(c, 0),
            before.get(c, 0),
            now_counts.get(c, 0) - before.get(c, 0),
        ]
        for c in causes
    ]
    rising = sorted((r for r in by_cause if r[3] > 0), key=lambda r: (-r[3], r[0]))[:5]
    cause_cols = [
        ("cause", "Cause"),
        ("cases", "Cases"),
        ("previous", "Previous period"),
        ("change", "Change"),
    ]
    return [
        over_time(period, counts, labels=labels),
        Table(
            "by_cause", "Complaints by cause", cause_cols, by_cause, chart="bar", series=["cases"]
        ),
        Table(
            "rising",
            "Top rising causes against the previous period",
            cause_cols,
            rising,
            chart="bar",
            series=["change"],
        ),
        recurrence(session, period, f),
    ]


def _slot_counts(session: Session, period: Period, f: Filters) -> dict[tuple[int, str], int]:
    """Cases opened, per (bucket index, cause)."""
    slot = bucket_of(Case.created_at, period.buckets()).label("slot")
    rows = session.execute(
        select(slot, Case.cause, func.count()).where(*_opened(period, f)).group_by(slot, Case.cause)
    ).all()
    return {(int(s), c or NONE): int(n) for s, c, n in rows}


def over_time(
    period: Period, counts: dict[tuple[int, str], int], *, labels: dict[str, str]
) -> Table:
    buckets = period.buckets()
    causes = sorted({c for _, c in counts})
    table_rows: list[list[Any]] = []
    for i, b in enumerate(buckets):
        values = [counts.get((i, c), 0) for c in causes]
        table_rows.append([b.label, *values, sum(values)])
    columns = [
        (period.unit, period.unit.capitalize()),
        *[(c, labels.get(c, c)) for c in causes],
        ("total", "Total"),
    ]
    return Table(
        "over_time",
        f"Complaints by cause, per {period.unit}",
        columns,
        table_rows,
        chart="line",
        series=causes or ["total"],
    )


def recurrence(session: Session, period: Period, f: Filters) -> Table:
    opened = _opened(period, f)

    cases, customers = session.execute(
        select(func.count(), func.count(func.distinct(Case.customer_id))).where(*opened)
    ).one()
    repeaters = session.scalar(
        select(func.count()).select_from(
            select(Case.customer_id)
            .where(*opened)
            .group_by(Case.customer_id)
            .having(func.count() >= 2)
            .subquery()
        )
    )

    # Separate statements: an EXISTS in the WHERE clause is a semi-join (one pass over
    # the events of that kind), where a CASE over it is a subplan per case on PostgreSQL.
    reopened = session.scalar(
        select(func.count()).where(*opened, has_event(EventKind.CASE_REOPENED))
    )
    hopped = session.scalar(select(func.count()).where(*opened, has_event(EventKind.CHANNEL_HOP)))

    def rate(n: int | None) -> float | None:
        return round(100.0 * (n or 0) / cases, 1) if cases else None

    rows: list[list[Any]] = [
        ["Cases opened", int(cases), None],
        ["Customers", int(customers), None],
        ["Repeat complainers (2+ cases)", int(repeaters or 0), None],
        ["Cases reopened", int(reopened or 0), rate(reopened)],
        ["Cases that hopped channel", int(hopped or 0), rate(hopped)],
    ]
    columns = [("measure", "Measure"), ("value", "Value"), ("percent", "% of cases")]
    return Table("recurrence", "Volume and recurrence", columns, rows)


def outcome(
    session: Session, period: Period, f: Filters, *, settings: ReportsSettings, now: datetime
) -> list[Table]:
    answered = [
        in_period(Survey.answered_at, period.start, period.end),
        Survey.case_id == Case.id,
        *case_filters(f),
    ]
    by_rating = dict(
        session.execute(
            select(Survey.rating, func.count()).where(*answered).group_by(Survey.rating)
        )
        .tuples()
        .all()
    )
    ratings = Table(
        "satisfaction",
        "Satisfaction after resolution (1 very unhappy … 5 very happy)",
        [("rating", "Answer"), ("answers", "Answers")],
        [[r, int(by_rating.get(r, 0))] for r in range(1, 6)],
        chart="bar",
    )
    return [ratings, _outcome_summary(session, period, f, settings, by_rating)]


def _outcome_summary(
    session: Session,
    period: Period,
    f: Filters,
    settings: ReportsSettings,
    by_rating: dict[int | None, int],
) -> Table:
    sent = session.scalar(
        select(func.count()).where(
            in_period(Survey.created_at, period.start, period.end),
            Survey.case_id == Case.id,
            *case_filters(f),
        )
    )
    n = sum(by_rating.values())
    total = sum((r or 0) * k for r, k in by_rating.items())
    unhappy = sum(
        k
        for r, k in by_rating.items()
        if r is not None and r <= settings.survey.unhappy_at_or_below
    )
    happy = sum(k for r, k in by_rating.items() if r is not None and r >= 4)
    resolved = [in_period(Case.resolved_at, period.start, period.end), *case_filters(f)]
    n_resolved, again = _complained_again(session, resolved)

    def pct(k: int, of: int) -> float | None:
        return round(100.0 * k / of, 1) if of else None

    rows: list[list[Any]] = [
        ["Surveys sent", int(sent or 0), None],
        ["Surveys answered", n, pct(n, int(sent or 0))],
        ["Average answer (1-5)", round(total / n, 2) if n else None, None],
        ["Happy (4 or 5)", happy, pct(happy, n)],
        ["Unhappy (reopened)", unhappy, pct(unhappy, n)],
        ["Cases resolved", n_resolved, None],
        [f"Complained again within {AGAIN_DAYS} days", again, pct(again, n_resolved)],
    ]
    columns = [("measure", "Measure"), ("value", "Value"), ("percent", "%")]
    return Table("outcome", "Customer outcome", columns, rows)


def _complained_again(session: Session, resolved: list[ColumnElement[bool]]) -> tuple[int, int]:
    """Cases resolved, and how many of them saw their customer open another case within
    30 days after the resolution."""
    later = aliased(Case)
    gap = seconds(session, later.created_at, Case.resolved_at)
    # Opened after the resolution, so never the case itself (which was opened before).
    again = exists().where(
        later.customer_id == Case.customer_id,
        later.created_at > Case.resolved_at,
        gap <= AGAIN_DAYS * 86400,
    )
    n, k = session.execute(
        select(func.count(), func.coalesce(func.sum(case((again, 1), else_=0)), 0)).where(*resolved)
    ).one()
    return int(n), int(k)
