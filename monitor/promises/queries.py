"""Reading the promise ledger: lists by filter, the overdue ones, one promise's history.

Re-exported by :mod:`monitor.promises.service`; no writes here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Alert, Event, Identity, Promise, PromiseState, Reply

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


def alerts_of(session: Session, promise_ids: list[int]) -> dict[int, list[Alert]]:
    """Each promise's alerts, oldest first, in one query (promises without any: absent)."""
    out: dict[int, list[Alert]] = {}
    if not promise_ids:
        return out
    stmt = select(Alert).where(Alert.promise_id.in_(promise_ids)).order_by(Alert.id)
    for alert in session.scalars(stmt):
        if alert.promise_id is not None:
            out.setdefault(alert.promise_id, []).append(alert)
    return out


def made_by_reply(session: Session, reply_id: int) -> list[int]:
    """The ids of the promises a reply made, in order."""
    stmt = select(Promise.id).where(Promise.reply_id == reply_id).order_by(Promise.id)
    return list(session.scalars(stmt))


def customer_email(session: Session, customer_id: int) -> str | None:
    """The customer's first known email address (whom a Slack invite goes to)."""
    return session.scalar(
        select(Identity.handle)
        .where(Identity.customer_id == customer_id, Identity.kind == "email")
        .order_by(Identity.id)
        .limit(1)
    )


def reply_case_id(session: Session, reply_id: int) -> int | None:
    """The case a reply was sent on (None: no such reply)."""
    return session.scalar(select(Reply.case_id).where(Reply.id == reply_id))


def by_idempotency_key(session: Session, key: str) -> Promise | None:
    return session.scalar(select(Promise).where(Promise.idempotency_key == key))
