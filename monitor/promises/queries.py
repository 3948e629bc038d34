"""Reading the promise ledger: lists by filter, the overdue ones, one promise's history.

Re-exported by :mod:`monitor.promises.service`; no writes here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Event, Promise, PromiseState

UNKEPT = (PromiseState.OPEN, PromiseState.OVERDUE, PromiseState.ESCALATED)


def list_promises(
    session: Session,
    *,
    state: str | None = None,
    case_id: int | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    limit: int = 100,
    after_id: int = 0,
) -> list[Promise]:
    """Promises by id; ``state`` "unkept" means open, overdue or escalated."""
    stmt = select(Promise).where(Promise.id > after_id)
    if state == "unkept":
        stmt = stmt.where(Promise.state.in_(UNKEPT))
    elif state:
        stmt = stmt.where(Promise.state == state)
    if case_id is not None:
        stmt = stmt.where(Promise.case_id == case_id)
    if owner_id is not None:
        stmt = stmt.where(Promise.owner_id == owner_id)
    if customer_id is not None:
        stmt = stmt.where(Promise.customer_id == customer_id)
    return list(session.scalars(stmt.order_by(Promise.id).limit(limit)))


def overdue(session: Session, *, now: datetime, limit: int = 1000) -> list[Promise]:
    """Unkept promises past their deadline, most overdue first."""
    return list(
        session.scalars(
            select(Promise)
            .where(Promise.state.in_(UNKEPT), Promise.due_at < now)
            .order_by(Promise.due_at, Promise.id)
            .limit(limit)
        )
    )


def history(session: Session, promise: Promise) -> list[Event]:
    """The events about this promise (creation, reminders, alerts, fulfilment), oldest first."""
    rows = session.scalars(select(Event).where(Event.case_id == promise.case_id).order_by(Event.id))
    return [e for e in rows if (e.payload or {}).get("promise_id") == promise.id]
