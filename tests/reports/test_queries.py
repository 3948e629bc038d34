"""Every report's figures against the hand-computed world of fixture.py, on both
databases: time-zone boundaries, the previous period, reopened and hopped cases,
cancelled and late promises, nearest-rank medians, empty periods, filters."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.config import ReportsSettings
from monitor.reports import figures
from monitor.reports.period import Filters, Period, parse_period
from monitor.reports.service import ReportsError
from monitor.reports.tables import to_csv
from tests.reports.fixture import NOW, build

SETTINGS = ReportsSettings()
BERLIN = Period(date(2026, 3, 2), date(2026, 3, 4), "Europe/Berlin")


def tables(session, name, period=BERLIN, f=Filters()):
    out = figures.run(session, name, period, f, settings=SETTINGS, now=NOW)
    return {t.name: t for t in out}


def test_volume_and_recurrence(session) -> None:
    build(session)
    t = tables(session, "volume")
    assert t["by_cause"].rows == [
        ["Billing", 2, 0, 2],
        ["Delivery", 1, 1, 0],
        ["No cause yet", 0, 1, -1],
    ]
    assert t["rising"].rows == [["Billing", 2, 0, 2]]
    assert t["over_time"].keys == ["day", "billing", "delivery", "total"]
    assert t["over_time"].rows == [
        ["2026-03-02", 1, 0, 1],  # c1 opened 23:30 UTC on 1 March: 00:30 in Berlin
        ["2026-03-03", 1, 0, 1],
        ["2026-03-04", 0, 1, 1],  # c3 at 23:59 Berlin; c4 at midnight is the next day
    ]
    assert t["recurrence"].rows == [
        ["Cases opened", 3, None],
        ["Customers", 2, None],
        ["Repeat complainers (2+ cases)", 1, None],
        ["Cases reopened", 1, 33.3],
        ["Cases that hopped channel", 1, 33.3],
    ]


def test_the_same_days_in_utc_count_other_cases(session) -> None:
    build(session)
    utc = Period(BERLIN.first, BERLIN.last, "UTC")
    assert tables(session, "volume", utc)["by_cause"].rows[:2] == [
        ["Delivery", 2, 1, 1],  # c3 and c4
        ["Billing", 1, 1, 0],  # c2; c1 fell on 1 March, the previous period
    ]


def test_promises(session) -> None:
    build(session)
    t = tables(session, "promises")
    assert t["by_kind"].keys[1:] == [
        "made",
        "kept",
        "kept_late",
        "broken",
        "cancelled",
        "open",
        "median_hours",
    ]
    assert t["by_kind"].rows == [
        ["callback", 2, 0, 0, 0, 1, 1, None],
        ["refund", 2, 1, 1, 0, 0, 0, 4.0],  # 4 h and 12 h: nearest-rank median 4 h
        ["fix", 1, 0, 0, 1, 0, 0, None],
    ]
    assert t["by_owner"].rows == [
        ["ana", 3, 1, 0, 1, 0, 1, 12.0],
        ["bob", 2, 0, 1, 0, 1, 0, 4.0],
    ]
    overdue = t["overdue_now"]
    assert [r[2:4] + r[5:] for r in overdue.rows] == [
        ["callback", "ana", 12.5],
        ["refund", "ana", 2.0],  # made after the period: overdue now all the same
    ]


def test_recovery_stages(session) -> None:
    build(session)
    rows = tables(session, "recovery")["stages"].rows
    assert rows == [
        ["Acknowledged (listened)", 2, 66.7, 1.0, 3.0],
        ["First response", 2, 66.7, 1.5, 4.0],
        ["Apologised", 1, 33.3, 2.0, 2.0],
        ["Agreed the fix", 0, 0.0, None, None],
        ["Acted (promise kept)", 0, 0.0, None, None],
        ["Followed up", 0, 0.0, None, None],
        ["Resolved", 2, 66.7, 10.0, 20.0],
    ]


def test_response_targets(session) -> None:
    """Waits begun 2-4 March (Berlin): c1 first missed (email), c2 first met, c2 next
    missed twice (answered late; unanswered past due), c3 first not due yet at NOW."""
    build(session)
    t = tables(session, "recovery")
    assert t["targets"].rows == [
        ["First response", 3, 1, 1, 1, 50.0],
        ["Next response", 2, 0, 2, 0, 0.0],
    ]
    assert t["targets_over_time"].rows == [
        ["2026-03-02", 1, 0, 1, 0.0, 0, 0, 0, None],  # c1 began 23:30 UTC on 1 March
        ["2026-03-03", 1, 1, 0, 100.0, 1, 0, 1, 0.0],
        ["2026-03-04", 1, 0, 0, None, 1, 0, 1, 0.0],  # c3 at 23:59 Berlin; c4 next day
    ]
    assert t["targets_by_channel"].rows == [
        ["email", 1, 0, 1, 0.0, 0, 0, 0, None],
        ["x", 2, 1, 0, 100.0, 2, 0, 2, 0.0],
    ]
    assert t["targets_by_agent"].rows == [
        ["ana", 1, 0, 1, 0.0, 1, 0, 1, 0.0],
        ["bob", 1, 1, 0, 100.0, 0, 0, 0, None],
        ["(unanswered)", 1, 0, 0, None, 1, 0, 1, 0.0],
    ]
    later = datetime(2026, 3, 6, tzinfo=UTC)  # c3's target has passed too
    out = figures.run(session, "recovery", BERLIN, Filters(), settings=SETTINGS, now=later)
    assert out[1].rows[0] == ["First response", 3, 1, 2, 0, 33.3]
    by_channel = tables(session, "recovery", f=Filters(channel="email"))["targets_by_channel"]
    assert by_channel.rows == [["email", 1, 0, 1, 0.0, 0, 0, 0, None]]
    csv = to_csv(t["targets_by_agent"]).splitlines()
    assert csv[0].startswith("Agent,First response: waits,First response: met,")
    assert csv[3] == "(unanswered),1,0,0,,1,0,1,0.0"


def test_agents(session) -> None:
    build(session)
    assert tables(session, "agents")["agents"].rows == [
        ["ana", 2, 2, 1.5, 3, 1, 0, 1, 1],
        ["bob", 1, 1, 4.0, 2, 0, 1, 0, 0],
    ]


def test_outcome(session) -> None:
    build(session)
    t = tables(session, "outcome")
    assert t["satisfaction"].rows == [[1, 0], [2, 1], [3, 0], [4, 0], [5, 1]]
    assert t["outcome"].rows == [
        ["Surveys sent", 3, None],
        ["Surveys answered", 2, 66.7],
        ["Average answer (1-5)", 3.5, None],
        ["Happy (4 or 5)", 1, 50.0],
        ["Unhappy (reopened)", 1, 50.0],
        ["Cases resolved", 2, None],
        ["Complained again within 30 days", 1, 50.0],  # A's c2 came 1 day after c1
    ]


def test_an_empty_period_has_zeros_and_no_medians(session) -> None:
    build(session)
    empty = Period(date(2025, 1, 1), date(2025, 1, 2), "Europe/Berlin")
    vol = tables(session, "volume", empty)
    assert vol["over_time"].rows == [["2025-01-01", 0], ["2025-01-02", 0]]
    assert vol["by_cause"].rows == [] and vol["recurrence"].rows[0] == ["Cases opened", 0, None]
    assert vol["recurrence"].rows[3] == ["Cases reopened", 0, None]
    assert tables(session, "promises", empty)["by_kind"].rows == []
    assert tables(session, "recovery", empty)["stages"].rows[0] == [
        "Acknowledged (listened)",
        0,
        None,
        None,
        None,
    ]
    assert tables(session, "agents", empty)["agents"].rows == []
    average = tables(session, "outcome", empty)["outcome"].rows[2]
    assert average == ["Average answer (1-5)", None, None]


@pytest.mark.parametrize(
    ("f", "cases"),
    [
        (Filters(channel="email"), 1),
        (Filters(cause="billing"), 2),
        (Filters(cause="none"), 0),
        (Filters(tag="late"), 1),
        (Filters(agent_id=-1), 0),
    ],
)
def test_filters(session, f, cases) -> None:
    build(session)
    assert tables(session, "volume", f=f)["recurrence"].rows[0][1] == cases


def test_agent_and_team_filters(session) -> None:
    w = build(session)
    bob = Filters(agent_id=w.bob)
    assert tables(session, "volume", f=bob)["recurrence"].rows[0][1] == 1  # c2
    assert tables(session, "volume", f=Filters(team_id=w.ana))["recurrence"].rows[0][1] == 2
    assert tables(session, "promises", f=bob)["by_owner"].rows == [["bob", 2, 0, 1, 0, 1, 0, 4.0]]
    assert tables(session, "agents", f=bob)["agents"].rows == [  # the cases bob replied on
        ["ana", 1, 1, None, 0, 0, 0, 0, 1],
        ["bob", 1, 1, 4.0, 2, 0, 1, 0, 0],
    ]


def test_periods_and_buckets() -> None:
    p = parse_period("2026-03-01", "2026-03-31", tz="Europe/Berlin", now=NOW)
    days = p.buckets()
    assert len(days) == 31 and p.unit == "day"
    dst = next(b for b in days if b.label == "2026-03-29")
    assert (dst.end - dst.start).total_seconds() == 23 * 3600  # clocks went forward
    weeks = Period(date(2026, 1, 1), date(2026, 6, 30)).buckets()
    assert weeks[0].label == "2026-01-01" and weeks[1].label == "2026-01-05"  # Mondays
    months = Period(date(2025, 1, 15), date(2026, 6, 30)).buckets()
    assert [b.label for b in months[:2]] == ["2025-01-15", "2025-02-01"]
    default = parse_period(None, None, tz="UTC", now=NOW)
    assert default.days == 28 and default.last == date(2026, 3, 5)
    for bad in (("2026-03-05", "2026-03-01"), ("nope", None), ("2020-01-01", "2026-01-01")):
        with pytest.raises(ReportsError):
            parse_period(*bad, tz="UTC", now=NOW)
    with pytest.raises(ReportsError, match="time zone"):
        parse_period(None, None, tz="Nowhere/Land", now=NOW)


def test_compensation_by_cause_and_kind(session) -> None:
    from decimal import Decimal

    from sqlalchemy import select

    from monitor.models import Promise

    build(session)
    refunds = session.scalars(
        select(Promise).where(Promise.kind == "refund").order_by(Promise.id)
    ).all()
    for p, amount in zip(refunds, ("29", "15", "40"), strict=True):
        p.compensation_kind, p.compensation_amount = "rebate", Decimal(amount)
        p.compensation_currency, p.compensation_reason = "EUR", "double charge"
    session.flush()
    t = tables(session, "promises")["compensation"]
    # Both rebates made in the period were delivered (c1 kept, c2 late), both on billing;
    # the one made after the period is not counted.
    (row,) = t.rows
    assert row[:6] == ["Billing", "rebate", 2, 2, 44.0, "EUR"]
    assert row[6:] == [1, 1]  # both for customer A, who has not written since
