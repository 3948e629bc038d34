"""The only place that builds concrete sources, scorers and jobs from the configuration."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from monitor.alerts.delivery import AlertOut, AlertSender, RetryPolicy
from monitor.clocks import advancing
from monitor.config import ConfigError, LoadedConfig
from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.polling import PollResult, poll_source
from monitor.ingest.service import IngestOptions
from monitor.priority.service import ModelScorer, Scorer, rescore_waiting
from monitor.promises.clock import ClockPolicy
from monitor.promises.perform import PerformPolicy
from monitor.promises.service import Timing
from monitor.scheduler import JobSpec
from monitor.sources.base import Source
from monitor.storage import leases
from monitor.storage.secret_box import SecretBox
from responders.base import Responder
from responders.email import SmtpOptions
from responders.slack import SlackResponder
from responders.staff_mail import StaffMailer
from responders.webhook import WebhookSender


def process_id() -> str:
    """Identifies this process as a lease holder: host, pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def build_scorer(loaded: LoadedConfig) -> Scorer:
    from monitor.scoring import load_model

    settings = loaded.settings.scoring
    return ModelScorer(load_model(settings.model_path), settings)


def ingest_options(loaded: LoadedConfig) -> IngestOptions:
    s = loaded.settings
    return IngestOptions(
        hop_window=timedelta(days=s.queue.hop_window_days),
        link_stated=s.queue.link_stated_identities,
        own_addresses=tuple(a.lower() for a in s.sources.email.own_addresses),
    )


def build_sources(loaded: LoadedConfig) -> list[tuple[Source, float]]:
    """Every enabled source with its poll interval in seconds."""
    try:
        return _build_sources(loaded)
    except ValueError as exc:
        raise ConfigError(f"sources: {exc}") from None


def _build_sources(loaded: LoadedConfig) -> list[tuple[Source, float]]:
    s = loaded.settings.sources
    found: list[tuple[Source, float]] = []
    if s.twitter.enabled:
        from monitor.sources.twitter import XDirectMessagesSource, XMentionsSource

        found.append(
            (XMentionsSource.from_settings(s.twitter, loaded.secret), s.twitter.poll_seconds)
        )
        if s.twitter.poll_dms:
            found.append(
                (
                    XDirectMessagesSource.from_settings(s.twitter, loaded.secret),
                    s.twitter.poll_seconds,
                )
            )
    if s.email.enabled:
        from monitor.sources.email.imap import from_settings as email_sources

        found.extend((src, s.email.poll_seconds) for src in email_sources(s.email, loaded.secret))
    return found


def _poller(
    loaded: LoadedConfig, engine: Engine, source: Source, poll_seconds: float, scorer: Scorer
) -> Callable[[datetime], PollResult]:
    sessions = make_sessionmaker(engine)
    options = ingest_options(loaded)
    holder = process_id()

    def run(now: datetime) -> PollResult:
        return poll_source(
            sessions,
            source,
            now=now,
            holder=holder,
            scorer=scorer,
            options=options,
            poll_seconds=poll_seconds,
        )

    return run


def scheduled_jobs(loaded: LoadedConfig, engine: Engine) -> list[JobSpec]:
    scorer = build_scorer(loaded)
    jobs = []
    for source, seconds in build_sources(loaded):
        poll = _poller(loaded, engine, source, seconds, scorer)
        jobs.append(JobSpec(id=f"poll:{source.name}", seconds=seconds, run=poll))
    return (
        jobs
        + rescore_jobs(loaded, engine, scorer=scorer)
        + promise_jobs(loaded, engine, scorer=scorer)
        + reply_jobs(loaded, engine, scorer=scorer)
    )


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


def poll_all(loaded: LoadedConfig, engine: Engine) -> list[PollResult]:
    sources = build_sources(loaded)
    if not sources:
        return []
    scorer = build_scorer(loaded)
    return [_poller(loaded, engine, src, secs, scorer)(utcnow()) for src, secs in sources]


# --- promises: clock, alert worker, Slack invites, webhooks ---------------------------


class _MailAlerts:
    """Alert sender over SMTP (responders.email settings)."""

    def __init__(self, mailer: StaffMailer) -> None:
        self.mailer = mailer

    def send(self, alert: AlertOut) -> str | None:
        subject = f"[complaint-monitor] {alert.kind.replace('.', ' ')} (case #{alert.case_id})"
        return self.mailer.notify(alert.target, subject, alert.message)


def build_slack(loaded: LoadedConfig) -> SlackResponder | None:
    slack = loaded.settings.responders.slack
    token = loaded.secret(slack.token_env) if slack.enabled else None
    if not token:
        return None
    return SlackResponder.connect(
        token=token,
        base_url=slack.api_base_url,
        channel=slack.default_channel,
        mode=slack.mode,
        timeout=slack.timeout_seconds,
    )


