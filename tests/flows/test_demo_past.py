"""The demo's simulated past (both databases): four weeks of complaints worked through
by the real domain functions, so every report has figures, and nothing of it is overdue
or back on the queue when the demo starts."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.cases.queries import list_queue
from monitor.config import ReportsSettings
from monitor.demo.past import seed_past
from monitor.demo.world import ensure_staff
from monitor.models import Promise, PromiseState
from monitor.priority.service import Scorer
from monitor.reports import figures
from monitor.reports.period import Filters, Period
from tests.factories import T0


def test_the_past_populates_every_report(session: Session, scorer: Scorer) -> None:
    staff = ensure_staff(session, password="demo-password-1", now=T0)
    assert seed_past(session, run="p1", now=T0, scorer=scorer, lead=staff) == 48
    session.flush()
    period = Period(T0.date() - timedelta(days=28), date(T0.year, T0.month, T0.day))

    def table(report: str, name: str) -> list[list[object]]:
        out = figures.run(session, report, period, Filters(), settings=ReportsSettings(), now=T0)
        return next(t for t in out if t.name == name).rows

    opened = table("volume", "recurrence")[0][1]
    assert isinstance(opened, int) and opened >= 25  # returning customers join their case
    causes = {r[0] for r in table("volume", "by_cause") if r[1]}
    assert {"Billing", "Delivery", "App crash"} <= causes
    kinds = table("promises", "by_kind")
    assert sum(r[2] for r in kinds) > 0 and sum(r[4] for r in kinds) > 0  # kept, broken
    stages = {r[0]: r for r in table("recovery", "stages")}
    assert stages["Resolved"][1] > 0 and stages["Followed up"][3] is not None
    assert len(table("agents", "agents")) == 3
    assert table("outcome", "outcome")[1][1] > 0  # surveys answered
    overdue = session.scalar(
        select(func.count())
        .select_from(Promise)
        .where(Promise.state.in_((PromiseState.OPEN, PromiseState.OVERDUE)), Promise.due_at < T0)
    )
    assert overdue == 0
    assert list_queue(session, now=T0).rows == []  # the past is answered
