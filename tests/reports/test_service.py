"""A case's cause and tags on the database (both backends): suggestion, confirmation,
bulk tagging, the suggestion job; and the check-in a resolution starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor.cases import service as queue
from monitor.config import ReportsSettings
from monitor.models import CaseStatus, Event, Mention, Promise, Stage
from monitor.promises import service as promises
from monitor.reports import service as reports
from monitor.reports.scheduled import suggest_batch
from tests.factories import T0
from tests.factories.cases import make_case
from tests.factories.staff import make_staff

SETTINGS = ReportsSettings()


def add_text(session, case, text: str, n: int = 1) -> None:
    ident = case.customer_id
    from monitor.models import Identity

    identity = Identity(customer_id=ident, kind="email", handle=f"c{case.id}@x.test", created_at=T0)
    session.add(identity)
    session.flush()
    session.add(
        Mention(
            channel="email",
            external_id=f"m{case.id}-{n}",
            source="test",
            customer_id=case.customer_id,
            identity_id=identity.id,
            case_id=case.id,
            author="c@x.test",
            text=text,
            created_at=T0,
            received_at=T0,
            raw=b"",
        )
    )
    session.flush()


def test_suggestion_is_stored_until_staff_confirm_or_change_it(session) -> None:
    staff = make_staff(session, "ana")
    case = make_case(session)
    add_text(session, case, "I was charged twice and the refund never came")
    found = reports.store_suggestion(session, case, settings=SETTINGS, now=T0)
    assert found is not None and case.cause == "billing" and not case.cause_confirmed
    assert case.cause_confidence == pytest.approx(0.75)
    reports.set_cause(session, case, cause="delivery", staff=staff, settings=SETTINGS, now=T0)
    assert (case.cause, case.cause_confirmed, case.cause_set_by_id) == ("delivery", True, staff.id)
    assert case.cause_confidence is None
    assert reports.store_suggestion(session, case, settings=SETTINGS, now=T0) is None
    assert case.cause == "delivery"  # a suggestion never overwrites staff
    with pytest.raises(reports.UnknownCause, match="use one of: billing"):
        reports.set_cause(session, case, cause="weather", staff=staff, settings=SETTINGS, now=T0)
    kinds = session.scalars(select(Event.payload).where(Event.kind == "case.cause")).all()
    assert [k["suggested"] for k in kinds] == [True, False]


def test_a_weak_suggestion_is_not_stored(session) -> None:
    case = make_case(session)
    add_text(session, case, "the app and my refund")
    found = reports.store_suggestion(session, case, settings=SETTINGS, now=T0)
    assert found is not None and found.confidence < SETTINGS.suggest_min_confidence
    assert case.cause is None


def test_bulk_tags_add_remove_and_refuse_unknown_cases(session) -> None:
    staff = make_staff(session, "ana")
    a, b = make_case(session), make_case(session)
    n = reports.retag(
        session,
        [a.id, b.id],
        add=["iOS-17", "ios-17", "outage"],
        cause="app_crash",
        staff=staff,
        settings=SETTINGS,
        now=T0,
    )
    assert n == 2
    assert reports.tags_of(session, a.id) == ["ios-17", "outage"]
    assert b.cause == "app_crash" and b.cause_confirmed
    reports.retag(session, [a.id], remove=["outage"], staff=staff, settings=SETTINGS, now=T0)
    assert reports.tags_of(session, a.id) == ["ios-17"]
    with pytest.raises(queue.CaseNotFound, match="no case with id 1000000000"):
        reports.retag(session, [a.id, 10**9], add=["x"], staff=staff, settings=SETTINGS, now=T0)
    with pytest.raises(queue.CaseNotFound, match=f"no case with id {2**70}"):
        reports.retag(session, [a.id, 2**70], add=["x"], staff=staff, settings=SETTINGS, now=T0)
    with pytest.raises(reports.ReportsError, match="tag 'no spaces'"):
        reports.retag(session, [a.id], add=["no spaces"], staff=staff, settings=SETTINGS, now=T0)


def test_suggestion_job_fills_unresolved_cases_without_a_cause(session) -> None:
    open_case = make_case(session)
    add_text(session, open_case, "parcel never arrived, tracking says delivered")
    done = make_case(session, status=CaseStatus.RESOLVED)
    add_text(session, done, "parcel never arrived")
    last, stored = suggest_batch(session, settings=SETTINGS, now=T0, after_id=0, limit=100)
    assert stored == 1 and open_case.cause == "delivery" and done.cause is None
    assert suggest_batch(session, settings=SETTINGS, now=T0, after_id=last, limit=100) == (None, 0)


def test_resolving_starts_a_check_in_and_keeping_it_is_the_follow_up(session) -> None:
    staff = make_staff(session, "ana")
    case = make_case(session, customer="Dana")
    queue.advance_stage(
        session, case, Stage.RESOLVED, actor=staff, now=T0, check_in_after=timedelta(hours=48)
    )
    check = session.scalars(select(Promise).where(Promise.case_id == case.id)).one()
    assert (check.kind, check.owner_id, check.state) == ("check_in", staff.id, "open")
    assert check.due_at == T0 + timedelta(hours=48)
    assert "Dana" in check.wording
    later = T0 + timedelta(hours=50)
    promises.fulfil(session, check, evidence={"note": "all good"}, now=later, actor="ana")
    assert case.followed_up_at == later and case.acted_at is None
    assert check.follow_up_due_at is None and check.next_action_at is None


def test_resolving_without_check_in_after_starts_none(session) -> None:
    staff = make_staff(session, "ana")
    case = make_case(session)
    queue.advance_stage(session, case, Stage.RESOLVED, actor=staff, now=T0)
    assert session.scalars(select(Promise).where(Promise.case_id == case.id)).all() == []
