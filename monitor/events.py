"""The append-only case history, which is also the outbox for live updates and webhooks.

Appending is part of the caller's transaction, so an event exists if and only if the
change it describes was committed. Readers (SSE, webhooks) follow the id sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.models import Event


class EventKind(StrEnum):
    MENTION_CREATED = "mention.created"
    CHANNEL_HOP = "case.channel_hop"
    CASE_OPENED = "case.opened"
    CASE_REOPENED = "case.reopened"
    CASE_UPDATED = "case.updated"
    SCORE_CHANGED = "case.score_changed"
    IDENTITY_LINKED = "identity.linked"
    NOTE_ADDED = "case.note"
    CLAIMED = "case.claimed"
    CLAIM_TAKEN_OVER = "case.claim_taken_over"
    RELEASED = "case.released"
    STAGE_CHANGED = "case.stage"
    SLA_SET = "case.sla_set"  # a response-time target fixed or brought forward
    SLA_WARNING = "case.sla_warning"
    SLA_BREACHED = "case.sla_breached"
    PUBLIC_RISK = "case.public_risk"
    ASSIGNED = "case.assigned"  # payload: staff_id (None: unassigned), from_staff_id, note


# PostgreSQL channel on which every transaction that appends events says so. The payload
# is empty: PostgreSQL folds identical notifications of one transaction into one, and
# delivers it only on commit, so listeners wake once per committed change and then read
# the table by id (the table, not the notification, is the source of truth).
NOTIFY_CHANNEL = "complaint_monitor_events"
_NOTIFIED = "complaint_monitor.notified_tx"


def append(
    session: Session,
    kind: EventKind | str,
    *,
    now: datetime,
    case_id: int | None = None,
    actor: str = "system",
    payload: Mapping[str, Any] | None = None,
) -> Event:
    event = Event(
        case_id=case_id, kind=str(kind), actor=actor, payload=dict(payload or {}), created_at=now
    )
    session.add(event)
    notify(session)
    return event


def notify(session: Session) -> None:
    """Wake live-update tailers when this transaction commits (once per transaction).

    :func:`append` does this itself; call it after inserting Event rows in bulk with
    Core (``insert(Event)``), which bypasses ``append``. A no-op on SQLite, whose
    tailers poll.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    tx = session.get_transaction()
    if tx is not None and session.info.get(_NOTIFIED) is tx:
        return
    # On the session's connection, not through the ORM: no autoflush as a side effect.
    session.connection().execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))
    session.info[_NOTIFIED] = tx


def latest_id(session: Session) -> int:
    """The id of the newest event (0 when there is none): where a new tailer starts."""
    return int(session.scalar(select(func.max(Event.id))) or 0)


def since(session: Session, after_id: int, *, limit: int = 500) -> list[Event]:
    """Events with id greater than ``after_id``, oldest first."""
    return list(
        session.scalars(select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit))
    )


def history(session: Session, case_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)))
