"""The weekly digest: top causes, broken promises, slowest stages, through the alert
channels (Slack: the alert channel; email: ``reports.digest.recipients``).

The job runs hourly; from ``reports.digest.hour`` on ``reports.digest.weekday`` (local
time in ``reports.timezone``) it records one alert per channel and recipient for the
seven days before, keyed ``digest:<first day>:<channel>:<target>``. The alert table's
unique key makes that once per week however many processes run; the alert worker
(:mod:`monitor.alerts.delivery`) sends them with its retries.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.service import alert_row, insert_alerts
from monitor.config import ReportsSettings
from monitor.models import Alert
from monitor.reports import figures
from monitor.reports.period import Filters, Period
from monitor.reports.tables import Table, cell

KIND = "reports.digest"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def due_period(settings: ReportsSettings, *, now: datetime) -> Period | None:
    """The week to summarise at ``now``, or None when it is not digest time."""
    d = settings.digest
    local = now.astimezone(ZoneInfo(settings.timezone))
    if WEEKDAYS[local.weekday()] != d.weekday or local.hour < d.hour:
        return None
    last = local.date() - timedelta(days=1)
    return Period(last - timedelta(days=6), last, settings.timezone)


def _tables(
    session: Session, name: str, period: Period, settings: ReportsSettings, now: datetime
) -> dict[str, Table]:
    out = figures.run(session, name, period, Filters(), settings=settings, now=now)
    return {t.name: t for t in out}


def compose(session: Session, period: Period, *, settings: ReportsSettings, now: datetime) -> str:
    volume = _tables(session, "volume", period, settings, now)
    kept = _tables(session, "promises", period, settings, now)
    stages = _tables(session, "recovery", period, settings, now)["stages"]
    cases = volume["recurrence"].rows[0][1]
    lines = [f"Week {period.first} to {period.last} ({period.tz}): {cases} new cases."]
    top = [r for r in volume["by_cause"].rows if r[1]][:3]
    if top:
        lines.append("Top causes: " + ", ".join(f"{r[0]} {r[1]} ({r[3]:+d})" for r in top) + ".")
    made = kept["by_kind"].rows
    broken = sum(r[4] for r in made)
    late = sum(r[3] for r in made)
    lines.append(
        f"Promises: {sum(r[1] for r in made)} made, {broken} broken, {late} kept late; "
        f"{len(kept['overdue_now'].rows)} overdue now."
    )
    slow = sorted((r for r in stages.rows if r[3] is not None), key=lambda r: -r[4])[:3]
    if slow:
        lines.append(
            "Slowest stages (median / 90th percentile, hours): "
            + "; ".join(f"{r[0]} {cell(r[3])} / {cell(r[4])}" for r in slow)
            + "."
        )
    return "\n".join(lines)


def queue_digest(
    session: Session,
    *,
    settings: ReportsSettings,
    channels: tuple[str, ...],
    slack_channel: str,
    now: datetime,
) -> int:
    """Record this week's digest alerts if it is time and they are not there yet."""
    period = due_period(settings, now=now)
    if period is None or not settings.digest.enabled:
        return 0
    targets = [("slack", slack_channel)] if "slack" in channels and slack_channel else []
    if "email" in channels:
        targets += [("email", r) for r in settings.digest.recipients]
    keys = {f"digest:{period.first}:{c}:{t}": (c, t) for c, t in targets}
    done = set(session.scalars(select(Alert.dedupe_key).where(Alert.dedupe_key.in_(keys))))
    todo = {k: v for k, v in keys.items() if k not in done}
    if not todo:
        return 0
    text = compose(session, period, settings=settings, now=now)
    rows: list[dict[str, Any]] = [
        alert_row(kind=KIND, channel=c, target=t, dedupe_key=k, message=text, now=now, case_id=None)
        for k, (c, t) in todo.items()
    ]
    insert_alerts(session, rows)
    return len(rows)
