"""The SLA clock's scheduled job: targets for cases without one, then clock rounds, each
round's alerts delivered at once (as :mod:`monitor.promises.scheduled` does)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import delivery as alerts
from monitor.alerts.delivery import AlertSender, RetryPolicy
from monitor.clocks import Clock
from monitor.priority.service import Scorer
from monitor.promises.clock import ClockPolicy
from monitor.sla import clock as sla_clock
from monitor.sla.policy import SlaPolicy


def run(
    sessions: sessionmaker[Session],
    senders: Mapping[str, AlertSender],
    *,
    clock: Clock,
    policy: ClockPolicy,
    sla: SlaPolicy,
    retry: RetryPolicy = RetryPolicy(),
    scorer: Scorer | None = None,
    batch: int = 500,
    max_rounds: int = 1000,
    workers: int = 1,
) -> int:
    """Returns how many cases the clock handled."""
    if not sla.enabled:
        return 0
    with sessions.begin() as session:
        sla_clock.backfill(session, sla)
    total = 0
    for _ in range(max_rounds):
        with sessions.begin() as session:
            handled = sla_clock.tick(
                session, now=clock(), policy=policy, scorer=scorer, limit=batch
            )
        total += handled
        if handled:
            alerts.deliver(
                sessions, senders, now=clock(), clock=clock, policy=retry, workers=workers
            )
        if handled < batch:
            break
    return total
