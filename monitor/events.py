"""The append-only case history, which is also the outbox for live updates and webhooks.

Appending is part of the caller's transaction, so an event exists if and only if the
change it describes was committed. Readers (SSE, webhooks) follow the id sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
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
    return event


def since(session: Session, after_id: int, *, limit: int = 500) -> list[Event]:
    """Events with id greater than ``after_id``, oldest first."""
    return list(
        session.scalars(select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit))
    )


def history(session: Session, case_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)))
