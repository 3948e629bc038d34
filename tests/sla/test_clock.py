"""The SLA clock: warning before the target to the assignee (or the team), the breach up
the promise ladder once per step, public risk straight to the lead; across processes."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from monitor.alerts import delivery as alerts
from monitor.alerts.webhooks import EVENT_KINDS
from monitor.cases import service as queue
from monitor.clocks import advancing
from monitor.db import make_engine, make_sessionmaker
from monitor.events import EventKind
from monitor.models import Alert, Case, Customer, Event, Role, Staff
from monitor.priority.service import Scorer
from monitor.sla import clock as sla_clock
from monitor.sla import scheduled as sla_tick
from monitor.sla.policy import default_policy
from tests.factories import T0, later
from tests.factories.cases import ingest
from tests.factories.mentions import email, tweet
from tests.factories.promises import policy
from tests.factories.staff import make_staff
from tests.support import event_kinds

POLICY = policy()  # ladder: owner at +0, lead at +60 min, channel at +240 min


def alerts_of(session: Session, case_id: int) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(Alert.kind, Alert.channel, Alert.target)
        .where(Alert.case_id == case_id)
        .order_by(Alert.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def tick(session: Session, now: datetime, scorer: Scorer | None = None) -> int:
    n = sla_clock.tick(session, now=now, policy=POLICY, scorer=scorer)
    session.flush()
    return n


def test_warning_then_breach_up_the_ladder_once_per_step(session: Session, scorer: Scorer) -> None:
    lena = make_staff(session, "lena", role=Role.LEAD)
    maria = make_staff(session, "maria", lead=lena)
    case = ingest(
        session, scorer, [email("w1@x", "Still no Slack invite, a week on.")], now=later(1)
    )
    case.assignee_id = maria.id
    due, warn = case.sla_due_at, case.sla_warn_at
    assert due is not None and warn is not None and warn < due
    assert tick(session, warn - timedelta(seconds=1)) == 0  # nothing due yet
    assert tick(session, warn) == 1
    assert alerts_of(session, case.id) == [
        ("case.sla_warning", "slack", "maria@acme.test"),
        ("case.sla_warning", "email", "maria@acme.test"),
    ]
    assert case.sla_state == "warned" and case.sla_next_action_at == due
    tick(session, warn + timedelta(minutes=1))  # not due again: nothing new
    assert tick(session, due + timedelta(seconds=2), scorer) == 1
    assert case.sla_state == "breached" and case.sla_step == 1
    assert any(r.startswith("first response overdue") for r in case.reasons)
    tick(session, due + timedelta(minutes=61))
    tick(session, due + timedelta(minutes=62))  # replayed: the dedupe keys hold
    tick(session, due + timedelta(hours=5))
    kinds = [(k, t) for k, c, t in alerts_of(session, case.id) if c == "slack"]
    assert kinds == [
        ("case.sla_warning", "maria@acme.test"),
        ("case.sla_breached", "maria@acme.test"),
        ("case.sla_escalated", "lena@acme.test"),
        ("case.sla_escalated", "C000MGMT01"),
    ]
    assert case.sla_next_action_at is None  # the last rung: nothing more this wait
    history = event_kinds(session, case.id)
    assert history.count(EventKind.SLA_WARNING) == 1 and history.count(EventKind.SLA_BREACHED) == 1
    assert {"case.sla_warning", "case.sla_breached"} <= set(EVENT_KINDS)  # webhooks


def test_unassigned_warning_goes_to_the_team(session: Session, scorer: Scorer) -> None:
    make_staff(session, "lena", role=Role.LEAD)
    case = ingest(session, scorer, [email("t1@x", "Hello? Anyone?")], now=later(1))
    assert case.sla_warn_at is not None
    tick(session, case.sla_warn_at)
    assert alerts_of(session, case.id) == [
        ("case.sla_warning", "slack", "C000MGMT01"),
        ("case.sla_warning", "email", "lena@acme.test"),
    ]


def test_a_staff_reply_stops_the_clock(session: Session, scorer: Scorer) -> None:
    maria = make_staff(session, "maria")
    case = ingest(session, scorer, [email("r1@x", "Where is my refund?")], now=later(1))
    case.assignee_id = maria.id
    due = case.sla_due_at
    assert due is not None
    queue.record_staff_reply(case, now=later(5))
    assert tick(session, due + timedelta(hours=6)) == 0
    assert alerts_of(session, case.id) == []


def test_public_risk_goes_straight_to_the_lead(session: Session, scorer: Scorer) -> None:
    lena = make_staff(session, "lena", role=Role.LEAD)
    maria = make_staff(session, "maria", lead=lena)
    first = ingest(session, scorer, [email("p1@x", "My invite? dan@example.org")], now=later(1))
    first.assignee_id = maria.id
    case = ingest(
        session,
        scorer,
        [tweet(41, "@acme ignores my emails. dan@example.org", at=later(50))],
        now=later(51),
    )
    assert case.id == first.id and case.public_risk and case.sla_next_action_at == later(51)
    tick(session, later(51))
    risk = [a for a in alerts_of(session, case.id) if a[0] == "case.public_risk"]
    assert risk == [
        ("case.public_risk", "slack", "lena@acme.test"),
        ("case.public_risk", "email", "lena@acme.test"),
    ]
    message = session.scalars(select(Alert.message).where(Alert.kind == "case.public_risk")).first()
    assert message is not None and "PUBLIC RISK" in message
    tick(session, later(52))
    assert len([a for a in alerts_of(session, case.id) if a[0] == "case.public_risk"]) == 2


def test_cases_without_a_target_get_one(session: Session) -> None:
    cust = Customer(display_name="Old", created_at=T0)
    case = Case(
        customer=cust, status="open", channel="email", band="high", created_at=T0, updated_at=T0,
        first_unanswered_at=T0, unanswered_count=1,
    )  # fmt: skip
    session.add(case)
    session.flush()
    assert sla_clock.backfill(session, default_policy()) == 1
    assert case.sla_kind == "first" and case.sla_due_at == later(hours=8)
    assert sla_clock.backfill(session, default_policy()) == 0


class Recorder:
    def __init__(self) -> None:
        self.sent: Counter[tuple[Any, ...]] = Counter()
        self.lock = threading.Lock()

    def send(self, alert: alerts.AlertOut) -> str | None:
        with self.lock:
            self.sent[(alert.case_id, alert.kind, alert.target)] += 1
        return None


def seed_cases(engine: Engine, n: int, *, due: datetime) -> None:
    with make_sessionmaker(engine).begin() as s:
        s.add(Staff(name="omar", email="omar@acme.test", password_hash="x", role="lead",
                    timezone="UTC", active=True, created_at=T0))  # fmt: skip
        customers = [{"display_name": f"c{i}", "value": 0.0, "created_at": T0} for i in range(n)]
        ids = s.scalars(insert(Customer).returning(Customer.id), customers).all()
        rows = [
            {
                "customer_id": c,
                "channel": "email",
                "status": "open",
                "created_at": T0,
                "updated_at": T0,
                "first_unanswered_at": T0,
                "sla_kind": "first",
                "sla_started_at": T0,
                "sla_due_at": due,
                "sla_warn_at": due - timedelta(minutes=30),
                "sla_state": "running",
                "sla_step": 0,
                "sla_next_action_at": due,
            }
            for c in ids
        ]
        s.execute(insert(Case), rows)


def run_process(url: str, now: datetime, rec: Recorder, errors: list[BaseException]) -> None:
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        pol = policy(channels=("slack",))
        sla_tick.run(sessions, {"slack": rec}, clock=advancing(now), policy=pol,
                     sla=default_policy(), batch=100)  # fmt: skip
    except BaseException as exc:
        errors.append(exc)
    finally:
        engine.dispose()


def test_two_processes_alert_each_breach_exactly_once(
    committed_engine: Engine, db_url: str
) -> None:
    n = 600
    due = T0 + timedelta(hours=4)
    seed_cases(committed_engine, n, due=due)
    rec, errors = Recorder(), []  # type: ignore[var-annotated]
    now = due + timedelta(seconds=1)
    threads = [threading.Thread(target=run_process, args=(db_url, now, rec, errors)) for _ in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    assert sum(rec.sent.values()) == n and set(rec.sent.values()) == {1}
    with make_sessionmaker(committed_engine)() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == n
        breached = select(func.count()).where(Event.kind == EventKind.SLA_BREACHED)
        assert s.scalar(breached) == n  # each transition exactly once: the claim held


@pytest.mark.parametrize("minutes", [0, 30])
def test_plan_is_pure_and_skips_the_warning_once_breached(minutes: int) -> None:
    case = Case(
        id=1, sla_kind="first", sla_due_at=T0, sla_warn_at=T0 - timedelta(minutes=30),
        sla_state="running", sla_step=0, public_risk=False, assignee_id=None,
    )  # fmt: skip
    pl = sla_clock.plan(case, POLICY, now=T0 + timedelta(minutes=minutes))
    assert [s.key for s in pl.steps] == ["step:0"] and pl.breached
    assert case.sla_state == "running"  # plan() changes nothing
