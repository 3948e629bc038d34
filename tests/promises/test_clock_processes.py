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
from sqlalchemy import Engine, func, select

from monitor.alerts import delivery as alerts
from monitor.clocks import advancing
from monitor.db import make_engine, make_sessionmaker
from monitor.models import Alert, AlertState, Event
from monitor.promises import scheduled as promise_tick
from tests.factories import T0
from tests.factories.promises import policy, seed_promises

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


def run_process(url: str, now, recorder: Recorder, errors: list[BaseException]) -> None:
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        pol = policy(channels=("slack",), remind_before_minutes=0)
        clock = advancing(now)  # the clock job, then the alert job, as scheduled
        promise_tick.run(sessions, {"slack": recorder}, clock=clock, policy=pol, batch=250)
        alerts.deliver(
            sessions, {"slack": recorder}, now=clock(), clock=clock, batch=250, max_batches=1000
        )
    except BaseException as exc:  # surfaced by the test
        errors.append(exc)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_processes_send_each_alert_exactly_once(committed_engine: Engine, db_url: str) -> None:
    due = T0 + timedelta(hours=1)
    seed_promises(committed_engine, N, due=due)
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
