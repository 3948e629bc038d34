"""The survey link: signed, single use, expiring; an unhappy answer reopens the case at
high priority and stays high when the queue is re-scored (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor.config import ReportsSettings, ScoringSettings, SurveySettings
from monitor.models import CaseStatus, Event, Survey
from monitor.priority.service import rescore_cases
from monitor.reports import surveys
from tests.factories import T0
from tests.factories.cases import make_case
from tests.factories.staff import make_staff

SECRET = "survey-test-secret-" + "y" * 32
SETTINGS = ReportsSettings()
SCORING = ScoringSettings()


def answer(session, token, rating, *, now=T0 + timedelta(hours=1), comment=""):
    return surveys.answer(
        session,
        token,
        rating=rating,
        comment=comment,
        secret=SECRET,
        settings=SETTINGS,
        scoring=SCORING,
        now=now,
    )


def resolved_case(session):
    staff = make_staff(session, "ana")
    case = make_case(session, status=CaseStatus.RESOLVED, waiting_since=None, score=5, band="low")
    case.resolved_at = T0
    return staff, case


def test_a_happy_answer_lands_on_the_case_once(session) -> None:
    staff, case = resolved_case(session)
    survey, token = surveys.make_link(
        session, case, staff=staff, secret=SECRET, settings=SETTINGS, now=T0
    )
    assert survey.expires_at == T0 + timedelta(hours=168)
    assert token not in survey.token_hash and len(survey.token_hash) == 64
    got = answer(session, token, 5, comment="  all sorted, thanks  ")
    assert (got.rating, got.comment) == (5, "all sorted, thanks")
    assert case.status == CaseStatus.RESOLVED
    with pytest.raises(surveys.SurveyUsed):
        answer(session, token, 1)
    assert session.get(Survey, survey.id).rating == 5


def test_an_unhappy_answer_reopens_at_high_priority(session, scorer) -> None:
    staff, case = resolved_case(session)
    _, token = surveys.make_link(
        session, case, staff=staff, secret=SECRET, settings=SETTINGS, now=T0
    )
    later = T0 + timedelta(hours=3)
    answer(session, token, 2, now=later, comment="still broken")
    assert case.status == CaseStatus.OPEN and case.resolved_at is None
    assert case.first_unanswered_at == later
    assert case.band in ("high", "critical") and case.score >= SCORING.band_high
    assert any("survey answer 2/5" in r for r in case.reasons)
    kinds = session.scalars(select(Event.kind).where(Event.case_id == case.id)).all()
    assert "case.reopened" in kinds and "survey.answered" in kinds
    rescore_cases(session, [case], scorer=scorer, now=later + timedelta(hours=1))
    assert case.band in ("high", "critical")  # the re-scoring job keeps it up


def test_bad_expired_and_switched_off_links_are_refused(session) -> None:
    staff, case = resolved_case(session)
    survey, token = surveys.make_link(
        session, case, staff=staff, secret=SECRET, settings=SETTINGS, now=T0
    )
    with pytest.raises(surveys.SurveyInvalid):
        answer(session, token[:-2] + "xx", 4)  # altered: the signature fails
    with pytest.raises(surveys.SurveyInvalid):
        surveys.answer(
            session,
            token,
            rating=4,
            comment="",
            secret="another-secret" * 3,
            settings=SETTINGS,
            scoring=SCORING,
            now=T0,
        )
    with pytest.raises(surveys.SurveyExpired):
        answer(session, token, 4, now=survey.expires_at)
    with pytest.raises(surveys.SurveyError, match="1 to 5"):
        answer(session, token, 6)
    off = ReportsSettings(survey=SurveySettings(enabled=False))
    with pytest.raises(surveys.SurveyError, match="switched off"):
        surveys.make_link(session, case, staff=staff, secret=SECRET, settings=off, now=T0)
    assert session.get(Survey, survey.id).answered_at is None
