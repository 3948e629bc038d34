"""Telling the sender that their reply was not delivered.

A reply that permanently failed is recorded on the reply (``reply_outcomes.mark_failed``)
and, here, as Alert rows for the staff member who wrote it:

- one ``console`` alert, always: the console shows it on the case and marks the case's
  row in the queue, so it counts as delivered when recorded (state ``sent``);
- one *pending* alert per configured alert channel that can reach the sender (Slack by
  their email, else the alert channel; email to their address), delivered by the alert
  worker (``monitor.alerts.delivery``) with its retries and delivery log.

Keys are unique per reply, channel and target, so a replayed failure adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.alerts.service import CONSOLE, alert_row, insert_alerts
from monitor.models import Reply, Staff

ALERT_KIND = "reply.failed"


@dataclass(frozen=True)
class FailureAlerts:
    """Where failure alerts go besides the console (from the ``alerts`` settings)."""

    channels: tuple[str, ...] = ()  # slack, email
    slack_channel: str = ""  # Slack fallback when the sender has no email


def targets(sender: Staff | None, policy: FailureAlerts) -> list[tuple[str, str]]:
    """(channel, target) pairs for the sender: the console first, then the others."""
    found: list[tuple[str, str]] = [(CONSOLE, sender.name if sender else "staff")]
    email = sender.email if sender else None
    for channel in policy.channels:
        if channel == "slack" and (email or policy.slack_channel):
            found.append(("slack", email or policy.slack_channel))
        elif channel == "email" and email:
            found.append(("email", email))
    return found


def message(reply: Reply, error: str) -> str:
    return (
        f"Your reply on case #{reply.case_id} ({reply.channel}) was not delivered: {error}. "
        "Open the case to resend it or reach the customer another way."
    )


def record_failure(
    session: Session, reply: Reply, error: str, *, now: datetime, policy: FailureAlerts
) -> None:
    """Record the alerts for a reply that permanently failed (caller's transaction)."""
    sender = session.get(Staff, reply.staff_id) if reply.staff_id else None
    text = message(reply, error)
    rows = [
        alert_row(
            kind=ALERT_KIND,
            channel=channel,
            target=target,
            dedupe_key=f"reply:{reply.id}:failed:{channel}:{target}",
            message=text,
            now=now,
            case_id=reply.case_id,
        )
        for channel, target in targets(sender, policy)
    ]
    session.flush()
    insert_alerts(session, rows)
