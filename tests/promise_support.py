"""Builders shared by the promise tests: staff, a case from a tweet, settings, policies."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from monitor.config import AlertsSettings, EscalationStep
from monitor.db import make_sessionmaker
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Alert, Case, Customer, Event, Mention, Promise, Role, Staff
from monitor.priority.service import Scorer
from monitor.promises.clock import ClockPolicy
from monitor.sources.base import Batch
from tests.factories import T0

OPTS = IngestOptions(own_addresses=("support@acme.test",))
LADDER = (
    EscalationStep(after_minutes=0, notify="owner"),
    EscalationStep(after_minutes=60, notify="lead"),
    EscalationStep(after_minutes=240, notify="channel"),
)


def staff(
    session: Session,
    name: str,
    *,
    role: Role = Role.AGENT,
    lead: Staff | None = None,
    tz: str = "Europe/Berlin",
) -> Staff:
    s = Staff(
        name=name,
        display_name=name.title(),
        email=f"{name}@acme.test",
        role=role,
        password_hash="not-a-real-hash",
        timezone=tz,
        lead_id=lead.id if lead else None,
        active=True,
        created_at=T0,
    )
    session.add(s)
    session.flush()
    return s


def ingest(session: Session, scorer: Scorer, mentions: list[Any], *, now: datetime) -> Case:
    """Ingest mentions; returns the case of the last one."""
    batch = Batch(mentions=mentions, next_cursor={"n": now.isoformat()}, quarantined=[])
    ingest_batch(session, batch, source="test", now=now, scorer=scorer, options=OPTS)
    session.flush()
    last = mentions[-1]
    mention = session.scalars(select(Mention).where(Mention.external_id == last.external_id)).one()
    case = session.get(Case, mention.case_id, populate_existing=True)
    assert case is not None
    return case


def alerts_settings(**overrides: Any) -> AlertsSettings:
    values: dict[str, Any] = {
        "channels": ("slack", "email"),
        "remind_before_minutes": 60,
        "repeat_minutes": 20,
        "ladder": LADDER,
    }
    values.update(overrides)
    return AlertsSettings(**values)


def policy(**overrides: Any) -> ClockPolicy:
    return ClockPolicy.from_settings(alerts_settings(**overrides), alert_channel="C000MGMT01")


def alert_keys(session: Session) -> list[str]:
    return list(session.scalars(select(Alert.dedupe_key).order_by(Alert.id)))


def event_kinds(session: Session, case_id: int) -> list[str]:
    rows = session.scalars(select(Event.kind).where(Event.case_id == case_id).order_by(Event.id))
    return list(rows)


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def seed_promises(engine: Engine, n: int, *, due: datetime) -> None:
    """Commit ``n`` open promises owned by one agent, all due at ``due`` (100 cases)."""
    with make_sessionmaker(engine).begin() as s:
        owner = Staff(
            name="omar",
            email="omar@acme.test",
            password_hash="x",
            role="agent",
            timezone="UTC",
            active=True,
            created_at=T0,
        )
        s.add(owner)
        s.flush()
        customers = [{"display_name": f"c{i}", "value": 0.0, "created_at": T0} for i in range(100)]
        cust_ids = s.scalars(insert(Customer).returning(Customer.id), customers).all()
        cases = [
            {"customer_id": c, "channel": "x", "status": "open", "created_at": T0, "updated_at": T0}
            for c in cust_ids
        ]
        case_ids = s.scalars(insert(Case).returning(Case.id), cases).all()
        rows = [
            {
                "case_id": case_ids[i % 100],
                "customer_id": cust_ids[i % 100],
                "owner_id": owner.id,
                "kind": "callback",
                "wording": f"I'll call you back ({i}).",
                "due_at": due,
                "owner_timezone": "UTC",
                "state": "open",
                "escalation_step": 0,
                "next_action_at": due,
                "created_at": T0,
                "updated_at": T0,
            }
            for i in range(n)
        ]
        for i in range(0, n, 2000):
            s.execute(insert(Promise), rows[i : i + 2000])
