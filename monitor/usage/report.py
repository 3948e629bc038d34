"""The cost meter's figures for ``/healthz`` (JSON) and ``/metrics`` (Prometheus gauges)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.usage import budgets
from monitor.usage.meter import summary

Sample = tuple[dict[str, Any], float]


def x_costs(session: Session, settings: Settings, *, now: datetime) -> dict[str, Any]:
    costs = settings.sources.twitter.costs
    figures: dict[str, Any] = summary(session, prices=costs.prices, now=now).as_json()
    state = budgets.evaluate(session, costs, now=now)
    figures["budget"] = {
        "state": state.state,
        "message": state.message,
        "daily_usd": costs.budgets.daily_usd or None,
        "monthly_usd": costs.budgets.monthly_usd or None,
    }
    return figures


def x_cost_gauges(
    session: Session, settings: Settings, *, now: datetime
) -> list[tuple[str, str, list[Sample]]]:
    s = summary(session, prices=settings.sources.twitter.costs.prices, now=now)
    resources: list[Sample] = []
    spend: list[Sample] = []
    for period, name in ((s.today, "today"), (s.month, "month")):
        for line in period.lines:
            labels = {"period": name, "endpoint": line.endpoint, "resource": line.resource,
                      "owned": str(line.owned).lower()}  # fmt: skip
            resources.append((labels, float(line.count)))
        spend.append(({"period": name}, period.usd))
    return [
        ("complaint_monitor_x_billable_resources",
         "X resources billed (once per UTC day each), today and this UTC month.", resources),
        ("complaint_monitor_x_cost_usd",
         "X spending in US dollars at the configured prices, today and this UTC month.", spend),
    ]  # fmt: skip