def smtp_options(loaded: LoadedConfig) -> SmtpOptions:
    """``responders.email`` as the SMTP client options (replies and staff alerts alike)."""
    smtp = loaded.settings.responders.email
    return SmtpOptions(
        host=smtp.host,
        port=smtp.port,
        from_address=smtp.from_address,
        tls=smtp.tls,
        username=smtp.username,
        password=loaded.secret(smtp.password_env),
        timeout=smtp.timeout_seconds,
        html_alternative=smtp.html_alternative,
        ca_file=smtp.ca_file,
    )


def build_alert_senders(loaded: LoadedConfig) -> dict[str, AlertSender]:
    """One sender per configured alert channel that has what it needs."""
    s = loaded.settings
    senders: dict[str, AlertSender] = {}
    if "slack" in s.alerts.channels and (slack := build_slack(loaded)) is not None:
        senders["slack"] = slack
    if "email" in s.alerts.channels and s.responders.email.enabled:
        senders["email"] = _MailAlerts(StaffMailer(smtp_options(loaded)))
    return senders


def secret_box(loaded: LoadedConfig) -> SecretBox:
    """The box sealing webhook signing secrets, keyed by the session secret (the same one
    the web app's box uses, so secrets it seals are opened here)."""
    env_name = loaded.settings.server.session_secret_env
    key = loaded.secret(env_name)
    if not key:
        raise ConfigError(
            f"webhooks.enabled: environment variable {env_name} (server.session_secret_env) "
            "is not set; it is the key that seals webhook signing secrets"
        )
    return SecretBox(key)


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
    """The promise clock, the alert worker, Slack invites and webhooks, as scheduled jobs.

    Each is safe in several processes: the clock and the workers claim rows with
    SELECT … FOR UPDATE SKIP LOCKED (PostgreSQL) or UPDATE … RETURNING (SQLite), and the
    webhook fan-out holds a lease.
    """
    from monitor.alerts import delivery as alerts
    from monitor.alerts import webhooks
    from monitor.promises import perform as promise_perform
    from monitor.promises import scheduled as promise_tick

    s = loaded.settings
    sessions = make_sessionmaker(engine)
    scorer = scorer or build_scorer(loaded)
    clock, retry, perform = promise_policies(loaded)
    senders = build_alert_senders(loaded)
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

    jobs = [
        JobSpec(id="promises:clock", seconds=every, run=tick),
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
        poster = WebhookSender.with_timeout(s.webhooks.timeout_seconds)
        box = secret_box(loaded)
        holder = process_id()

        def fan_out(now: datetime) -> int:
            with sessions.begin() as session:
                return webhooks.fan_out(session, now=now, holder=holder)

        def deliver(now: datetime) -> webhooks.WebhookStats:
            return webhooks.deliver(
                sessions, poster, box=box, now=now, retry=s.webhooks.retry_seconds
            )

        seconds = float(s.webhooks.poll_seconds)
        jobs.append(JobSpec(id="webhooks:fan_out", seconds=seconds, run=fan_out))
        jobs.append(JobSpec(id="webhooks:deliver", seconds=seconds, run=deliver))
    return jobs


# --- replies: the outbox worker (send, retry, reconcile) ------------------------------


def build_responders(loaded: LoadedConfig) -> dict[str, Responder]:
    """The reply channel -> responder map, for every enabled responder."""
    from responders.email import SmtpResponder
    from responders.twitter import XResponder
    from responders.x_client import OAuth1Keys

    s = loaded.settings
    found: dict[str, Responder] = {}
    tw = s.sources.twitter
    if s.responders.twitter.enabled:
        names = (tw.consumer_key_env, tw.consumer_secret_env, tw.access_token_env,
                 tw.access_token_secret_env)  # fmt: skip
        keys = [loaded.secret(n) or "" for n in names]
        if not all(keys) or not tw.user_id:
            raise ConfigError(
                "responders.twitter: replies on X need sources.twitter.user_id and its "
                "OAuth 1.0a keys (consumer_key_env ... access_token_secret_env)"
            )
        x = XResponder(
            user_id=tw.user_id,
            oauth1=OAuth1Keys(*keys),
            api_base_url=tw.api_base_url,
            timeout=tw.timeout_seconds,
            lookup_pages=s.responders.twitter.lookup_pages,
        )
        found["x"] = found["x_dm"] = x
    if s.responders.email.enabled:
        found["email"] = SmtpResponder(smtp_options(loaded))
    return found


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
    responders = build_responders(loaded)
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
