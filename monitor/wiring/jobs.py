"""The scheduled jobs of ``serve``: polling, re-scoring, the promise clock, alerts,
Slack invites, webhooks and the reply outbox, each safe in several processes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.delivery import RetryPolicy
from monitor.clocks import advancing
from monitor.config import LoadedConfig
from monitor.db import make_sessionmaker
from monitor.priority.service import Scorer, rescore_waiting
from monitor.promises.clock import ClockPolicy
from monitor.promises.perform import PerformPolicy
from monitor.promises.service import Timing
from monitor.scheduler import JobSpec
from monitor.sla.policy import SlaPolicy
from monitor.storage import leases
from monitor.wiring.responders import build_alert_senders, build_responders, build_slack, secret_box
from monitor.wiring.sources import build_scorer, build_sources, poller, process_id
from responders.webhook import WebhookSender


def scheduled_jobs(loaded: LoadedConfig, engine: Engine) -> list[JobSpec]:
    scorer = build_scorer(loaded)
    jobs = []
    for source, seconds in build_sources(loaded, engine):
        poll = poller(loaded, engine, source, seconds, scorer)
        jobs.append(JobSpec(id=f"poll:{source.name}", seconds=seconds, run=poll))
    return (
        jobs
        + silence_jobs(loaded, engine)
        + rescore_jobs(loaded, engine, scorer=scorer)
        + promise_jobs(loaded, engine, scorer=scorer)
        + reply_jobs(loaded, engine, scorer=scorer)
        + report_jobs(loaded, engine)
    )


def report_jobs(loaded: LoadedConfig, engine: Engine) -> list[JobSpec]:
    """Cause suggestions for unresolved cases without one, every 5 minutes (a suggestion
    is idempotent: two processes storing one for the same case store the same), and the
    weekly digest, checked hourly (once per week by the alerts' unique key)."""
    from monitor.reports.scheduled import suggest_causes

    sessions = make_sessionmaker(engine)
    settings = loaded.settings.reports

    def suggest(now: datetime) -> int:
        return suggest_causes(sessions, settings=settings, now=now)

    jobs = [JobSpec(id="reports:suggest_causes", seconds=300.0, run=suggest)]
    if settings.digest.enabled:
        from monitor.reports.digest import queue_digest

        alerts = loaded.settings.alerts.channels
        slack = loaded.settings.responders.slack

        def digest(now: datetime) -> int:
            with sessions.begin() as session:
                return queue_digest(
                    session,
                    settings=settings,
                    channels=tuple(alerts),
                    slack_channel=slack.alert_channel or slack.default_channel,
                    now=now,
                )

        jobs.append(JobSpec(id="reports:digest", seconds=3600.0, run=digest))
    return jobs


def silence_jobs(loaded: LoadedConfig, engine: Engine) -> list[JobSpec]:
    """The silence alarm, every 15 minutes, for sources with ``silence_alarm_hours``."""
    from monitor.ingest import silence
    from monitor.ingest.notices import watched_sources

    watched = watched_sources(loaded.settings)
    if not watched:
        return []
    sessions = make_sessionmaker(engine)
    channels = loaded.settings.alerts.channels

    def run(now: datetime) -> int:
        with sessions.begin() as s:
            return len(silence.check(s, watched, now=now, channels=channels))

    return [JobSpec(id="sources:silence", seconds=900.0, run=run)]


def rescore_jobs(loaded: LoadedConfig, engine: Engine, *, scorer: Scorer) -> list[JobSpec]:
    """Waiting cases are re-scored periodically (one short transaction per chunk)."""
    sessions = make_sessionmaker(engine)
    holder = process_id()
    minutes = loaded.settings.queue.rescore_minutes

    def run(now: datetime) -> int:
        with sessions.begin() as s:
            if not leases.acquire(
                s, "rescore", holder=holder, now=now, ttl=timedelta(minutes=minutes)
            ):
                return 0
        changed, after = 0, 0
        while True:
            with sessions.begin() as s:
                last, n = rescore_waiting(s, scorer=scorer, now=now, after_id=after)
            changed += n
            if last is None:
                return changed
            after = last

    return [JobSpec(id="queue:rescore", seconds=minutes * 60.0, run=run)]


def promise_policies(loaded: LoadedConfig) -> tuple[ClockPolicy, RetryPolicy, PerformPolicy]:
    s = loaded.settings
    a, slack = s.alerts, s.responders.slack
    clock = ClockPolicy.from_settings(a, alert_channel=slack.alert_channel or slack.default_channel)
    retry = RetryPolicy(
        max_attempts=a.max_attempts,
        first=timedelta(seconds=a.retry_seconds),
        cap=timedelta(seconds=a.retry_max_seconds),
    )
    timing = Timing(
        remind_before=timedelta(minutes=a.remind_before_minutes),
        follow_up=timedelta(hours=a.follow_up_hours),
    )
    perform = PerformPolicy(
        verify_every=timedelta(minutes=slack.verify_minutes),
        max_attempts=slack.max_attempts,
        timing=timing,
    )
    return clock, retry, perform


def promise_jobs(
    loaded: LoadedConfig, engine: Engine, *, scorer: Scorer | None = None
) -> list[JobSpec]:
    """The promise clock, the SLA clock (response-time targets, on the same ladder), the
    alert worker, Slack invites and webhooks, as scheduled jobs.

    Each is safe in several processes: the clock and the workers claim rows with
    SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL) or UPDATE … RETURNING (SQLite), and the
    webhook fan-out holds a lease.
    """
    from monitor.alerts import delivery as alerts
    from monitor.promises import perform as promise_perform
    from monitor.promises import scheduled as promise_tick
    from monitor.sla import scheduled as sla_scheduled

    s = loaded.settings
    sessions = make_sessionmaker(engine)
    scorer = scorer or build_scorer(loaded)
    clock, retry, perform = promise_policies(loaded)
    senders = build_alert_senders(loaded, engine)
    every = float(s.alerts.check_seconds)

    workers = s.alerts.send_workers

    def tick(now: datetime) -> int:
        return promise_tick.run(
            sessions,
            senders,
            clock=advancing(now),
            policy=clock,
            retry=retry,
            scorer=scorer,
            workers=workers,
        )

    def send(now: datetime) -> alerts.DeliveryStats:
        return alerts.deliver(sessions, senders, now=now, policy=retry, workers=workers)

    sla_policy = SlaPolicy.from_settings(s.sla)

    def sla_tick(now: datetime) -> int:
        return sla_scheduled.run(
            sessions,
            senders,
            clock=advancing(now),
            policy=clock,
            sla=sla_policy,
            retry=retry,
            scorer=scorer,
            workers=workers,
        )

    jobs = [
        JobSpec(id="promises:clock", seconds=every, run=tick),
        JobSpec(id="sla:clock", seconds=every, run=sla_tick),
        JobSpec(id="promises:alerts", seconds=min(every, 15.0), run=send),
    ]
    slack = build_slack(loaded)
    if slack is not None:
        inviter = slack

        def invite(now: datetime) -> promise_perform.PerformStats:
            return promise_perform.run(
                sessions, inviter, now=now, policy=perform, clock=clock, scorer=scorer
            )

        jobs.append(JobSpec(id="promises:slack_invites", seconds=every, run=invite))
    if s.webhooks.enabled:
        jobs.extend(_webhook_jobs(loaded, sessions))
    return jobs


def _webhook_jobs(loaded: LoadedConfig, sessions: sessionmaker[Session]) -> list[JobSpec]:
    """Fan events out to subscriptions and deliver them, signed."""
    from monitor.alerts import webhooks

    s = loaded.settings
    poster = WebhookSender.with_timeout(s.webhooks.timeout_seconds)
    box = secret_box(loaded)

    def fan_out(now: datetime) -> int:
        with sessions.begin() as session:
            return webhooks.fan_out(session, now=now)

    def deliver(now: datetime) -> webhooks.WebhookStats:
        return webhooks.deliver(sessions, poster, box=box, now=now, retry=s.webhooks.retry_seconds)

    seconds = float(s.webhooks.poll_seconds)
    return [
        JobSpec(id="webhooks:fan_out", seconds=seconds, run=fan_out),
        JobSpec(id="webhooks:deliver", seconds=seconds, run=deliver),
    ]


def reply_jobs(
    loaded: LoadedConfig, engine: Engine, *, scorer: Scorer | None = None
) -> list[JobSpec]:
    """One job: reconcile replies whose outcome is unknown, then send the due ones.

    Its first run is at start-up, so replies a crashed process left in "sending" are
    looked up before anything else is sent. Safe in several processes (atomic claims).
    """
    from monitor.replies.failures import FailureAlerts
    from monitor.replies.scheduled import deliver_due, reconcile

    s = loaded.settings
    settings = s.replies
    slack = s.responders.slack
    alerts = FailureAlerts(
        channels=tuple(c for c in s.alerts.channels if c != "webhook"),
        slack_channel=slack.alert_channel or slack.default_channel,
    )
    responders = build_responders(loaded, engine)
    sessions = make_sessionmaker(engine)
    holder = process_id()
    scorer = scorer or build_scorer(loaded)

    def run(now: datetime) -> object:
        settled = reconcile(
            sessions,
            responders,
            now=now,
            holder=holder,
            settings=settings,
            scorer=scorer,
            alerts=alerts,
        )
        sent = deliver_due(
            sessions,
            responders,
            now=now,
            holder=holder,
            settings=settings,
            scorer=scorer,
            alerts=alerts,
        )
        return settled, sent

    return [JobSpec(id="replies:deliver", seconds=float(settings.deliver_seconds), run=run)]
