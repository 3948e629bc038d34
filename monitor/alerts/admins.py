"""Alerts for the admins: a connection needs re-authorisation, a budget, a silent source.

One console alert per active admin plus one per configured channel that can reach them
(email to their address; Slack by their address). ``key`` makes each alert unique across
processes (``alerts.service.insert_alerts`` skips existing keys), which is how "alerted
once" holds: a key names the event and its period, never the time it was noticed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.service import CONSOLE, alert_row, insert_alerts
from monitor.models import Role, Staff


def alert_admins(
    session: Session,
    *,
    kind: str,
    key: str,
    message: str,
    now: datetime,
    channels: tuple[str, ...] = (),
) -> None:
    admins = session.scalars(
        select(Staff).where(Staff.role == Role.ADMIN.value, Staff.active.is_(True))
    ).all()
    targets: list[tuple[str, str]] = [(CONSOLE, a.name) for a in admins] or [(CONSOLE, "admins")]
    for admin in admins:
        if admin.email and "email" in channels:
            targets.append(("email", admin.email))
        if admin.email and "slack" in channels:
            targets.append(("slack", admin.email))
    rows = [
        alert_row(
            kind=kind[:40], channel=channel, target=target,
            dedupe_key=f"{key}:{channel}:{target}", message=message, now=now, case_id=None,
        )
        for channel, target in targets
    ]  # fmt: skip
    insert_alerts(session, rows)
