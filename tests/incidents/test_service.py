"""Declaring an incident, attaching cases, status changes and the tasks they set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.incidents import service as incidents
from monitor.models import Event, IncidentState, Promise, PromiseState, Role, Staff
from monitor.replies import outcomes
from monitor.replies.service import queue_reply
from responders.base import Delivery
from tests.factories import T0, later
from tests.factories.cases import make_case
from tests.factories.replies import APOLOGY, POLICY, seed
from tests.factories.staff import make_staff


def test_declare_attach_is_idempotent_and_recorded_on_each_case(session: Session) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    a, b = make_case(session, customer="Ana"), make_case(session, customer="Ben")
    inc = incidents.declare(
        session,
        title="Login crash (E503)",
        status_text="Logins fail on the mobile app.",
        workaround="Log in on the website meanwhile.",
        terms=["E503", " e503 ", "log in"],
        staff=lead,
        now=T0,
    )
    assert inc.state == IncidentState.INVESTIGATING and inc.terms == ["E503", "log in"]
    assert incidents.attach(session, inc, [a.id, b.id, a.id], staff=lead, now=T0, how="bulk") == [
        a.id,
        b.id,
    ]
    assert incidents.attach(session, inc, [a.id], staff=lead, now=later(1)) == []
    kinds = session.scalars(select(Event.kind).where(Event.case_id == a.id)).all()
    assert kinds.count(incidents.IncidentEvent.CASE_ATTACHED) == 1
    with pytest.raises(incidents.IncidentNotFound):
        incidents.attach(session, inc, [999_999], staff=lead, now=T0)
    with pytest.raises(incidents.IncidentError):
        incidents.declare(session, title="  ", staff=lead, now=T0)
    with pytest.raises(incidents.IncidentError):
        incidents.update(session, inc, state="fixed", staff=lead, now=T0)


def tasks(session: Session, kind: str) -> list[Promise]:
    return list(session.scalars(select(Promise).where(Promise.kind == kind).order_by(Promise.id)))


def test_status_change_sets_one_follow_up_per_case_and_resolution_check_ins(
    session: Session,
) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    cases = [make_case(session, customer=f"C{i}") for i in range(3)]
    inc = incidents.declare(session, title="Login crash", staff=lead, now=T0)
    incidents.attach(session, inc, [c.id for c in cases], staff=lead, now=T0)
    # Editing the workaround alone is not a status change: nobody needs telling.
    change = incidents.update(session, inc, workaround="Use the website.", staff=lead, now=T0)
    assert not change.status_changed and change.tasks == []
    change = incidents.update(session, inc, state="identified", staff=lead, now=later(10))
    assert change.status_changed and len(change.tasks) == 3
    ups = tasks(session, "incident_update")
    assert {p.case_id for p in ups} == {c.id for c in cases}
    assert all(p.due_at == later(10) + timedelta(hours=4) and p.owner_id == lead.id for p in ups)
    assert "now identified" in ups[0].wording
    # A second change before anyone was told re-words the same task, no second one.
    incidents.update(session, inc, status_text="Fix rolling out.", staff=lead, now=later(20))
    ups = tasks(session, "incident_update")
    assert len(ups) == 3 and "Fix rolling out." in ups[0].wording
    change = incidents.update(session, inc, state="resolved", staff=lead, now=later(30))
    assert inc.resolved_at == later(30)
    checks = tasks(session, "check_in")
    assert len(checks) == 3 and all(p.state == PromiseState.OPEN for p in checks)
    assert all(p.due_at == later(30) + timedelta(hours=24) for p in checks)
    # The unsent updates are superseded by the check-ins, not left to escalate.
    assert all(p.state == PromiseState.CANCELLED for p in tasks(session, "incident_update"))
    with pytest.raises(incidents.IncidentError):
        incidents.attach(session, inc, [cases[0].id], staff=lead, now=later(31))


def test_a_reply_sent_on_the_case_keeps_its_incident_task(session: Session) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    told, waiting = make_case(session, customer="Ana"), make_case(session, customer="Ben")
    inc = incidents.declare(session, title="Login crash", staff=lead, now=T0)
    incidents.attach(session, inc, [told.id, waiting.id], staff=lead, now=T0)
    incidents.update(session, inc, state="identified", staff=lead, now=later(5))
    kept = incidents.heard_from_us(session, case_id=told.id, reply_id=1, now=later(6))
    assert len(kept) == 1 and kept[0].state == PromiseState.FULFILLED
    assert kept[0].evidence is not None and kept[0].evidence["reply_id"] == 1
    assert kept[0].follow_up_due_at is None  # the reply was the contact: no follow-up prompt
    states = {p.case_id: p.state for p in tasks(session, "incident_update")}
    assert states == {told.id: PromiseState.FULFILLED, waiting.id: PromiseState.OPEN}


def test_the_delivery_worker_marking_a_reply_sent_keeps_the_update_task(
    session: Session,
) -> None:
    seeded = seed(session)
    lead = session.get(Staff, seeded.lead_id)
    agent = session.get(Staff, seeded.agent_id)
    assert lead is not None and agent is not None
    inc = incidents.declare(session, title="Slack invites broken", staff=lead, now=T0)
    incidents.attach(session, inc, [seeded.case_id], staff=lead, now=T0)
    incidents.update(session, inc, state="identified", staff=lead, now=later(1))
    case = queue.get_case(session, seeded.case_id)
    queued = queue_reply(
        session, case=case, staff=agent, body=APOLOGY, channel="x",
        idempotency_key="inc-1", now=later(2), policy=POLICY,
    )  # fmt: skip
    (task,) = tasks(session, "incident_update")
    assert task.state == PromiseState.OPEN  # queued is not heard: it may still fail
    delivery = Delivery(external_id="1790000000000000999", delivered_at=later(3))
    outcomes.mark_sent(session, queued.reply, delivery, now=later(3), scorer=None)
    assert task.state == PromiseState.FULFILLED
    assert task.evidence is not None and task.evidence["reply_id"] == queued.reply.id
