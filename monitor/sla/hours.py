"""Business-hours arithmetic: when a target falls due if the clock stops outside hours.

Pure: a team's opening hours in its own time zone (``zoneinfo``), its working weekdays
and holidays. Every working day's window is built in local time and converted to UTC
on its own, so a DST change shortens or lengthens that day's window by the hour it
gains or loses, and never shifts the opening hour of any other day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config.sla import WEEKDAYS, Team, parse_clock

MAX_DAYS = 3 * 366  # a team with no open day in three years is misconfigured


@dataclass(frozen=True)
class BusinessHours:
    zone: ZoneInfo
    weekdays: frozenset[int]  # 0 = Monday
    opens: time
    closes: time | None  # None: the end of the day
    holidays: frozenset[date]
    pause: bool = True  # False: wall-clock time, hours ignored

    @classmethod
    def from_team(cls, team: Team) -> BusinessHours:
        return cls(
            zone=ZoneInfo(team.timezone),
            weekdays=frozenset(WEEKDAYS.index(d) for d in team.weekdays),
            opens=parse_clock(team.opens) or time(0),
            closes=parse_clock(team.closes),
            holidays=frozenset(team.holidays),
            pause=team.pause_outside_hours,
        )

    @classmethod
    def always(cls) -> BusinessHours:
        return cls(ZoneInfo("UTC"), frozenset(range(7)), time(0), None, frozenset(), pause=False)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours in UTC, or None when closed all day."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        start = datetime.combine(day, self.opens, tzinfo=self.zone)
        if self.closes is None:
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        else:
            end = datetime.combine(day, self.closes, tzinfo=self.zone)
        begin, close = start.astimezone(UTC), end.astimezone(UTC)
        return (begin, close) if close > begin else None  # a DST gap can swallow short hours

    def _windows_from(self, moment: datetime) -> list[tuple[datetime, datetime]]:
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        found = []
        for _ in range(MAX_DAYS):
            w = self.window(day)
            day += timedelta(days=1)
            if w is not None and w[1] > moment:
                found.append((max(w[0], moment), w[1]))
                return found
        raise ValueError("no opening hours in the next three years")

    def add(self, start: datetime, delta: timedelta) -> datetime:
        """``start`` plus ``delta`` of open time (the moment a target falls due)."""
        if not self.pause:
            return start + delta
        if delta <= timedelta(0):
            return start
        remaining = delta
        moment = start
        for _ in range(MAX_DAYS):
            ((begin, end),) = self._windows_from(moment)
            if end - begin >= remaining:
                return begin + remaining
            remaining -= end - begin
            moment = end
        raise ValueError("target too long for the team's hours")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time between two moments (zero when ``end`` is not after ``start``)."""
        if end <= start:
            return timedelta(0)
        if not self.pause:
            return end - start
        total = timedelta(0)
        moment = start
        while moment < end:
            ((begin, close),) = self._windows_from(moment)
            if begin >= end:
                break
            total += min(close, end) - begin
            moment = close
        return total

    def is_open(self, moment: datetime) -> bool:
        if not self.pause:
            return True
        w = self.window(moment.astimezone(self.zone).date())
        return w is not None and w[0] <= moment < w[1]
