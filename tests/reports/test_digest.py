"""The weekly digest: due on the configured local weekday and hour, recorded once per
channel and recipient however often the job runs, and sent by the alert worker through
the ordinary alert senders (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from monitor.alerts.delivery import deliver
from monitor.config import DigestSettings, ReportsSettings
from monitor.db import make_sessionmaker
from monitor.models import Alert
from monitor.reports.digest import compose, due_period, queue_digest
from tests.reports.fixture import build

SETTINGS = ReportsSettings(
    timezone="Europe/Berlin",
    digest=DigestSettings(enabled=True, weekday="mon", hour=8, recipients=("lead@acme.test",)),
)
MONDAY_9 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, alert) -> str:
        self.sent.append((alert.kind, alert.target, alert.message))
        return "ok"


def test_digest_time_and_week() -> None:
    assert due_period(SETTINGS, now=datetime(2026, 3, 9, 6, 59, tzinfo=UTC)) is None  # 07:59
    week = due_period(SETTINGS, now=MONDAY_9)
    assert week is not None and (str(week.first), str(week.last)) == ("2026-03-02", "2026-03-08")
    assert due_period(SETTINGS, now=datetime(2026, 3, 10, 9, tzinfo=UTC)) is None  # Tuesday


def test_digest_text(session) -> None:
    build(session)
    week = due_period(SETTINGS, now=MONDAY_9)
    assert week is not None
    text = compose(session, week, settings=SETTINGS, now=MONDAY_9)
    assert text.splitlines() == [
        "Week 2026-03-02 to 2026-03-08 (Europe/Berlin): 4 new cases.",
        "Top causes: Billing 2 (+2), Delivery 2 (+1).",
        "Promises: 6 made, 1 broken, 1 kept late; 2 overdue now.",
        "Slowest stages (median / 90th percentile, hours): Resolved 10.0 / 20.0; "
        "First response 1.5 / 4.0; Acknowledged (listened) 1.0 / 3.0.",
    ]


def test_digest_goes_once_through_the_alert_channels(committed_engine) -> None:
    sessions = make_sessionmaker(committed_engine)
    with sessions.begin() as s:
        build(s)
    for _ in range(3):  # the hourly job, or three processes
        with sessions.begin() as s:
            queue_digest(
                s,
                settings=SETTINGS,
                channels=("slack", "email"),
                slack_channel="C0ALERT",
                now=MONDAY_9,
            )
    with sessions() as s:
        alerts = s.scalars(select(Alert).order_by(Alert.channel)).all()
        assert [(a.channel, a.target, a.kind) for a in alerts] == [
            ("email", "lead@acme.test", "reports.digest"),
            ("slack", "C0ALERT", "reports.digest"),
        ]
    slack, mail = Recorder(), Recorder()
    stats = deliver(sessions, {"slack": slack, "email": mail}, now=MONDAY_9)
    assert stats is not None
    assert [t for _, t, _ in slack.sent] == ["C0ALERT"]
    assert mail.sent[0][2].startswith("Week 2026-03-02 to 2026-03-08")
    off = ReportsSettings(timezone="Europe/Berlin")
    with sessions.begin() as s:
        n = queue_digest(s, settings=off, channels=("slack",), slack_channel="C", now=MONDAY_9)
        assert n == 0
