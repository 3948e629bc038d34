"""Budgets for X spending: approaching alerts the admins once, reached slows polling.

States, per UTC day and UTC calendar month (``sources.twitter.costs.budgets``):

    ok           under ``approaching_percent`` of every budget
    approaching  past it: admins are alerted once per budget and period
    reached      at or over a budget: admins are alerted once, X is polled no more often
                 than ``floor_poll_seconds`` and the queue shows a notice

X's own monthly usage cap is a different thing (a 429 from X, ``MonthlyCapReached``):
this is the desk keeping spending where the team decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.alerts.admins import alert_admins
from monitor.config.costs import XCosts
from monitor.usage.meter import summary

OK, APPROACHING, REACHED = "ok", "approaching", "reached"


@dataclass(frozen=True)
class BudgetState:
    state: str
    message: str = ""
    spent_today: float = 0.0
    spent_month: float = 0.0
    budget: str = ""  # daily | monthly: the one the state is about
    period: str = ""  # 2026-12-01 | 2026-12


def evaluate(session: Session, costs: XCosts, *, now: datetime) -> BudgetState:
    """The worst state over the daily and monthly budgets (no side effects)."""
    s = summary(session, prices=costs.prices, now=now)
    b = costs.budgets
    worst = BudgetState(OK, spent_today=s.today.usd, spent_month=s.month.usd)
    for label, spent, limit, period in (
        ("daily", s.today.usd, b.daily_usd, s.today.label),
        ("monthly", s.month.usd, b.monthly_usd, s.month.label),
    ):
        if limit <= 0:
            continue
        if spent >= limit:
            message = (
                f"X {label} budget reached ({period}: ${spent:.2f} of ${limit:.2f}): "
                f"polling X every {b.floor_poll_seconds // 60} min until it resets"
            )
            return BudgetState(REACHED, message, s.today.usd, s.month.usd, label, period)
        if spent >= limit * b.approaching_percent / 100 and worst.state == OK:
            message = f"X {label} budget approaching ({period}: ${spent:.2f} of ${limit:.2f})"
            worst = BudgetState(APPROACHING, message, s.today.usd, s.month.usd, label, period)
    return worst


def check(
    session: Session, costs: XCosts, *, now: datetime, channels: tuple[str, ...]
) -> BudgetState:
    """Evaluate, and alert the admins once per budget, period and state."""
    state = evaluate(session, costs, now=now)
    if state.state != OK:
        alert_admins(
            session,
            kind=f"x.budget.{state.state}",
            key=f"x-budget:{state.budget}:{state.period}:{state.state}",
            message=state.message,
            now=now,
            channels=channels,
        )
    return state
