"""The promises board: promises across every case, for the console's /promises page.

Views: ``unkept`` (open, overdue or escalated; the default), ``overdue`` (unkept and past
due at ``now``), ``today`` (unkept and due before the end of the viewer's day),
``kept`` and ``closed`` (broken or cancelled); narrowed by owner ("mine") and kind.
Soonest deadline first. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Case, Customer, Promise, PromiseState, Staff
from monitor.promises.queries import UNKEPT
from monitor.promises.text import PromiseKind, zone

VIEWS = ("unkept", "overdue", "today", "kept", "closed")
KINDS = tuple(k.value for k in PromiseKind)


@dataclass(frozen=True)
class BoardRow:
    id: int
    case_id: int
    customer_id: int
    customer: str
    kind: str
    wording: str
    state: str
    due_at: datetime
    overdue: bool
    owner: str
    escalation_step: int


def end_of_day(now: datetime, timezone: str | None) -> datetime:
    """The end of ``now``'s day in the viewer's time zone (aware)."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=tz)


def board(
    session: Session,
    *,
    now: datetime,
    view: str = "unkept",
    owner_id: int | None = None,
    kind: str | None = None,
    timezone: str | None = "UTC",
    limit: int = 200,
) -> list[BoardRow]:
    stmt = (
        select(Promise, Customer.display_name, Staff.display_name, Staff.name)
        .join(Case, Case.id == Promise.case_id)
        .join(Customer, Customer.id == Promise.customer_id)
        .outerjoin(Staff, Staff.id == Promise.owner_id)
    )
    if view == "overdue":
        stmt = stmt.where(Promise.state.in_(UNKEPT), Promise.due_at < now)
    elif view == "today":
        stmt = stmt.where(Promise.state.in_(UNKEPT), Promise.due_at < end_of_day(now, timezone))
    elif view == "kept":
        stmt = stmt.where(Promise.state == PromiseState.FULFILLED)
    elif view == "closed":
        stmt = stmt.where(Promise.state.in_((PromiseState.BROKEN, PromiseState.CANCELLED)))
    else:
        stmt = stmt.where(Promise.state.in_(UNKEPT))
    if owner_id is not None:
        stmt = stmt.where(Promise.owner_id == owner_id)
    if kind:
        stmt = stmt.where(Promise.kind == kind)
    stmt = stmt.order_by(Promise.due_at, Promise.id).limit(limit)
    return [
        BoardRow(
            id=p.id,
            case_id=p.case_id,
            customer_id=p.customer_id,
            customer=customer or f"customer {p.customer_id}",
            kind=p.kind,
            wording=p.wording,
            state=p.state,
            due_at=p.due_at,
            overdue=p.state in UNKEPT and p.due_at < now,
            owner=owner_display or owner_name or "",
            escalation_step=p.escalation_step,
        )
        for p, customer, owner_display, owner_name in session.execute(stmt).all()
    ]
