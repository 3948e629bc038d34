"""What the first poll of a source (no cursor yet) takes: ``sources.*.first_poll``.

``now`` (the default) starts from the install with the last ``backlog_hours`` (24) of
traffic, so a complaint sent the evening before is on the queue but months of old mail
and mentions are not; ``all`` takes everything the account has (the old behaviour); a
date (``2026-11-01``, UTC) takes everything since that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class FirstPollRule:
    start: str = "all"
    backlog_hours: int = 24

    def since(self, now: datetime) -> datetime | None:
        """The oldest time the first poll takes; None = everything."""
        if self.start == "all":
            return None
        if self.start == "now":
            return now - timedelta(hours=self.backlog_hours)
        return datetime.combine(date.fromisoformat(self.start), time(), tzinfo=UTC)
