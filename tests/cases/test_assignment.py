"""Lasting ownership: assign, hand over with a note, bulk all-or-nothing, round robin."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import assignment
from monitor.cases import service as queue
from monitor.cases.queries import QueueFilter, list_queue
from monitor.events import EventKind
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Case, Event, Role, Stage
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories import T0, later
from tests.factories.cases import make_case
from tests.factories.mentions import email
from tests.factories.staff import make_staff


def test_handover_rules_and_history(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    lena = make_staff(session, "lena", role=Role.LEAD)
    case = make_case(session)
    assert assignment.assign(session, case, to=alice, by=bob, now=T0)  # give it to a colleague
    assert not assignment.assign(session, case, to=alice, by=alice, now=later(1))  # no change
    with pytest.raises(queue.NotAllowed):
        assignment.assign(session, case, to=bob, by=bob, now=later(2))  # not bob's to take
    assignment.assign(session, case, to=bob, by=alice, now=later(3), note=" he knows them ")
    assert case.assignee_id == bob.id and case.assigned_at == later(3)
    assignment.assign(session, case, to=None, by=lena, now=later(4))  # a lead may unassign
    assert case.assignee_id is None and case.assigned_at is None
    payloads = [
        e.payload for e in session.scalars(select(Event).where(Event.kind == EventKind.ASSIGNED))
    ]
    assert [p["to"] for p in payloads] == ["alice", "bob", None]
    assert payloads[1]["from"] == "alice" and payloads[1]["note"] == "he knows them"
    bob.active = False
    with pytest.raises(queue.QueueError, match="deactivated"):
        assignment.assign(session, case, to=bob, by=alice, now=later(5))


def test_bulk_is_all_or_nothing_and_mine_shows_what_i_own(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    a, b = make_case(session), make_case(session)
    assignment.assign(session, b, to=bob, by=bob, now=T0)
    with pytest.raises(queue.NotAllowed):
        assignment.assign_many(session, [a.id, b.id], to=alice, by=alice, now=later(1))
    assert a.assignee_id is None  # nothing changed: the refusal came before any change
    assignment.assign(session, b, to=None, by=bob, now=later(1))
    changed = assignment.assign_many(session, [a.id, b.id, a.id], to=alice, by=alice, now=T0)
    assert changed == [a.id, b.id]
    mine = list_queue(session, now=later(1), filters=QueueFilter(claimed="mine", staff_id=alice.id))
    assert {r.case_id for r in mine.rows} == {a.id, b.id}
    assert all(r.assignee == "alice" for r in mine.rows)
    queue.claim(session, a.id, staff=bob, now=later(1), timeout=later(20) - later(1))
    row = next(r for r in list_queue(session, now=later(2)).rows if r.case_id == a.id)
    assert row.assignee == "alice" and row.claimed_by == "bob"  # owner and lock are separate
    queue.advance_stage(session, a, Stage.RESOLVED, actor=bob, now=later(3))
    assert a.assignee_id is None  # resolving ends the ownership


def test_round_robin_spreads_new_cases(session: Session, scorer: Scorer) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    make_staff(session, "root", role=Role.ADMIN)  # admins are not in the rotation
    mentions = [
        email(f"rr{i}@x", f"Problem number {i}", sender=f"c{i}@example.org", subject=f"S{i}")
        for i in range(4)
    ]
    batch = Batch(mentions=mentions, next_cursor={"n": 4})
    opts = IngestOptions(auto_assign=True)
    ingest_batch(session, batch, source="t", now=later(1), scorer=scorer, options=opts)
    session.flush()
    owners = [c.assignee_id for c in session.scalars(select(Case).order_by(Case.id))]
    assert sorted(owners) == sorted([alice.id, bob.id, alice.id, bob.id])  # type: ignore[type-var]


def test_an_id_beyond_64_bits_is_no_such_case_alone_or_in_a_batch(session: Session) -> None:
    lena = make_staff(session, "lena", role=Role.LEAD)
    a = make_case(session)
    with pytest.raises(queue.CaseNotFound, match=f"no case with id {2**70}"):
        queue.get_case(session, 2**70)
    with pytest.raises(queue.CaseNotFound, match=f"no case with id {2**70}"):
        assignment.assign_many(session, [a.id, 2**70], to=lena, by=lena, now=T0)
    assert session.get(Case, a.id).assignee_id is None  # type: ignore[union-attr]
