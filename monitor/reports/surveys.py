"""The satisfaction survey: a signed, single-use, expiring link; its answer on the case.

Staff make a link after the check-in (case page or API) and put it in their own message
on the customer's channel: nothing is sent automatically. The link carries a random
token signed with the server secret (itsdangerous), so a guessed or altered token is
refused before the database is asked; only the token's SHA-256 is stored. It works
until ``expires_at`` and only once: the answer is written by one conditional UPDATE
(``... WHERE answered_at IS NULL``), so two submissions racing cannot both count.

An answer at or below ``reports.survey.unhappy_at_or_below`` reopens the case at high
priority: back on the open queue, waiting since the answer, with the answer as the
unanswered contact that the score reads (a "disapproval" text part plus a cue naming
the survey, enough for the high band), so the re-scoring job keeps it there until
staff answer.

Errors (the web layer shows each as a page for the customer)::

    SurveyError        ReportsError; message is customer-facing
    ├── SurveyInvalid  not a link we made (bad signature or unknown token)
    ├── SurveyExpired  past its time
    └── SurveyUsed     already answered
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from monitor import events
from monitor.config import ReportsSettings, ScoringSettings
from monitor.models import Case, CaseStatus, Customer, Staff, Survey
from monitor.priority.service import apply, context_for, overdue_promises
from monitor.reports.service import ReportsError
from monitor.scoring import TextScore, combine
from monitor.scoring.text_model import text_points

SALT = "complaint-monitor.survey"
MAX_COMMENT = 4000
SURVEY_SENT = "survey.created"
SURVEY_ANSWERED = "survey.answered"


class SurveyError(ReportsError):
    pass


class SurveyInvalid(SurveyError):
    pass


class SurveyExpired(SurveyError):
    pass


class SurveyUsed(SurveyError):
    pass


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def make_link(
    session: Session,
    case: Case,
    *,
    staff: Staff | None,
    secret: str,
    settings: ReportsSettings,
    now: datetime,
    check_in_id: int | None = None,
) -> tuple[Survey, str]:
    """A new survey for the case's customer; returns it and the token for its URL."""
    if not settings.survey.enabled:
        raise SurveyError("surveys are switched off (reports.survey.enabled)")
    raw = secrets.token_urlsafe(24)
    token = URLSafeSerializer(secret, salt=SALT).dumps(raw)
    survey = Survey(
        case_id=case.id,
        customer_id=case.customer_id,
        check_in_id=check_in_id,
        created_by_id=staff.id if staff else None,
        token_hash=_digest(raw),
        channel=case.channel,
        created_at=now,
        expires_at=now + timedelta(hours=settings.survey.expires_hours),
    )
    session.add(survey)
    session.flush()
    events.append(
        session,
        SURVEY_SENT,
        now=now,
        case_id=case.id,
        actor=staff.name if staff else "system",
        payload={"survey_id": survey.id, "expires_at": survey.expires_at.isoformat()},
    )
    return survey, token


def find(session: Session, token: str, *, secret: str, now: datetime) -> Survey:
    """The open survey behind a link (raises SurveyInvalid, SurveyExpired, SurveyUsed)."""
    try:
        raw = URLSafeSerializer(secret, salt=SALT).loads(token)
    except BadSignature:
        raise SurveyInvalid("This link is not valid.") from None
    survey = session.scalar(select(Survey).where(Survey.token_hash == _digest(str(raw))))
    if survey is None:
        raise SurveyInvalid("This link is not valid.")
    if survey.answered_at is not None:
        raise SurveyUsed("Thank you: this survey has been answered already.")
    if now >= survey.expires_at:
        raise SurveyExpired("This survey link has expired.")
    return survey


def answer(
    session: Session,
    token: str,
    *,
    rating: int,
    comment: str,
    secret: str,
    settings: ReportsSettings,
    scoring: ScoringSettings,
    now: datetime,
) -> Survey:
    """Record the answer once; an unhappy one reopens the case at high priority."""
    if not 1 <= rating <= 5:
        raise SurveyError("Please choose an answer from 1 to 5.")
    survey = find(session, token, secret=secret, now=now)
    text = comment.strip()[:MAX_COMMENT] or None
    won = session.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.answered_at.is_(None))
        .values(answered_at=now, rating=rating, comment=text)
        .execution_options(synchronize_session=False)
    )
    if not (isinstance(won, CursorResult) and won.rowcount == 1):
        raise SurveyUsed("Thank you: this survey has been answered already.")
    session.refresh(survey)
    unhappy = rating <= settings.survey.unhappy_at_or_below
    events.append(
        session,
        SURVEY_ANSWERED,
        now=now,
        case_id=survey.case_id,
        actor="customer",
        payload={"survey_id": survey.id, "rating": rating, "comment": text, "unhappy": unhappy},
    )
    if unhappy:
        reopen_unhappy(session, survey.case_id, rating=rating, scoring=scoring, now=now)
    return survey


def unhappy_text_part(rating: int, scoring: ScoringSettings) -> dict[str, object]:
    """What the score reads for an unhappy answer: enough for the high band by itself."""
    points = text_points(1.0, 2.0)
    cue = max(10, scoring.band_high - points + 5)
    part = TextScore(
        complaint=1.0,
        severity=2.0,
        label="disapproval",
        points=points,
        cues=((f"unhappy after resolution: survey answer {rating}/5", cue),),
    )
    return part.to_dict()


def reopen_unhappy(
    session: Session, case_id: int, *, rating: int, scoring: ScoringSettings, now: datetime
) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise SurveyInvalid("This link is not valid.")
    was = case.status
    case.status, case.resolved_at = CaseStatus.OPEN, None
    case.first_unanswered_at = now
    case.unanswered_count += 1
    case.text_score = unhappy_text_part(rating, scoring)
    case.updated_at = now
    customer = session.get(Customer, case.customer_id)
    overdue = overdue_promises(session, [case.customer_id], now=now).get(case.customer_id, ())
    ctx = context_for(
        case, now=now, customer_value=customer.value if customer else 0.0, overdue=overdue
    )
    apply(case, combine(TextScore.from_dict(case.text_score), ctx, scoring))
    if was == CaseStatus.RESOLVED:
        events.append(
            session,
            events.EventKind.CASE_REOPENED,
            now=now,
            case_id=case.id,
            payload={"by": "survey", "rating": rating},
        )
    events.append(
        session,
        events.EventKind.SCORE_CHANGED,
        now=now,
        case_id=case.id,
        payload={"score": case.score, "band": case.band, "reasons": case.reasons},
    )
    return case
