"""Jinja filters for the console: times, durations, labels. Pure formatting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment

from monitor.cases.casefile import sla_text
from monitor.reports.tables import cell
from monitor.sla.service import clock_view
from monitor.web import text
from monitor.zones import zone_or_utc

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


def local(value: datetime | None, timezone: str | None = None) -> str:
    """The time in the viewer's zone, e.g. "2026-12-02 10:00 CET" (UTC when unknown)."""
    if value is None:
        return "—"
    return value.astimezone(zone_or_utc(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def relative(value: datetime | None, now: datetime) -> str:
    """ "5 min ago", "in 2 h", "3 days ago": how far ``value`` is from ``now``."""
    if value is None:
        return ""
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    if span < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if span >= size:
            n = int(span // size)
            text = f"{n} {unit}{'s' if unit == 'day' and n != 1 else ''}"
            break
    return f"in {text}" if seconds > 0 else f"{text} ago"


SYSTEM_KINDS = frozenset({"stage", "claim", "event", "promise", "hop"})


def conversation(entries: Iterable[Any]) -> list[tuple[str, list[Any]]]:
    """The case history as a conversation: each customer message, reply and note on its
    own ("message"), the system events between them gathered ("system", collapsed)."""
    out: list[tuple[str, list[Any]]] = []
    for e in entries:
        if getattr(e, "kind", "") in SYSTEM_KINDS:
            if out and out[-1][0] == "system":
                out[-1][1].append(e)
            else:
                out.append(("system", [e]))
        else:
            out.append(("message", [e]))
    return out


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
            "local": local,
            "conversation": conversation,
            "relative": relative,
            "channel": channel_label,
            "waited": waited,
            "duration": duration,
            "cell": cell,  # a report figure, the same text as its CSV cell
            "sla_clock": sla_clock,
            "sla_text": sla_text,  # a response-time event, its due time in the viewer's zone
        }
    )
