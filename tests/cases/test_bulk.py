"""Bulk actions from the queue: resolving many cases is all or nothing, by the single-case
rules (someone else's claim refuses the lot, naming the case), with a history event and a
check-in task per case; tags, cause and incidents in bulk keep to the same shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import bulk
from monitor.cases import service as queue
from monitor.events import EventKind
from monitor.incidents import service as incidents
from monitor.models import CaseStatus, Event, Promise, Role
from monitor.reports import service as reports
from monitor.reports.service import ReportsError
from monitor.reports.service import tags_of as tags
from tests.factories import T0, later
from tests.factories.cases import make_case
from tests.factories.staff import make_staff
from tests.fixtures.web import web_settings

TIMEOUT = timedelta(minutes=15)


def events_of(session: Session, kind: str) -> list[Event]:
    session.flush()
    return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_resolve_many_is_all_or_nothing_by_the_claim(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    lena = make_staff(session, "lena", role=Role.LEAD)
    a, b, c = make_case(session), make_case(session), make_case(session)
    queue.claim(session, b.id, staff=bob, now=T0, timeout=TIMEOUT)
    for who in (alice, lena):  # a lead too, as for one case, until they take it over
        with pytest.raises(queue.ClaimConflict, match=f"case {b.id} is claimed by bob"):
            bulk.resolve_many(session, [a.id, b.id, c.id], by=who, now=later(1))
    assert {x.status for x in (a, b, c)} == {CaseStatus.OPEN}
    assert events_of(session, EventKind.STAGE_CHANGED) == []
    with pytest.raises(queue.CaseNotFound, match="no case with id 999999"):
        bulk.resolve_many(session, [a.id, 999999], by=alice, now=later(1))
    with pytest.raises(queue.CaseNotFound, match=f"no case with id {2**70}"):
        bulk.resolve_many(session, [a.id, 2**70], by=alice, now=later(1))  # beyond 64 bits
    with pytest.raises(queue.QueueError, match="at least one"):
        bulk.resolve_many(session, [], by=alice, now=later(1))
    assert a.status == CaseStatus.OPEN
    # Bob's own claim does not stop him; once a claim has expired it stops nobody.
    assert bulk.resolve_many(session, [b.id, a.id], by=bob, now=later(2)) == [b.id, a.id]
    queue.claim(session, c.id, staff=bob, now=later(2), timeout=TIMEOUT)
    resolved = bulk.resolve_many(session, [a.id, c.id, c.id], by=alice, now=later(20))
    assert resolved == [c.id]  # a was resolved already: left as it was, not counted
    stages = events_of(session, EventKind.STAGE_CHANGED)
    assert [(e.case_id, e.actor, e.payload["stage"]) for e in stages] == [
        (b.id, "bob", "resolved"),
        (a.id, "bob", "resolved"),
        (c.id, "alice", "resolved"),
    ]
    assert b.claimed_by_id is None and c.claimed_by_id is None and c.resolved_at == later(20)


def test_resolve_many_gives_each_case_its_check_in(session: Session) -> None:
    alice = make_staff(session, "alice")
    a, b = make_case(session), make_case(session)
    bulk.resolve_many(session, [a.id, b.id], by=alice, now=T0, check_in_after=timedelta(hours=24))
    session.flush()
    tasks = session.scalars(select(Promise).order_by(Promise.case_id)).all()
    assert [(t.case_id, t.kind, t.owner_id, t.due_at) for t in tasks] == [
        (a.id, "check_in", alice.id, later(hours=24)),
        (b.id, "check_in", alice.id, later(hours=24)),
    ]


def test_tags_cause_and_incident_in_bulk_are_all_or_nothing(session: Session) -> None:
    alice = make_staff(session, "alice")
    settings = web_settings().settings.reports
    a, b = make_case(session), make_case(session)
    with pytest.raises(ReportsError, match="unknown cause"):
        reports.retag(
            session, [a.id, b.id], add=["ios-17"], cause="nope", staff=alice,
            settings=settings, now=T0,
        )  # fmt: skip
    assert tags(session, a.id) == [] and a.cause is None
    cause = settings.causes[0].name
    reports.retag(
        session, [a.id, b.id], add=["ios-17"], cause=cause, staff=alice, settings=settings, now=T0
    )
    assert tags(session, a.id) == tags(session, b.id) == ["ios-17"]
    assert [e.case_id for e in events_of(session, reports.TAGGED)] == [a.id, b.id]
    assert [e.case_id for e in events_of(session, reports.CAUSE_SET)] == [a.id, b.id]
    inc = incidents.declare(session, title="Login fails", staff=alice, now=T0)
    with pytest.raises(incidents.IncidentNotFound, match="no case 999999"):
        incidents.attach(session, inc, [a.id, 999999], staff=alice, now=T0, how="bulk")
    assert events_of(session, incidents.IncidentEvent.CASE_ATTACHED) == []
    assert incidents.attach(session, inc, [a.id, b.id], staff=alice, now=T0, how="bulk") == [
        a.id,
        b.id,
    ]
    attached = events_of(session, incidents.IncidentEvent.CASE_ATTACHED)
    assert [(e.case_id, e.payload["how"]) for e in attached] == [(a.id, "bulk"), (b.id, "bulk")]
