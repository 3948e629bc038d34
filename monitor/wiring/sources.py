"""Sources, the scorer and the poller, built from ``sources`` and ``scoring`` in the config."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from monitor.config import ConfigError, LoadedConfig
from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.health import FailureAlerts
from monitor.ingest.polling import PollResult, poll_source
from monitor.ingest.service import IngestOptions
from monitor.priority.service import ModelScorer, Scorer
from monitor.sla.policy import SlaPolicy
from monitor.sources.base import Source


def process_id() -> str:
    """Identifies this process as a lease holder: host, pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def build_scorer(loaded: LoadedConfig) -> Scorer:
    from monitor.scoring import load_text_scorer

    settings = loaded.settings.scoring
    return ModelScorer(load_text_scorer(settings), settings)


def ingest_options(loaded: LoadedConfig) -> IngestOptions:
    s = loaded.settings
    return IngestOptions(
        hop_window=timedelta(days=s.queue.hop_window_days),
        link_stated=s.queue.link_stated_identities,
        own_addresses=tuple(a.lower() for a in s.sources.email.own_addresses),
        sla=SlaPolicy.from_settings(s.sla),
        auto_assign=s.queue.auto_assign == "round_robin",
    )


def build_sources(loaded: LoadedConfig, engine: Engine | None = None) -> list[tuple[Source, float]]:
    """Every enabled source with its poll interval in seconds. ``engine`` holds the
    connected accounts (OAuth grants) and the X cost meter."""
    try:
        return _build_sources(loaded, engine)
    except ValueError as exc:
        raise ConfigError(f"sources: {exc}") from None


def _build_sources(loaded: LoadedConfig, engine: Engine | None) -> list[tuple[Source, float]]:
    from monitor.wiring import grants

    s = loaded.settings.sources
    found: list[tuple[Source, float]] = []
    if s.twitter.enabled:
        from monitor.sources.twitter import XDirectMessagesSource, XMentionsSource

        options: dict[str, Any] = {"user_id": grants.x_user_id(loaded, engine)}
        if engine is not None:
            options["meter"] = grants.response_meter(engine)
        if s.twitter.auth == "oauth2":
            options["tokens"] = grants.grant_tokens(loaded, _needs(engine), "x")
        found.append(
            (XMentionsSource.from_settings(s.twitter, loaded.secret, **options),
             s.twitter.poll_seconds)
        )  # fmt: skip
        if s.twitter.poll_dms:
            dms = XDirectMessagesSource.from_settings(s.twitter, loaded.secret, **options)
            found.append((dms, s.twitter.poll_seconds))
    if s.email.enabled:
        from monitor.sources.email.imap import from_settings as email_sources

        tokens = None
        if s.email.auth == "oauth2":
            tokens = grants.grant_tokens(loaded, _needs(engine), "email")
        found.extend(
            (src, s.email.poll_seconds) for src in email_sources(s.email, loaded.secret, tokens)
        )
    return found


def _needs(engine: Engine | None) -> Engine:
    if engine is None:
        raise ConfigError("sources: OAuth 2.0 sources need the database (their grants live there)")
    return engine


def poller(
    loaded: LoadedConfig, engine: Engine, source: Source, poll_seconds: float, scorer: Scorer
) -> Callable[[datetime], PollResult]:
    sessions = make_sessionmaker(engine)
    options = ingest_options(loaded)
    s = loaded.settings
    alerts = FailureAlerts(s.sources.alert_after_failures, s.alerts.channels)

    from monitor.wiring import grants

    def run(now: datetime) -> PollResult:
        if source.name.startswith("x:") and (
            held := grants.budget_gate(loaded, engine, source.name, now=now)
        ):
            return held
        result = poll_source(
            sessions,
            source,
            now=now,
            scorer=scorer,
            options=options,
            poll_seconds=poll_seconds,
            alerts=alerts,
        )
        grants.after_poll(loaded, engine, result, now=now)
        return result

    return run


def poll_all(loaded: LoadedConfig, engine: Engine) -> list[PollResult]:
    sources = build_sources(loaded, engine)
    if not sources:
        return []
    scorer = build_scorer(loaded)
    return [poller(loaded, engine, src, secs, scorer)(utcnow()) for src, secs in sources]
