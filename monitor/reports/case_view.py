"""What the case page and ``GET /api/v1/cases/{id}/cause`` show about a case's cause."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import CauseSettings, ReportsSettings
from monitor.models import Case, Survey
from monitor.reports.causes import Suggestion
from monitor.reports.service import suggestion_for, tags_of


@dataclass(frozen=True)
class CauseView:
    case_id: int
    cause: str | None
    label: str | None
    confidence: float | None
    confirmed: bool
    suggestion: Suggestion | None
    tags: list[str]
    causes: tuple[CauseSettings, ...]
    surveys: list[Survey] = field(default_factory=list)


def cause_view(session: Session, case: Case, settings: ReportsSettings) -> CauseView:
    chosen = settings.cause(case.cause) if case.cause else None
    surveys = list(
        session.scalars(select(Survey).where(Survey.case_id == case.id).order_by(Survey.id))
    )
    return CauseView(
        case_id=case.id,
        cause=case.cause,
        label=chosen.title if chosen else case.cause,
        confidence=case.cause_confidence,
        confirmed=case.cause_confirmed,
        suggestion=None if case.cause_confirmed else suggestion_for(session, case, settings),
        tags=tags_of(session, case.id),
        causes=settings.causes,
        surveys=surveys,
    )
