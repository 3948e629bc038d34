"""Jinja filters for the console: times, durations, labels. Pure formatting."""

from __future__ import annotations

from datetime import datetime, timedelta

from jinja2 import Environment

from monitor.reports.tables import cell
from monitor.sla.service import clock_view
from monitor.web import text

CHANNEL_LABELS = {"x": "X", "x_dm": "X DM", "email": "Email"}


def duration(seconds: float) -> str:
    s = max(0, int(seconds))
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    return f"{m}m {s:02d}s"


def waited(since: datetime | None, now: datetime) -> str:
    return duration((now - since).total_seconds()) if since else "—"


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def channel_label(value: str | None) -> str:
    return CHANNEL_LABELS.get(value or "", value or "")


def sla_clock(due: datetime | None, now: datetime) -> str:
    """A response-time target as the queue shows it: "due in 12 min", "breached 2 h ago"."""
    view = clock_view("target", due, now=now, soon=timedelta(0))
    return view.label if view else "—"


def install(env: Environment) -> None:
    env.autoescape = True  # every template, whatever its file name
    text.install(env)  # user_text, user_plain, long_text: for every customer-supplied text
    env.filters.update(
        {
            "iso": iso,
            "when": when,
            "channel": channel_label,
            "waited": waited,
            "duration": duration,
            "cell": cell,  # a report figure, the same text as its CSV cell
            "sla_clock": sla_clock,
        }
    )
