"""A source's health: each poll's outcome recorded on its cursor row, read by /healthz,
/metrics and the console, and the admins alerted when a source keeps failing.

Every failed poll, expected (a vendor error) or not (a bug, an input nobody foresaw),
is recorded here: consecutive failures, the last error, when to try again. A success
clears them and records ``last_success_at``. After ``alert_after`` failures in a row
the admins are alerted, once per run of failures (the alert's key names the last
success before it, so the next run of failures alerts again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.admins import alert_admins
from monitor.models import Quarantine, SourceCursor
from monitor.storage.cursors import cursor_row

# The source's state on /healthz, from the class of its last error.
STATES = {
    "NeedsReauthorisation": "needs re-authorisation",
    "MonthlyCapReached": "monthly cap reached",
    "RateLimited": "rate limited",
}
ERROR_MAX = 2000


@dataclass(frozen=True)
class FailureAlerts:
    """Alert the admins after ``after`` failed polls in a row (0: never)."""

    after: int = 0
    channels: tuple[str, ...] = ()


def record_failure(
    session: Session,
    source: str,
    *,
    now: datetime,
    error: str,
    next_poll_at: datetime,
    alerts: FailureAlerts | None = None,
) -> SourceCursor:
    """Count one more failed poll; ``alerts`` (for failures that need a person) may
    alert the admins. Returns the row for the caller's further changes."""
    row = cursor_row(session, source, now=now)
    row.consecutive_failures = (row.consecutive_failures or 0) + 1
    row.last_error = error[:ERROR_MAX]
    row.updated_at = now
    row.next_poll_at = next_poll_at
    if alerts is not None and alerts.after and row.consecutive_failures >= alerts.after:
        since = row.last_success_at.isoformat() if row.last_success_at else "never"
        alert_admins(
            session,
            kind="source.failing",
            key=f"source:{source}:failing-after:{since}",
            message=(
                f"{source} has failed {row.consecutive_failures} polls in a row; "
                f"last error: {row.last_error[:300]}"
            ),
            now=now,
            channels=alerts.channels,
        )
    return row


def record_success(row: SourceCursor, *, now: datetime) -> None:
    row.consecutive_failures = 0
    row.last_error = None
    row.next_poll_at = None
    row.last_success_at = now


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _state(c: SourceCursor) -> str:
    if not c.consecutive_failures:
        return "ok"
    return STATES.get((c.last_error or "").split(":", 1)[0], "failing")


def source_health(session: Session) -> list[dict[str, Any]]:
    """Each source's last poll, failures, back-off and rate-limit state (for /healthz)."""
    return [
        {
            "source": c.source,
            "state": _state(c),
            "last_poll_at": _iso(c.updated_at),
            "last_success_at": _iso(c.last_success_at),
            "consecutive_failures": c.consecutive_failures,
            "last_error": c.last_error,
            "rate_limit_remaining": c.rate_limit_remaining,
            "rate_limit_reset_at": _iso(c.rate_limit_reset_at),
            "next_poll_at": _iso(c.next_poll_at),
            "fetched_total": c.fetched_total,
            "quarantined_total": c.quarantined_total,
        }
        for c in session.scalars(select(SourceCursor).order_by(SourceCursor.source))
    ]


def recent_quarantine(session: Session, *, limit: int = 50) -> list[Quarantine]:
    """The newest quarantined items, for staff to see what was kept aside and why."""
    stmt = select(Quarantine).order_by(Quarantine.id.desc()).limit(limit)
    return list(session.scalars(stmt))
