"""The promise clock's scheduled job: clock rounds, each round's alerts delivered at once.

A round claims a batch of due promises (``promise_clock``), records their alerts, and
the alert worker (``alerts``) sends what it recorded before the next round, so the
first overdue alert does not wait for the last promise of a large backlog. A backlog
makes this job run long: every round reads the current time from ``clock``, so its
plans and the alert worker's leases are as fresh as any other process's view of them.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import delivery as alerts
from monitor.alerts.delivery import AlertSender, RetryPolicy
from monitor.clocks import Clock
from monitor.priority.service import Scorer
from monitor.promises import clock as promise_clock
from monitor.promises.clock import ClockPolicy


def run(
    sessions: sessionmaker[Session],
    senders: Mapping[str, AlertSender],
    *,
    clock: Clock,
    policy: ClockPolicy,
    retry: RetryPolicy = RetryPolicy(),
    scorer: Scorer | None = None,
    batch: int = 500,
    max_rounds: int = 1000,
    workers: int = 1,
) -> int:
    """Claim a batch, deliver its alerts, repeat until nothing is due; returns how many
    promises were handled."""
    total = 0
    for _ in range(max_rounds):
        handled = promise_clock.run(
            sessions,
            now=clock(),
            clock=clock,
            policy=policy,
            scorer=scorer,
            batch=batch,
            max_batches=1,
        )
        total += handled
        if handled:
            alerts.deliver(
                sessions, senders, now=clock(), clock=clock, policy=retry, workers=workers
            )
        if handled < batch:
            break
    return total
