"""The silence alarm: a source that normally gets traffic and has received nothing for
``silence_alarm_hours`` raises an alert (a broken token or webhook often looks like a
quiet day).

"Normally gets traffic" means its last message arrived within the
:data:`LOOKBACK_FACTOR` windows before the silence: with 6 hours configured, a source
whose last message is 6 to 48 hours old is silent; one quiet for longer than that has
no traffic to miss (and was alerted about when its silence began). One alert per
silence period: its key is the time of the last message, so the next message ends the
period and a later silence alerts again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.alerts.admins import alert_admins
from monitor.models import Mention

LOOKBACK_FACTOR = 8


@dataclass(frozen=True)
class Silence:
    source: str
    last_received_at: datetime
    hours: int

    @property
    def message(self) -> str:
        return (
            f"{self.source} has received nothing for more than {self.hours} h (last message "
            f"{self.last_received_at:%Y-%m-%d %H:%M} UTC); it usually gets traffic. Check its "
            "connection: a revoked token or a broken feed often looks like a quiet day."
        )


def silent_sources(session: Session, watched: dict[str, int], *, now: datetime) -> list[Silence]:
    """``watched``: source name (or ``prefix:*``) -> hours; the ones silent now."""
    found: list[Silence] = []
    for pattern, hours in watched.items():
        if hours <= 0:
            continue
        query = select(Mention.source, func.max(Mention.received_at)).group_by(Mention.source)
        if pattern.endswith("*"):
            query = query.where(Mention.source.startswith(pattern[:-1], autoescape=True))
        else:
            query = query.where(Mention.source == pattern)
        window = timedelta(hours=hours)
        for source, last in session.execute(query).all():
            if last is not None and now - window * LOOKBACK_FACTOR <= last < now - window:
                found.append(Silence(source, last, hours))
    return found


def check(
    session: Session, watched: dict[str, int], *, now: datetime, channels: tuple[str, ...]
) -> list[Silence]:
    """Alert the admins once per silence period of each watched source."""
    silences = silent_sources(session, watched, now=now)
    for silence in silences:
        alert_admins(
            session,
            kind="source.silent",
            key=f"silence:{silence.source}:{silence.last_received_at.isoformat()}",
            message=silence.message,
            now=now,
            channels=channels,
        )
    return silences
