"""The ledger and the clock: reminders, overdue, the ladder, repeats, follow-ups, re-scoring.

Time is controlled by passing ``now``; nothing sleeps.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Alert, Case, Promise, PromiseState, Role
from monitor.priority.service import Scorer
from monitor.promises import clock as promise_clock
from monitor.promises import service as promises
from monitor.promises.service import PromiseEvent, Timing
from tests.factories import T0, later, minutes
from tests.factories.cases import ingest
from tests.factories.mentions import tweet
from tests.factories.promises import policy
from tests.factories.staff import make_staff
from tests.support import alert_keys, event_kinds

TIMING = Timing(remind_before=timedelta(minutes=60), follow_up=timedelta(hours=24))


@pytest.fixture
def world(session: Session, scorer: Scorer):
    lead = make_staff(session, "lena", role=Role.LEAD)
    owner = make_staff(session, "omar", lead=lead)
    case = ingest(session, scorer, [tweet(1, "where is my slack invite??")], now=T0)
    due = later(hours=3)
    p = promises.create(
        session,
        case=case,
        kind="callback",
        wording="I'll call you back this afternoon.",
        due_at=due,
        owner=owner,
        now=T0,
        timing=TIMING,
    )
    return {"lead": lead, "owner": owner, "case": case, "promise": p, "due": due}


def tick(session: Session, now, **kw) -> int:
    return promise_clock.tick(session, now=now, policy=policy(**kw), limit=1000)


def test_reminders_then_overdue_then_the_ladder_then_repeats(session: Session, world) -> None:
    p, due = world["promise"], world["due"]
    assert p.next_action_at == due - minutes(60)
    assert tick(session, T0) == 0
    # reminders from an hour before, every 20 minutes, never more often
    for offset in (-60, -55, -41, -40, -21, -20, -1):
        tick(session, due + minutes(offset))
    keys = alert_keys(session)
    assert [k.split(":")[2:4] for k in keys if ":slack:" in k] == [
        ["remind", "0"],
        ["remind", "1"],
        ["remind", "2"],
    ]
    assert p.state == PromiseState.OPEN and p.last_reminded_at == due - minutes(20)
    # the deadline: overdue, owner alerted on every channel
    tick(session, due)
    assert p.state == PromiseState.OVERDUE
    step0 = [k for k in alert_keys(session) if ":step:0:" in k]
    assert sorted(step0) == [
        f"promise:{p.id}:step:0:email:omar@acme.test",
        f"promise:{p.id}:step:0:slack:omar@acme.test",
    ]
    tick(session, due + minutes(59))
    assert not [k for k in alert_keys(session) if ":step:1:" in k]
    tick(session, due + minutes(60))
    assert p.state == PromiseState.ESCALATED
    assert sorted(k for k in alert_keys(session) if ":step:1:" in k) == [
        f"promise:{p.id}:step:1:email:lena@acme.test",
        f"promise:{p.id}:step:1:slack:lena@acme.test",
    ]
    tick(session, due + minutes(240))
    assert [k for k in alert_keys(session) if ":step:2:" in k] == [
        f"promise:{p.id}:step:2:slack:C000MGMT01"
    ]
    # then the last rung repeats every 20 minutes, and no more often
    for offset in (241, 259, 260, 270, 280):
        tick(session, due + minutes(offset))
    repeats = [k for k in alert_keys(session) if ":repeat:" in k]
    assert repeats == [
        f"promise:{p.id}:repeat:1:slack:C000MGMT01",
        f"promise:{p.id}:repeat:2:slack:C000MGMT01",
    ]
    kinds = event_kinds(session, p.case_id)
    assert kinds.count(PromiseEvent.DUE_SOON) == 3
    assert kinds.count(PromiseEvent.OVERDUE) == 1
    assert kinds.count(PromiseEvent.ESCALATED) == 2


def test_a_late_clock_sends_every_rung_it_missed_once(session: Session, world) -> None:
    p, due = world["promise"], world["due"]
    tick(session, due + minutes(300))  # the server was down all along
    steps = sorted({k.split(":")[2] + ":" + k.split(":")[3] for k in alert_keys(session)})
    assert steps == ["step:0", "step:1", "step:2"]  # no reminder after the deadline
    assert p.state == PromiseState.ESCALATED and p.escalation_step == 3


def test_a_replayed_step_cannot_alert_twice(session: Session, world) -> None:
    p, due = world["promise"], world["due"]
    tick(session, due)
    before = alert_keys(session)
    # as if a second process (or a restart from a stale read) planned the same step again
    p.state, p.escalation_step, p.next_action_at = PromiseState.OPEN, 0, due
    session.flush()
    tick(session, due + minutes(1))
    assert alert_keys(session) == before


def test_lead_falls_back_to_any_lead_then_the_channel(session: Session, scorer: Scorer) -> None:
    boss = make_staff(session, "bea", role=Role.LEAD)
    owner = make_staff(session, "ona")  # no lead_id
    case = ingest(session, scorer, [tweet(2, "still waiting")], now=T0)
    p = promises.create(
        session,
        case=case,
        kind="fix",
        wording="We'll fix it today.",
        due_at=later(hours=1),
        owner=owner,
        now=T0,
    )
    tick(session, later(hours=2))
    lead_keys = [k for k in alert_keys(session) if f"promise:{p.id}:step:1" in k]
    assert any(k.endswith(boss.email) for k in lead_keys)


def test_overdue_raises_the_customers_score(session: Session, scorer: Scorer, world) -> None:
    case, due = world["case"], world["due"]
    before = case.score
    assert not any("promise overdue" in r for r in case.reasons)
    promise_clock.tick(session, now=due + minutes(1), policy=policy(), scorer=scorer)
    session.refresh(case)
    assert case.score > before
    assert any(r.startswith("promise overdue") for r in case.reasons)


def test_a_customer_message_never_cancels_a_promise(
    session: Session, scorer: Scorer, world
) -> None:
    p = world["promise"]
    ingest(
        session,
        scorer,
        [tweet(3, "forget it, I'm done with you", at=later(hours=1))],
        now=later(hours=1),
    )
    session.refresh(p)
    assert p.state == PromiseState.OPEN
    assert p.next_action_at is not None


def test_fulfil_then_follow_up_prompt_with_its_own_due_time(session: Session, world) -> None:
    p, case = world["promise"], world["case"]
    now = later(hours=2)
    promises.fulfil(
        session, p, evidence={"call": "spoke 4 min"}, now=now, actor="omar", timing=TIMING
    )
    assert p.state == PromiseState.FULFILLED and p.evidence["call"] == "spoke 4 min"
    assert p.follow_up_due_at == now + timedelta(hours=24)
    kinds = event_kinds(session, case.id)
    assert kinds[-2:] == [PromiseEvent.FULFILLED, PromiseEvent.FOLLOW_UP_DUE]
    # no reminders or alerts for a kept promise, only the follow-up check
    tick(session, world["due"] + minutes(10))
    assert alert_keys(session) == []
    tick(session, now + timedelta(hours=24))
    assert alert_keys(session) == [
        f"promise:{p.id}:follow_up:slack:omar@acme.test",
        f"promise:{p.id}:follow_up:email:omar@acme.test",
    ]
    assert p.next_action_at is None


def test_follow_up_done_means_no_follow_up_alert(session: Session, world) -> None:
    p, case = world["promise"], world["case"]
    now = later(hours=2)
    promises.fulfil(session, p, evidence={"x": 1}, now=now, timing=TIMING)
    db_case = session.get(Case, case.id)
    db_case.followed_up_at = now + timedelta(hours=3)
    session.flush()
    tick(session, now + timedelta(hours=25))
    assert alert_keys(session) == []


def test_cancel_and_broken_stop_the_clock(session: Session, world, scorer: Scorer) -> None:
    p = world["promise"]
    promises.cancel(session, p, reason="made in error", now=later(hours=1), actor="omar")
    assert p.state == PromiseState.CANCELLED and p.next_action_at is None
    tick(session, later(hours=10))
    assert alert_keys(session) == []
    with pytest.raises(promises.PromiseStateError):
        promises.fulfil(session, p, evidence={}, now=later(hours=11))


def test_list_overdue_and_history(session: Session, world) -> None:
    p, due = world["promise"], world["due"]
    assert promises.overdue(session, now=due - minutes(1)) == []
    assert [x.id for x in promises.overdue(session, now=due + minutes(1))] == [p.id]
    assert [x.id for x in promises.list_promises(session, state="unkept")] == [p.id]
    tick(session, due)
    assert [e.kind for e in promises.history(session, p)] == [
        PromiseEvent.CREATED,
        PromiseEvent.OVERDUE,
    ]
    assert session.scalars(select(Alert).where(Alert.promise_id == p.id)).all()


def test_several_promises_per_case(session: Session, world) -> None:
    case, owner = world["case"], world["owner"]
    second = promises.create(
        session,
        case=case,
        kind="rebate",
        wording="You'll get a rebate.",
        due_at=later(days=30),
        owner=owner,
        now=T0,
    )
    ids = {x.id for x in promises.list_promises(session, case_id=case.id)}
    assert ids == {world["promise"].id, second.id}


def test_bad_input_is_refused(session: Session, world) -> None:
    case = world["case"]
    with pytest.raises(promises.PromiseError, match="kind"):
        promises.create(session, case=case, kind="hug", wording="x", due_at=T0, owner=None, now=T0)
    with pytest.raises(promises.PromiseError, match="time zone"):
        promises.create(
            session,
            case=case,
            kind="fix",
            wording="x",
            due_at=T0.replace(tzinfo=None),
            owner=None,
            now=T0,
        )
    assert isinstance(world["promise"], Promise)


def test_an_answered_case_returns_to_the_queue_when_its_promise_is_broken(
    session: Session, scorer: Scorer, world
) -> None:
    from monitor.cases.queries import list_queue
    from monitor.cases.service import record_staff_reply
    from monitor.models import CaseStatus

    case, due = world["case"], world["due"]
    record_staff_reply(case, now=T0 + minutes(5))  # we answered and promised a call
    session.flush()
    assert case.status == CaseStatus.WAITING
    assert case.id not in [r.case_id for r in list_queue(session, now=T0 + minutes(6)).rows]
    promise_clock.tick(session, now=due + minutes(1), policy=policy(), scorer=scorer)
    session.refresh(case)
    assert case.status == CaseStatus.OPEN
    rows = {r.case_id: r for r in list_queue(session, now=due + minutes(2)).rows}
    assert rows[case.id].overdue_promises == 1
    assert any(r.startswith("promise overdue") for r in rows[case.id].reasons)
