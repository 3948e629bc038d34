"""Two scheduler processes, one database, 10,000 promises falling due: one alert each.

Each "process" is a thread with its own engine (its own connection pool), running the
clock and the alert worker exactly as the scheduled jobs do. On PostgreSQL the claims
are ``FOR UPDATE SKIP LOCKED``; on SQLite an ``UPDATE … RETURNING`` under the write
lock. The transition events (``promise.overdue``) are not protected by any unique key,
so counting them checks the claim itself, not just the alerts' dedupe keys.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from monitor import alerts, promise_clock
from monitor.db import make_engine, make_sessionmaker
from monitor.models import Alert, AlertState, Case, Customer, Event, Promise, Staff
from tests.factories import T0
from tests.promise_support import policy

N = 10_000


class Recorder:
    """An alert sender that counts what it was asked to deliver."""

    def __init__(self) -> None:
        self.sent: Counter[tuple[Any, ...]] = Counter()
        self.lock = threading.Lock()

    def send(self, alert: alerts.AlertOut) -> str | None:
        with self.lock:
            self.sent[(alert.promise_id, alert.kind, alert.channel, alert.target)] += 1
        return None


def seed(engine: Engine, n: int, *, due) -> None:
    with make_sessionmaker(engine).begin() as s:
        owner = Staff(
            name="omar",
            email="omar@acme.test",
            password_hash="x",
            role="agent",
            timezone="UTC",
            active=True,
            created_at=T0,
        )
        s.add(owner)
        s.flush()
        customers = [{"display_name": f"c{i}", "value": 0.0, "created_at": T0} for i in range(100)]
        cust_ids = s.scalars(insert(Customer).returning(Customer.id), customers).all()
        cases = [
            {"customer_id": c, "channel": "x", "status": "open", "created_at": T0, "updated_at": T0}
            for c in cust_ids
        ]
        case_ids = s.scalars(insert(Case).returning(Case.id), cases).all()
        rows = [
            {
                "case_id": case_ids[i % 100],
                "customer_id": cust_ids[i % 100],
                "owner_id": owner.id,
                "kind": "callback",
                "wording": f"I'll call you back ({i}).",
                "due_at": due,
                "owner_timezone": "UTC",
                "state": "open",
                "escalation_step": 0,
                "next_action_at": due,
                "created_at": T0,
                "updated_at": T0,
            }
            for i in range(n)
        ]
        for i in range(0, n, 2000):
            s.execute(insert(Promise), rows[i : i + 2000])


def run_process(url: str, now, recorder: Recorder, errors: list[BaseException]) -> None:
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        pol = policy(channels=("slack",), remind_before_minutes=0)
        promise_clock.run(sessions, now=now, policy=pol, batch=250, max_batches=1000)
        alerts.deliver(sessions, {"slack": recorder}, now=now, batch=250, max_batches=1000)
    except BaseException as exc:  # surfaced by the test
        errors.append(exc)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_processes_send_each_alert_exactly_once(committed_engine: Engine, db_url: str) -> None:
    due = T0 + timedelta(hours=1)
    seed(committed_engine, N, due=due)
    recorder, errors = Recorder(), []
    now = due + timedelta(seconds=1)
    threads = [
        threading.Thread(target=run_process, args=(db_url, now, recorder, errors)) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    assert sum(recorder.sent.values()) == N
    assert set(recorder.sent.values()) == {1}
    with make_sessionmaker(committed_engine)() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == N
        assert s.scalar(select(func.count()).where(Alert.state == AlertState.SENT)) == N
        overdue = select(func.count()).where(Event.kind == "promise.overdue")
        assert s.scalar(overdue) == N  # every transition happened exactly once
        per_promise = select(Alert.promise_id, func.count()).group_by(Alert.promise_id)
        assert {n for _, n in s.execute(per_promise)} == {1}

    # the next step (the lead, an hour later) is again exactly one per promise
    recorder2, errors2 = Recorder(), []
    later_now = due + timedelta(minutes=61)
    threads = [
        threading.Thread(target=run_process, args=(db_url, later_now, recorder2, errors2))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors2, errors2
    # no lead exists, so the "lead" rung reaches the owner's lead fallback: the alert
    # channel; one alert per promise for that step, none repeated from step 0
    assert sum(recorder2.sent.values()) == N and set(recorder2.sent.values()) == {1}
