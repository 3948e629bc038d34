"""Recording alerts: the pending rows the alert worker sends, each unique by its key.

Whoever decides that staff must hear about something (the promise clock, a reply that
failed, a response-time target) writes rows here inside its own transaction; the
worker in :mod:`monitor.alerts.delivery` sends them. A ``dedupe_key`` that exists
already is skipped, so one step of one ladder alerts once however many processes run.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.models import Alert, AlertState

CONSOLE = "console"  # shown in the console only: recorded as sent, nothing to deliver
DEDUPE_KEY_MAX = 200


class AlertEvent(StrEnum):
    """The delivery log on the case: one event per attempt's outcome."""

    SENT = "alert.sent"
    RETRY = "alert.retry"
    FAILED = "alert.failed"


def alert_row(
    *,
    kind: str,
    channel: str,
    target: str,
    dedupe_key: str,
    message: str,
    now: datetime,
    case_id: int | None,
    promise_id: int | None = None,
) -> dict[str, Any]:
    """One alert to record; a console alert is born sent (staff see it on the page)."""
    console = channel == CONSOLE
    return {
        "promise_id": promise_id,
        "case_id": case_id,
        "kind": kind,
        "channel": channel,
        "target": target,
        "dedupe_key": dedupe_key[:DEDUPE_KEY_MAX],
        "state": AlertState.SENT if console else AlertState.PENDING,
        "attempts": 1 if console else 0,
        "message": message,
        "created_at": now,
        "sent_at": now if console else None,
        "next_attempt_at": None if console else now,
    }


def insert_alerts(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert alerts; one whose ``dedupe_key`` exists already is silently skipped."""
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(Alert).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
