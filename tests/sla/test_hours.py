"""Business-hours arithmetic: weekends, holidays, DST changes in the team's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.sla import Team
from monitor.sla.hours import BusinessHours

BERLIN = BusinessHours.from_team(
    Team(
        timezone="Europe/Berlin",
        weekdays=("mon", "tue", "wed", "thu", "fri"),
        opens="09:00",
        closes="17:00",
        holidays=(date(2026, 12, 25), date(2026, 12, 28)),
        pause_outside_hours=True,
    )
)
NEW_YORK = BusinessHours.from_team(
    Team(timezone="America/New_York", opens="00:00", closes="24:00", pause_outside_hours=True)
)
ZONE = ZoneInfo("Europe/Berlin")

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)


def test_friday_afternoon_runs_into_monday_morning() -> None:
    start = local(2026, 11, 6, 16, 0)  # Friday 16:00
    assert BERLIN.add(start, timedelta(hours=2)) == local(2026, 11, 9, 10, 0)


def test_holidays_are_skipped() -> None:
    start = local(2026, 12, 24, 16, 30)  # Thursday; Friday 25th and Monday 28th are holidays
    assert BERLIN.add(start, timedelta(hours=1)) == local(2026, 12, 29, 9, 30)


def test_before_opening_starts_at_opening() -> None:
    assert BERLIN.add(local(2026, 11, 4, 6, 0), timedelta(minutes=30)) == local(2026, 11, 4, 9, 30)
    assert BERLIN.add(local(2026, 11, 7, 12, 0), timedelta(0)) == local(2026, 11, 7, 12, 0)


def test_dst_changes_keep_local_opening_hours() -> None:
    # Berlin leaves summer time on Sunday 25 October 2026: Friday 16:00 CEST + 2 h of
    # business time is Monday 10:00 CET, which is 09:00 UTC (not 08:00).
    start = local(2026, 10, 23, 16, 0)
    due = BERLIN.add(start, timedelta(hours=2))
    assert due == local(2026, 10, 26, 10, 0) and due.astimezone(UTC).hour == 9
    # Summer time begins Sunday 29 March 2026: Friday 16:00 CET -> Monday 10:00 CEST.
    spring = BERLIN.add(local(2026, 3, 27, 16, 0), timedelta(hours=2))
    assert spring.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_a_round_the_clock_day_has_23_or_25_hours_at_dst() -> None:
    spring_day = datetime(2026, 3, 8, tzinfo=ZoneInfo("America/New_York"))
    w = NEW_YORK.window(spring_day.date())
    assert w is not None and w[1] - w[0] == timedelta(hours=23)
    autumn = NEW_YORK.window(date(2026, 11, 1))
    assert autumn is not None and autumn[1] - autumn[0] == timedelta(hours=25)


def test_wall_clock_when_not_paused() -> None:
    hours = BusinessHours.from_team(Team(timezone="Europe/Berlin", opens="09:00", closes="17:00"))
    start = local(2026, 11, 7, 23, 0)  # Saturday night
    assert hours.add(start, timedelta(hours=3)) == start + timedelta(hours=3)


@settings(max_examples=300, deadline=None)
@given(moments, spans)
def test_adding_then_measuring_gives_the_span_back(start: datetime, span: timedelta) -> None:
    due = BERLIN.add(start, span)
    assert due >= start
    assert BERLIN.elapsed(start, due) == span
    if span > timedelta(0):
        assert BERLIN.is_open(due - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(moments, spans, spans)
def test_more_time_never_falls_due_earlier(start: datetime, a: timedelta, b: timedelta) -> None:
    shorter, longer = sorted((a, b))
    assert BERLIN.add(start, shorter) <= BERLIN.add(start, longer)
    assert BERLIN.add(start, a + b) == BERLIN.add(BERLIN.add(start, a), b)


@settings(max_examples=200, deadline=None)
@given(moments, moments, spans)
def test_a_later_start_never_falls_due_earlier(a: datetime, b: datetime, span: timedelta) -> None:
    first, second = sorted((a, b))
    assert BERLIN.add(first, span) <= BERLIN.add(second, span)
    assert NEW_YORK.add(first, span) <= NEW_YORK.add(second, span)


@settings(max_examples=200, deadline=None)
@given(moments, spans)
def test_business_time_never_counts_weekends_or_holidays(start: datetime, span: timedelta) -> None:
    due = BERLIN.add(start, span)
    assert BERLIN.elapsed(start, due) <= due - start
    local_due = due.astimezone(ZONE)
    if span > timedelta(0):
        assert local_due.weekday() < 5 and local_due.date() not in BERLIN.holidays
        assert 9 <= local_due.hour < 17 or (local_due.hour, local_due.minute) == (17, 0)


def test_a_team_must_open_some_day() -> None:
    with pytest.raises(ValueError):
        Team(weekdays=())
    with pytest.raises(ValueError):
        Team(opens="17:00", closes="09:00")
    with pytest.raises(ValueError):
        Team(timezone="Mars/Olympus")
