"""Connected accounts for the sources and responders: stored grants, meter, budgets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor.alerts.admins import alert_admins
from monitor.config import ConfigError, LoadedConfig
from monitor.connections.clients import connection, oauth_session, secret_box
from monitor.connections.tokens import StoredTokens
from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.polling import PollResult
from monitor.models import OAuthGrant, SourceCursor
from monitor.sources.base import NeedsReauthorisation, SourceError
from monitor.sources.twitter.costs import Billable
from monitor.usage import budgets
from monitor.usage.meter import StoredMeter
from responders.base import PermanentError, TransientError
from responders.email import BearerTokens


def grant_tokens(loaded: LoadedConfig, engine: Engine, name: str) -> StoredTokens:
    conn = connection(loaded, name)
    return StoredTokens(
        make_sessionmaker(engine),
        name,
        secret_box(loaded),
        oauth_session(loaded, conn),
        margin=timedelta(seconds=conn.settings.refresh_margin_seconds),
    )


def bearer_for_responders(tokens: StoredTokens) -> BearerTokens:
    """The grant for SMTP / X replies, with errors in the responders' terms."""

    def token() -> str:
        try:
            return tokens.token(now=utcnow())
        except NeedsReauthorisation as exc:
            raise PermanentError(str(exc)) from None
        except SourceError as exc:
            raise TransientError(str(exc)) from None

    return BearerTokens(token=token, rejected=lambda: tokens.rejected(now=utcnow()))


def x_user_id(loaded: LoadedConfig, engine: Engine | None) -> str:
    """``sources.twitter.user_id``, or the connected account's id."""
    configured = loaded.settings.sources.twitter.user_id
    if configured or engine is None:
        return configured
    with Session(engine) as s:
        grant = s.get(OAuthGrant, "x")
        if grant is None or not grant.account_id:
            raise ConfigError(
                "sources.twitter.user_id: not set and no X account connected "
                "(run: complaint-monitor connect x)"
            )
        return grant.account_id


def response_meter(engine: Engine) -> StoredMeter:
    return StoredMeter(make_sessionmaker(engine))


def record_writes(meter: StoredMeter) -> Callable[[str, list[tuple[str, str]]], None]:
    """The X responder's ``record`` hook, into the same meter."""

    def record(endpoint: str, resources: list[tuple[str, str]]) -> None:
        meter.record(endpoint, [Billable(kind, rid) for kind, rid in resources], now=utcnow())

    return record


def after_poll(loaded: LoadedConfig, engine: Engine, result: PollResult, *, now: datetime) -> None:
    """Alert the admins once when a source needs its account connected again."""
    if result.status != "needs_reauthorisation":
        return
    name = "x" if result.source.startswith("x:") else result.source.split(":", 1)[0]
    with make_sessionmaker(engine).begin() as s:
        grant = s.get(OAuthGrant, name)
        # once per grant: a new connection that breaks again alerts again
        since = grant.connected_at.isoformat() if grant is not None else "never"
        alert_admins(
            s,
            kind="connection.reauth",
            key=f"connection:{name}:needs-reauthorisation:{since}",
            message=f"{result.source} needs re-authorisation: {result.detail[:300]}",
            now=now,
            channels=loaded.settings.alerts.channels,
        )


def budget_gate(
    loaded: LoadedConfig, engine: Engine, source_name: str, *, now: datetime
) -> PollResult | None:
    """Over an X budget: a 'skipped' result until the floor interval has passed."""
    costs = loaded.settings.sources.twitter.costs
    with make_sessionmaker(engine).begin() as s:
        state = budgets.check(s, costs, now=now, channels=loaded.settings.alerts.channels)
        if state.state != budgets.REACHED:
            return None
        last = s.scalar(select(SourceCursor.updated_at).where(SourceCursor.source == source_name))
    floor = timedelta(seconds=costs.budgets.floor_poll_seconds)
    if last is not None and now - last < floor:
        return PollResult(source_name, "skipped", state.message)
    return None
