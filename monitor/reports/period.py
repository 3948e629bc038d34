"""What a report is asked for: a period of whole local days, its buckets, the filters.

Days are counted in the report's time zone (``reports.timezone`` or the request's
``tz``): a period from 1 to 7 March in Europe/Berlin starts at 23:00 UTC on 28 February.
Buckets (days up to 62 days, ISO weeks up to 366, months beyond) are computed here, in
Python with zoneinfo, and handed to SQL as UTC instants, so daylight-saving days of 23 or
25 hours and time-zone boundaries are exact on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.reports.service import ReportsError
from monitor.zones import known_zone

MAX_DAYS = 3 * 366
DEFAULT_DAYS = 28


@dataclass(frozen=True)
class Bucket:
    label: str  # the local first day: 2026-03-01 (a week: its Monday; a month: its 1st)
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def _instant(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    first: date  # local days, both included
    last: date
    tz: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start(self) -> datetime:
        return _instant(self.first, self.zone)

    @property
    def end(self) -> datetime:
        return _instant(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one (for "rising" causes)."""
        last = self.first - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, self.tz)

    @property
    def unit(self) -> str:
        return "day" if self.days <= 62 else "week" if self.days <= 366 else "month"

    def buckets(self) -> list[Bucket]:
        out: list[Bucket] = []
        day = self.first
        while day <= self.last:
            if self.unit == "day":
                nxt = day + timedelta(days=1)
            elif self.unit == "week":
                nxt = day + timedelta(days=7 - day.weekday())
            else:
                nxt = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            nxt = min(nxt, self.last + timedelta(days=1))
            out.append(Bucket(day.isoformat(), _instant(day, self.zone), _instant(nxt, self.zone)))
            day = nxt
        return out


def parse_period(first: str | None, last: str | None, *, tz: str, now: datetime) -> Period:
    """``from``/``to`` as YYYY-MM-DD local days (default: the last 28 days to today)."""
    zone = known_zone(tz)
    if zone is None:
        raise ReportsError(f"unknown time zone {tz!r}")
    try:
        end = date.fromisoformat(last) if last else now.astimezone(zone).date()
        start = date.fromisoformat(first) if first else end - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ReportsError("from and to are dates: YYYY-MM-DD") from None
    if start > end:
        raise ReportsError("from is after to")
    if (end - start).days + 1 > MAX_DAYS:
        raise ReportsError(f"a report covers at most {MAX_DAYS} days")
    return Period(start, end, tz)


@dataclass(frozen=True)
class Filters:
    """Which cases count: by channel (of the latest contact), cause, tag, agent (sent a
    reply on it), team (the agent or anyone whose lead they are)."""

    channel: str | None = None
    cause: str | None = None
    tag: str | None = None
    agent_id: int | None = None
    team_id: int | None = None

    def query(self) -> dict[str, str]:
        pairs = {
            "channel": self.channel,
            "cause": self.cause,
            "tag": self.tag,
            "agent": self.agent_id,
            "team": self.team_id,
        }
        return {k: str(v) for k, v in pairs.items() if v is not None}
