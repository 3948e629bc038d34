"""The demo's scheduled jobs: the production workers, wired to the simulated vendors.

What ``serve`` schedules from the configuration (``monitor.wiring.build``), the demo schedules
with :mod:`monitor.demo.responders` in place of X, SMTP and Slack, and with quicker
clocks so a newcomer sees each step within a minute or two:

- ``replies:deliver`` — the real outbox worker (reconcile, then send due replies);
- ``promises:clock`` — the real promise clock, then the real alert worker (reminders,
  overdue, the escalation ladder, follow-up prompts, retries) every few seconds;
- ``promises:slack_invites`` — the real performing job: invite, verify, fulfil;
- ``queue:rescore`` — ``wiring.rescore_jobs`` (the demo sets it to every minute).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from monitor.alerts import delivery as alerts
from monitor.alerts.delivery import AlertSender, RetryPolicy
from monitor.clocks import advancing
from monitor.config import AlertsSettings, LoadedConfig
from monitor.db import make_sessionmaker
from monitor.demo.responders import DemoReplies, DemoSlack
from monitor.priority.service import Scorer
from monitor.promises import clock as promise_clock
from monitor.promises import perform as promise_perform
from monitor.promises.clock import ClockPolicy
from monitor.promises.perform import PerformPolicy
from monitor.promises.service import Timing
from monitor.replies.scheduled import deliver_due, reconcile
from monitor.scheduler import JobSpec
from monitor.wiring.build import rescore_jobs

ALERT_CHANNEL = "#support-alerts"
CHECK_SECONDS = 3.0
TIMING = Timing(remind_before=timedelta(minutes=60), follow_up=timedelta(minutes=1))
PERFORM = PerformPolicy(
    verify_every=timedelta(seconds=5), max_attempts=8, first_retry=timedelta(seconds=5),
    timing=TIMING,
)  # fmt: skip
RETRY = RetryPolicy(max_attempts=4, first=timedelta(seconds=5), cap=timedelta(seconds=30))


def clock_policy() -> ClockPolicy:
    """The production defaults (ladder: owner, then lead after 1 h, then the channel)."""
    return ClockPolicy.from_settings(
        AlertsSettings(channels=("slack",)), alert_channel=ALERT_CHANNEL
    )


def reply_job(
    loaded: LoadedConfig, engine: Engine, replies: DemoReplies, *, scorer: Scorer, holder: str
) -> JobSpec:
    settings = loaded.settings.replies
    sessions = make_sessionmaker(engine)
    responders = {"x": replies, "x_dm": replies, "email": replies}

    def run(now: datetime) -> object:
        settled = reconcile(
            sessions, responders, now=now, holder=holder, settings=settings, scorer=scorer
        )
        sent = deliver_due(
            sessions, responders, now=now, holder=holder, settings=settings, scorer=scorer
        )
        return settled, sent

    return JobSpec(id="replies:deliver", seconds=float(settings.deliver_seconds), run=run)


def promise_jobs(engine: Engine, slack: DemoSlack, *, scorer: Scorer) -> list[JobSpec]:
    sessions = make_sessionmaker(engine)
    clock = clock_policy()
    senders: dict[str, AlertSender] = {"slack": slack}

    def tick(now: datetime) -> int:
        read = advancing(now)  # one clock: the alerts just recorded are due for delivery
        handled = promise_clock.run(sessions, now=now, clock=read, policy=clock, scorer=scorer)
        alerts.deliver(sessions, senders, now=read(), clock=read, policy=RETRY)
        return handled

    def invite(now: datetime) -> promise_perform.PerformStats:
        return promise_perform.run(
            sessions, slack, now=now, policy=PERFORM, clock=clock, scorer=scorer
        )

    return [
        JobSpec(id="promises:clock", seconds=CHECK_SECONDS, run=tick),
        JobSpec(id="promises:slack_invites", seconds=CHECK_SECONDS, run=invite),
    ]


def demo_jobs(
    loaded: LoadedConfig,
    engine: Engine,
    *,
    replies: DemoReplies,
    slack: DemoSlack,
    scorer: Scorer,
    holder: str,
) -> list[JobSpec]:
    """Everything but the stream's poll job (built in ``monitor.demo.world``)."""
    return [
        reply_job(loaded, engine, replies, scorer=scorer, holder=holder),
        *promise_jobs(engine, slack, scorer=scorer),
        *rescore_jobs(loaded, engine, scorer=scorer),
    ]
