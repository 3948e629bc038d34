"""The reports by name: what ``/api/v1/reports/{name}`` and the console page compute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.config import ReportsSettings
from monitor.reports import promise_figures, queries, stage_figures
from monitor.reports.period import Filters, Period
from monitor.reports.sql import without_jit
from monitor.reports.tables import Table

Report = Callable[..., list[Table]]
REPORTS: dict[str, tuple[str, Report]] = {
    "volume": ("Volume and recurrence", queries.volume),
    "promises": ("Promises", promise_figures.promises),
    "recovery": ("Recovery stages", stage_figures.recovery),
    "agents": ("Per agent", promise_figures.agents),
    "outcome": ("Customer outcome", queries.outcome),
}


def run(
    session: Session,
    name: str,
    period: Period,
    filters: Filters,
    *,
    settings: ReportsSettings,
    now: datetime,
) -> list[Table]:
    """The tables of report ``name`` (KeyError for an unknown name)."""
    _, report = REPORTS[name]
    without_jit(session)
    return report(session, period, filters, settings=settings, now=now)
