"""The demo's scheduled jobs: the production workers, wired to the simulated vendors.

What ``serve`` schedules from the configuration (``monitor.wiring.jobs``), the demo schedules
with :mod:`monitor.demo.responders` in place of X, SMTP and Slack, and with quicker
clocks so a newcomer sees each step within a minute or two:

- ``replies:deliver`` — the real outbox worker (reconcile, then send due replies);
- ``promises:clock`` — the real promise clock, then the real alert worker (reminders,
  overdue, the escalation ladder, follow-up prompts, retries) every few seconds;
- ``promises:slack_invites`` — the real performing job: invite, verify, fulfil;
- ``queue:rescore`` — ``monitor.wiring.jobs.rescore_jobs`` (the demo sets it to every minute).

The stream's own poll job (:func:`poll_job`) runs the real poller over
:class:`monitor.demo.world.DemoSource`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from monitor.alerts import delivery as alerts
from monitor.alerts.delivery import AlertSender, RetryPolicy
from monitor.clocks import advancing
from monitor.config import AlertsSettings, LoadedConfig
from monitor.db import make_sessionmaker
from monitor.demo.costs import MeteredStream
from monitor.demo.responders import DemoReplies, DemoSlack
from monitor.demo.world import OUR_ADDRESS, DemoSource
from monitor.ingest.polling import poll_source
from monitor.ingest.service import IngestOptions
from monitor.priority.service import Scorer
from monitor.promises import clock as promise_clock
from monitor.promises import perform as promise_perform
from monitor.promises.clock import ClockPolicy
from monitor.promises.perform import PerformPolicy
from monitor.promises.service import Timing
from monitor.replies.scheduled import deliver_due, reconcile
from monitor.scheduler import JobSpec
from monitor.sla import scheduled as sla_scheduled
from monitor.sla.policy import default_policy
from monitor.sources.base import Source
from monitor.sources.twitter.costs import UsageMeter
from monitor.wiring.jobs import report_jobs, rescore_jobs

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

    sla = default_policy()

    def tick(now: datetime) -> int:
        read = advancing(now)  # one clock: the alerts just recorded are due for delivery
        handled = promise_clock.run(sessions, now=now, clock=read, policy=clock, scorer=scorer)
        alerts.deliver(sessions, senders, now=read(), clock=read, policy=RETRY)
        # Response-time targets on the same ladder: Priya's first email is past its
        # target when the demo starts, so its breach and escalation show at once.
        handled += sla_scheduled.run(
            sessions, senders, clock=read, policy=clock, sla=sla, retry=RETRY, scorer=scorer
        )
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
    """Everything but the stream's poll job (:func:`poll_job`)."""
    return [
        reply_job(loaded, engine, replies, scorer=scorer, holder=holder),
        *promise_jobs(engine, slack, scorer=scorer),
        *rescore_jobs(loaded, engine, scorer=scorer),
        *report_jobs(loaded, engine),
    ]


def poll_job(
    engine: Engine,
    source: DemoSource,
    scorer: Scorer,
    *,
    seconds: float = 2.0,
    meter: UsageMeter | None = None,
) -> JobSpec:
    """The real poller over the stream; ``meter`` counts what X would bill for it."""
    sessions = make_sessionmaker(engine)
    options = IngestOptions(own_addresses=(OUR_ADDRESS,))
    polled: Source = MeteredStream(source, meter) if meter is not None else source

    def run(now: datetime) -> Any:
        return poll_source(
            sessions,
            polled,
            now=now,
            scorer=scorer,
            options=options,
            poll_seconds=seconds,
            ignore_backoff=True,
        )

    return JobSpec(id=source.name, seconds=seconds, run=run)
