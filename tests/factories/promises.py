"""Promises: the alert ladder and clock policy the tests use, and bulk promise rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from monitor.config import AlertsSettings, EscalationStep
from monitor.db import make_sessionmaker
from monitor.models import Case, Customer, Promise, Staff
from monitor.promises.clock import ClockPolicy
from tests.factories import T0

LADDER = (
    EscalationStep(after_minutes=0, notify="owner"),
    EscalationStep(after_minutes=60, notify="lead"),
    EscalationStep(after_minutes=240, notify="channel"),
)


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
