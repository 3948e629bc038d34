"""The staff-side state machine: claims, expiry, take-over, stages, notes. Time is passed in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.events import EventKind
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Case, CaseStatus, Event, Role, Stage
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories import T0, later
from tests.factories.cases import make_case
from tests.factories.mentions import email
from tests.factories.staff import make_staff

TIMEOUT = timedelta(minutes=15)


def kinds(session: Session, case_id: int) -> list[str]:
    return list(
        session.scalars(select(Event.kind).where(Event.case_id == case_id).order_by(Event.id))
    )


def test_claim_then_conflict_then_expiry(session: Session) -> None:
    alice = make_staff(session, "alice")
    bob = make_staff(session, "bob")
    case = make_case(session)
    queue.claim(session, case.id, staff=alice, now=T0, timeout=TIMEOUT)
    assert case.claimed_by_id == alice.id and case.claim_expires_at == T0 + TIMEOUT
    with pytest.raises(queue.ClaimConflict) as err:
        queue.claim(session, case.id, staff=bob, now=later(5), timeout=TIMEOUT)
    assert err.value.holder_id == alice.id and err.value.holder_name == "alice"
    # Re-claiming one's own case renews it.
    queue.claim(session, case.id, staff=alice, now=later(10), timeout=TIMEOUT)
    assert case.claim_expires_at == later(10) + TIMEOUT
    # After the timeout of inactivity, someone else may claim it.
    queue.claim(session, case.id, staff=bob, now=later(10) + TIMEOUT, timeout=TIMEOUT)
    assert case.claimed_by_id == bob.id
    assert kinds(session, case.id).count(EventKind.CLAIMED) == 3


def test_touch_extends_only_a_live_claim_of_the_holder(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    case = make_case(session)
    queue.claim(session, case.id, staff=alice, now=T0, timeout=TIMEOUT)
    assert queue.touch(session, case, staff=alice, now=later(14), timeout=TIMEOUT)
    assert case.claim_expires_at == later(14) + TIMEOUT
    assert not queue.touch(session, case, staff=bob, now=later(15), timeout=TIMEOUT)
    assert not queue.touch(session, case, staff=alice, now=later(30), timeout=TIMEOUT)


def test_take_over_needs_a_lead(session: Session) -> None:
    alice = make_staff(session, "alice")
    carol = make_staff(session, "carol")
    lead = make_staff(session, "lena", role=Role.LEAD)
    case = make_case(session)
    queue.claim(session, case.id, staff=alice, now=T0, timeout=TIMEOUT)
    with pytest.raises(queue.NotAllowed):
        queue.claim(session, case.id, staff=carol, now=later(1), timeout=TIMEOUT, take_over=True)
    queue.claim(session, case.id, staff=lead, now=later(2), timeout=TIMEOUT, take_over=True)
    assert case.claimed_by_id == lead.id
    taken = session.scalars(select(Event).where(Event.kind == EventKind.CLAIM_TAKEN_OVER)).one()
    assert taken.payload["from_staff_id"] == alice.id and taken.actor == "lena"


def test_release_rules(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    lead = make_staff(session, "lena", role=Role.LEAD)
    case = make_case(session)
    queue.claim(session, case.id, staff=alice, now=T0, timeout=TIMEOUT)
    with pytest.raises(queue.ClaimConflict):
        queue.release(session, case.id, staff=bob, now=later(1))
    queue.release(session, case.id, staff=lead, now=later(1))
    assert case.claimed_by_id is None and case.claim_expires_at is None
    queue.claim(session, case.id, staff=bob, now=later(2), timeout=TIMEOUT)
    queue.release(session, case.id, staff=bob, now=later(3))
    assert case.claimed_by_id is None
    # An expired claim may be cleared by anyone.
    queue.claim(session, case.id, staff=alice, now=later(4), timeout=TIMEOUT)
    queue.release(session, case.id, staff=bob, now=later(4) + TIMEOUT)
    assert case.claimed_by_id is None
    assert kinds(session, case.id).count(EventKind.RELEASED) == 3


def test_unknown_case(session: Session) -> None:
    alice = make_staff(session, "alice")
    with pytest.raises(queue.CaseNotFound):
        queue.claim(session, 999_999, staff=alice, now=T0, timeout=TIMEOUT)


def test_stages_are_timestamped_once_and_resolve_closes(session: Session) -> None:
    alice = make_staff(session, "alice")
    case = make_case(session)
    assert queue.advance_stage(session, case, Stage.APOLOGISED, actor=alice, now=later(1))
    assert not queue.advance_stage(session, case, "apologised", actor=alice, now=later(2))
    assert case.apologised_at == later(1)
    queue.claim(session, case.id, staff=alice, now=later(3), timeout=TIMEOUT)
    assert queue.advance_stage(session, case, Stage.RESOLVED, actor=alice, now=later(4))
    assert case.status == CaseStatus.RESOLVED and case.resolved_at == later(4)
    assert case.claimed_by_id is None
    stage_events = [
        e.payload["stage"]
        for e in session.scalars(select(Event).where(Event.kind == EventKind.STAGE_CHANGED))
    ]
    assert stage_events == ["apologised", "resolved"]
    with pytest.raises(ValueError):
        queue.advance_stage(session, case, "teleported", actor=alice, now=later(5))


def test_stage_change_refused_while_someone_else_holds_the_case(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    case = make_case(session)
    queue.claim(session, case.id, staff=alice, now=T0, timeout=TIMEOUT)
    with pytest.raises(queue.ClaimConflict):
        queue.advance_stage(session, case, Stage.AGREED, actor=bob, now=later(1))
    assert case.agreed_at is None


def test_a_note_marks_listened(session: Session) -> None:
    alice = make_staff(session, "alice")
    case = make_case(session)
    queue.add_note(session, case, staff=alice, text="Courier lost it.", now=later(2))
    assert case.listened_at == later(2)
    queue.add_note(session, case, staff=alice, text="Refund asked.", now=later(3))
    assert case.listened_at == later(2)  # the first time counts


def test_agreed_records_what_was_agreed(session: Session) -> None:
    alice = make_staff(session, "alice")
    case = make_case(session)
    with pytest.raises(queue.QueueError, match="what was agreed"):
        queue.advance_stage(session, case, Stage.AGREED, actor=alice, now=T0, text="  ")
    assert case.agreed_at is None
    queue.advance_stage(
        session, case, Stage.AGREED, actor=alice, now=later(1), text=" a refund of $49.99 "
    )
    assert case.agreed_at == later(1) and case.agreed_text == "a refund of $49.99"
    event = session.scalars(select(Event).where(Event.kind == EventKind.STAGE_CHANGED)).one()
    assert event.payload["text"] == "a refund of $49.99"


def test_stage_durations_from_the_first_contact(session: Session) -> None:
    alice = make_staff(session, "alice")
    case = make_case(session)
    queue.add_note(session, case, staff=alice, text="on it", now=later(20))
    queue.advance_stage(session, case, Stage.APOLOGISED, actor=alice, now=later(90))
    durations = {s: d for s, _, d in queue.stage_durations(case, first_contact=later(-10))}
    assert durations[Stage.LISTENED] == timedelta(minutes=30)
    assert durations[Stage.APOLOGISED] == timedelta(minutes=100)
    assert durations[Stage.AGREED] is None


def test_resolving_ends_the_assignment_and_the_target(session: Session) -> None:
    alice = make_staff(session, "alice")
    case = make_case(session)
    case.assignee_id, case.assigned_at, case.sla_due_at, case.sla_kind = (
        alice.id,
        T0,
        later(5),
        "first",
    )
    queue.advance_stage(session, case, Stage.RESOLVED, actor=alice, now=later(1))
    assert case.assignee_id is None and case.sla_due_at is None and case.sla_kind is None


def test_notes(session: Session) -> None:
    alice = make_staff(session, "alice")
    case = make_case(session)
    note = queue.add_note(session, case, staff=alice, text="  Called the courier.  ", now=T0)
    assert note.payload["text"] == "Called the courier." and note.kind == EventKind.NOTE_ADDED
    with pytest.raises(queue.QueueError):
        queue.add_note(session, case, staff=alice, text="   ", now=T0)


def test_a_customer_reopening_clears_the_later_stages(session: Session, scorer: Scorer) -> None:
    alice = make_staff(session, "alice")
    first = Batch(mentions=[email("o1@x", "My order never came.")], next_cursor={"n": 1})
    ingest_batch(session, first, source="t", now=later(1), scorer=scorer, options=IngestOptions())
    case = session.scalars(select(Case)).one()
    for stage, text in ((Stage.LISTENED, None), (Stage.AGREED, "resend it"), (Stage.ACTED, None)):
        queue.advance_stage(session, case, stage, actor=alice, now=later(5), text=text)
    queue.advance_stage(session, case, Stage.RESOLVED, actor=alice, now=later(9))
    session.flush()
    again = Batch(
        mentions=[email("o2@x", "It still has not come.", at=later(60), in_reply_to="o1@x")],
        next_cursor={"n": 2},
    )
    ingest_batch(session, again, source="t", now=later(61), scorer=scorer, options=IngestOptions())
    session.refresh(case)
    assert case.status == CaseStatus.OPEN and case.resolved_at is None
    assert case.listened_at == later(5)  # what staff did for the customer stays
    assert case.agreed_at is None and case.agreed_text is None and case.acted_at is None
    assert EventKind.CASE_REOPENED in kinds(session, case.id)


def test_claim_covers_is_the_one_table_ensure_may_act_enforces(session) -> None:
    from datetime import timedelta

    from monitor.cases.service import CLAIM_COVERS, Action, ClaimConflict, claim, ensure_may_act
    from monitor.models import Role
    from tests.factories import T0
    from tests.factories.cases import make_case
    from tests.factories.staff import make_staff

    holder, other = make_staff(session, "lee", role=Role.LEAD), make_staff(session, "al")
    case = make_case(session)
    claim(session, case.id, staff=holder, now=T0, timeout=timedelta(minutes=15))
    assert set(CLAIM_COVERS) == set(Action)
    for action, covered in CLAIM_COVERS.items():
        ensure_may_act(session, case, staff=holder, action=action, now=T0)  # the holder may
        if covered:
            with pytest.raises(ClaimConflict, match="claimed by lee"):
                ensure_may_act(session, case, staff=other, action=action, now=T0)
        else:
            ensure_may_act(session, case, staff=other, action=action, now=T0)
        # once the claim lapses, anyone may
        ensure_may_act(session, case, staff=other, action=action, now=T0 + timedelta(hours=1))
    assert CLAIM_COVERS[Action.PROMISE] and CLAIM_COVERS[Action.LINK]
    assert not CLAIM_COVERS[Action.NOTE]
