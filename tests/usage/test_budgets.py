"""Budgets over the meter: approaching alerts once per budget and period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config.costs import XBudgets, XCosts
from monitor.models import Alert
from monitor.sources.twitter.costs import Billable
from monitor.usage import budgets
from monitor.usage.meter import record

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def spend_posts(session: Session, n: int, *, day: datetime = NOW, start: int = 0) -> None:
    items = [Billable("post", str(i)) for i in range(start, start + n)]
    record(session, "GET /2/users/:id/mentions", items, now=day)  # $0.005 each


@pytest.mark.db
def test_approaching_then_reached_alert_once_each(session: Session) -> None:
    costs = XCosts(budgets=XBudgets(daily_usd=0.05, approaching_percent=80))
    spend_posts(session, 8)  # $0.04 = 80 %
    state = budgets.check(session, costs, now=NOW, channels=())
    assert (state.state, state.budget, state.period) == ("approaching", "daily", "2026-12-01")
    budgets.check(session, costs, now=NOW + timedelta(minutes=5), channels=())
    spend_posts(session, 8)  # the same posts again today: no more spending
    assert budgets.evaluate(session, costs, now=NOW).spent_today == pytest.approx(0.04)
    spend_posts(session, 2, start=8)  # $0.05
    assert budgets.check(session, costs, now=NOW, channels=()).state == "reached"
    kinds = [a.kind for a in session.scalars(select(Alert).order_by(Alert.id))]
    assert kinds == ["x.budget.approaching", "x.budget.reached"]


@pytest.mark.db
def test_a_new_day_starts_again_but_the_month_adds_up(session: Session) -> None:
    costs = XCosts(budgets=XBudgets(daily_usd=0.05, monthly_usd=0.08))
    spend_posts(session, 10)  # $0.05 on 1 December
    tomorrow = NOW + timedelta(days=1)
    spend_posts(session, 4, day=tomorrow)  # the same 4 posts on a new day: billed again
    state = budgets.evaluate(session, costs, now=tomorrow)
    assert state.spent_today == pytest.approx(0.02) and state.spent_month == pytest.approx(0.07)
    assert (state.state, state.budget) == ("approaching", "monthly")
