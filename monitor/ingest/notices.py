"""What the queue must tell staff about the sources: the banner above the queue.

A source that needs its account connected again, X's monthly cap, an X budget that
slows polling, a source gone silent. Read-only: alerts are raised by the jobs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.ingest.health import STATES
from monitor.ingest.silence import silent_sources
from monitor.models import SourceCursor
from monitor.usage import budgets


@dataclass(frozen=True)
class Notice:
    level: str  # warning | error
    source: str
    text: str


def watched_sources(settings: Settings) -> dict[str, int]:
    s = settings.sources
    watched: dict[str, int] = {}
    if s.twitter.enabled and s.twitter.silence_alarm_hours:
        watched["x:*"] = s.twitter.silence_alarm_hours
    if s.email.enabled and s.email.silence_alarm_hours:
        watched["email:*"] = s.email.silence_alarm_hours
    return watched


def notices(session: Session, settings: Settings, *, now: datetime) -> list[Notice]:
    found: list[Notice] = []
    for row in session.scalars(select(SourceCursor).order_by(SourceCursor.source)):
        state = STATES.get((row.last_error or "").split(":", 1)[0])
        if row.consecutive_failures and state in ("needs re-authorisation", "monthly cap reached"):
            found.append(Notice("error", row.source, f"{row.source}: {state}. {_advice(state)}"))
    if settings.sources.twitter.enabled:
        budget = budgets.evaluate(session, settings.sources.twitter.costs, now=now)
        if budget.state == budgets.REACHED:
            found.append(Notice("warning", "x", budget.message))
    for silence in silent_sources(session, watched_sources(settings), now=now):
        found.append(Notice("warning", silence.source, silence.message))
    return found


def _advice(state: str) -> str:
    if state == "needs re-authorisation":
        return "An admin must connect the account again (Admin > Connections); nothing is lost."
    return "X reads nothing more until the cap resets or is raised in the developer console."


def as_json(items: list[Notice]) -> list[dict[str, str]]:
    return [asdict(n) for n in items]
