"""Two alert workers and a run that outlives its lease: every alert is still sent once.

Time is a controlled clock that the senders move on (a slow Slack, a stalled SMTP
server); nothing sleeps. Worker B runs in the middle of one of worker A's sends, the
moment a second scheduler process would find A's claims stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from monitor.alerts import delivery as alerts
from monitor.db import make_sessionmaker
from monitor.models import Alert, AlertState, Event
from monitor.promises import scheduled as promise_tick
from tests.factories import T0
from tests.factories.promises import policy, seed_promises


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Sender:
    """Counts what it sends; each send takes ``takes`` on the clock, and ``during[n]``
    runs inside its n-th send (0-based), after that time has passed."""

    def __init__(
        self,
        clock: FakeClock,
        sent: Counter[int],
        takes: list[timedelta] | None = None,
        during: dict[int, Callable[[], object]] | None = None,
    ) -> None:
        self.clock, self.sent = clock, sent
        self.takes, self.during = takes or [], during or {}
        self.calls = 0

    def send(self, alert: alerts.AlertOut) -> str | None:
        n, self.calls = self.calls, self.calls + 1
        self.sent[alert.id] += 1
        if n < len(self.takes):
            self.clock.now += self.takes[n]
        if n in self.during:
            self.during[n]()
        return f"ref-{alert.id}"


def pending_alerts(engine: Engine, n: int, *, at: datetime) -> list[int]:
    rows = [
        {
            "kind": "promise.overdue",
            "channel": "slack",
            "target": f"C{i:03d}",
            "dedupe_key": f"test:{i}",
            "state": AlertState.PENDING,
            "attempts": 0,
            "message": f"alert {i}",
            "created_at": at,
            "next_attempt_at": at,
        }
        for i in range(n)
    ]
    with make_sessionmaker(engine).begin() as s:
        return list(s.scalars(insert(Alert).returning(Alert.id), rows))


def settled(engine: Engine) -> tuple[int, int]:
    """(alerts marked sent, alert.sent events) in the database."""
    with make_sessionmaker(engine)() as s:
        sent = s.scalar(select(func.count()).where(Alert.state == AlertState.SENT))
        logged = s.scalar(select(func.count()).where(Event.kind == "alert.sent"))
        return sent or 0, logged or 0


def test_a_batch_sent_for_longer_than_the_lease_is_sent_once(committed_engine: Engine) -> None:
    """A claims three alerts (lease: 5 minutes). Sending the first takes 1.5 minutes,
    the second 3.8: B, running at T+5.3, would find all three claims stale if A had
    not renewed them with the current time. Each alert goes out once."""
    ids = pending_alerts(committed_engine, 3, at=T0)
    sessions = make_sessionmaker(committed_engine)
    clock, sent = FakeClock(T0), Counter[int]()
    b_stats: list[alerts.DeliveryStats] = []

    def worker_b() -> None:
        b = Sender(clock, sent)
        b_stats.append(alerts.deliver(sessions, {"slack": b}, now=clock(), clock=clock))

    takes = [timedelta(minutes=1.5), timedelta(minutes=3.8)]
    slow = Sender(clock, sent, takes, {1: worker_b})
    stats = alerts.deliver(sessions, {"slack": slow}, now=clock(), clock=clock)

    assert sent == Counter({i: 1 for i in ids})
    assert (stats.sent, stats.lost, b_stats[0].sent) == (3, 0, 0)
    assert settled(committed_engine) == (3, 3)


def test_a_send_stalled_past_the_lease_repeats_only_itself(committed_engine: Engine) -> None:
    """Beyond what a lease can promise: A's second send stalls for 6 minutes, longer
    than the whole lease. B takes the second and third alerts over and sends them.
    The stalled one goes out twice (at least once), but A does not send the third,
    and writes nothing over B's outcomes."""
    first, second, third = pending_alerts(committed_engine, 3, at=T0)
    sessions = make_sessionmaker(committed_engine)
    clock, sent = FakeClock(T0), Counter[int]()

    def worker_b() -> None:
        b = Sender(clock, sent)
        assert alerts.deliver(sessions, {"slack": b}, now=clock(), clock=clock).sent == 2

    takes = [timedelta(minutes=1.5), timedelta(minutes=6)]
    slow = Sender(clock, sent, takes, {1: worker_b})
    stats = alerts.deliver(sessions, {"slack": slow}, now=clock(), clock=clock)

    assert sent == Counter({first: 1, second: 2, third: 1})
    assert (stats.sent, stats.lost) == (1, 2)
    assert settled(committed_engine) == (3, 3)  # one alert.sent event each


def test_a_clock_tick_outliving_the_lease_claims_each_round_at_the_current_time(
    committed_engine: Engine,
) -> None:
    """The clock job handles one promise per round and delivers its alert at once; each
    send takes 3 minutes, so the third round starts 6 minutes after the job did. B runs
    the alert worker then: nothing of A's may look stale to it."""
    due = T0 + timedelta(hours=1)
    seed_promises(committed_engine, 3, due=due)
    sessions = make_sessionmaker(committed_engine)
    clock, sent = FakeClock(due), Counter[int]()
    b_stats: list[alerts.DeliveryStats] = []

    def worker_b() -> None:
        b_stats.append(alerts.deliver(sessions, {"slack": Sender(clock, sent)}, now=clock()))

    three = [timedelta(minutes=3)] * 3
    slow = Sender(clock, sent, three, {1: worker_b})
    pol = policy(channels=("slack",), remind_before_minutes=0)
    handled = promise_tick.run(sessions, {"slack": slow}, clock=clock, policy=pol, batch=1)

    assert handled == 3
    assert sorted(sent.values()) == [1, 1, 1]
    assert b_stats[0].sent == 0  # every claim of A's was still fresh at T+6
    assert settled(committed_engine) == (3, 3)
    with make_sessionmaker(committed_engine)() as s:
        created = sorted(s.scalars(select(Alert.created_at)))
    assert created == [due, due + timedelta(minutes=3), due + timedelta(minutes=6)]
