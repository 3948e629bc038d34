"""Recovery: how long the stages take, from the stage timestamps on cases (by SQL).

For the cases opened in the period, per stage: how many reached it, and the median and
90th percentile (nearest rank) of the time from opening to reaching it. "First
response" is the first reply sent on the case (``cases.first_reply_at``);
"acknowledged" the "listened" stage, stamped by a staff action (a mark, a note or the
first reply). Then first- and next-response target attainment
(:mod:`target_figures`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from monitor.config import ReportsSettings
from monitor.models import Case
from monitor.reports.period import Filters, Period
from monitor.reports.promise_figures import staff_names
from monitor.reports.sql import case_filters, column_percentiles, hours, in_period, seconds
from monitor.reports.tables import Table
from monitor.reports.target_figures import attainment

STAGES = (
    ("acknowledged", "Acknowledged (listened)", "listened_at"),
    ("first_response", "First response", "first_reply_at"),
    ("apologised", "Apologised", "apologised_at"),
    ("agreed", "Agreed the fix", "agreed_at"),
    ("acted", "Acted (promise kept)", "acted_at"),
    ("followed_up", "Followed up", "followed_up_at"),
    ("resolved", "Resolved", "resolved_at"),
)


def recovery(
    session: Session, period: Period, f: Filters, *, settings: ReportsSettings, now: datetime
) -> list[Table]:
    opened: list[ColumnElement[bool]] = [
        in_period(Case.created_at, period.start, period.end),
        *case_filters(f),
    ]
    # One pass over the period's cases: the wait to each stage, per stage column.
    waits = select(
        *(seconds(session, getattr(Case, col), Case.created_at).label(k) for k, _, col in STAGES)
    ).where(*opened)
    found = column_percentiles(session, waits, (0.5, 0.9))
    cases = session.scalar(select(func.count()).where(*opened)) or 0
    rows = []
    for (_, label, _), (n, (p50, p90)) in zip(STAGES, found, strict=True):
        rows.append(
            [label, n, round(100.0 * n / cases, 1) if cases else None, hours(p50), hours(p90)]
        )
    columns = [
        ("stage", "Stage"),
        ("reached", "Cases reached"),
        ("percent", "% of cases"),
        ("median_hours", "Median (hours)"),
        ("p90_hours", "90th percentile (hours)"),
    ]
    return [
        Table(
            "stages",
            "Time from first contact to each stage",
            columns,
            rows,
            chart="bar",
            series=["median_hours", "p90_hours"],
        ),
        *attainment(session, period, f, now=now, names=staff_names(session)),
    ]
