"""Job bodies: store cause suggestions on open cases that have none (each batch its own
transaction; the weekly digest lives in :mod:`monitor.reports.digest`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import ReportsSettings
from monitor.models import Case, CaseStatus
from monitor.reports.service import store_suggestion


def suggest_batch(
    session: Session, *, settings: ReportsSettings, now: datetime, after_id: int, limit: int
) -> tuple[int | None, int]:
    """Suggest causes for the next ``limit`` unresolved cases without one after ``after_id``.

    Returns (the last case id seen, or None when done; how many got a cause).
    """
    cases = list(
        session.scalars(
            select(Case)
            .where(
                Case.status.in_((CaseStatus.OPEN, CaseStatus.WAITING)),
                Case.cause.is_(None),
                Case.id > after_id,
            )
            .order_by(Case.id)
            .limit(limit)
        )
    )
    stored = 0
    for case in cases:
        found = store_suggestion(session, case, settings=settings, now=now)
        stored += case.cause is not None and found is not None
    return (cases[-1].id if cases else None), stored


def suggest_causes(
    sessions: sessionmaker[Session], *, settings: ReportsSettings, now: datetime, batch: int = 200
) -> int:
    """Every unresolved case without a cause gets the rules' suggestion, if confident."""
    total, after = 0, 0
    while True:
        with sessions.begin() as session:
            last, n = suggest_batch(
                session, settings=settings, now=now, after_id=after, limit=batch
            )
        total += n
        if last is None:
            return total
        after = last
