"""The production poller over X with the brand's OAuth 2.0 grant: needs re-authorisation
is a state that alerts the admins once and keeps the cursor; budgets slow polling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor.config import LoadedConfig, parse_settings
from monitor.connections.tokens import store_grant
from monitor.db import make_sessionmaker
from monitor.ingest.health import source_health
from monitor.models import Alert, SourceCursor
from monitor.priority.service import Scorer
from monitor.sources.oauth import TokenSet
from monitor.staff import accounts
from monitor.storage.secret_box import SecretBox
from monitor.wiring.sources import build_sources, poller
from tests.fakes.x_api import XApiState

NOW = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
SECRET = "wiring-test-secret"


def loaded(x_api: XApiState, **twitter: Any) -> LoadedConfig:
    data = {
        "server": {"session_secret_env": "CM_SECRET"},
        "alerts": {"channels": ["email"]},
        "sources": {
            "twitter": {
                "enabled": True,
                "user_id": x_api.brand_id,
                "api_base_url": x_api.base_url,
                "auth": "oauth2",
                "first_poll": {"start": "all"},
                "timeout_seconds": 2,
                "oauth2": {
                    "provider": "x",
                    "client_id": x_api.oauth_client_id,
                    "token_url": f"{x_api.base_url}/2/oauth2/token",
                    "authorization_url": f"{x_api.base_url}/i/oauth2/authorize",
                },
                **twitter,
            }
        },
    }
    return LoadedConfig(parse_settings(data), {"CM_SECRET": SecretStr(SECRET)}, None)


def connect(engine: Engine, x_api: XApiState, now: datetime) -> None:
    issued = x_api.oauth.issue(x_api.brand_id, "tweet.read offline.access", x_api.oauth_client_id)
    tokens = TokenSet(issued["access_token"], issued["refresh_token"], now + timedelta(hours=2), "")
    with make_sessionmaker(engine).begin() as s:
        store_grant(
            s,
            SecretBox(SECRET),
            name="x",
            provider="x",
            tokens=tokens,
            account="@brand",
            account_id=x_api.brand_id,
            now=now,
            connected_by="test",
        )


def add_admin(engine: Engine) -> None:
    with make_sessionmaker(engine).begin() as s:
        accounts.create_staff(
            s,
            name="ada",
            password="a long enough password",
            role="admin",
            now=NOW,
            email="ada@example.com",
        )


def alerts(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        return [(a.kind, a.channel, a.target) for a in s.scalars(select(Alert).order_by(Alert.id))]


@pytest.mark.db
def test_revoked_grant_alerts_admins_once_keeps_the_cursor_and_resumes_on_reconnect(
    x_api: XApiState, committed_engine: Engine, scorer: Scorer
) -> None:
    add_admin(committed_engine)
    connect(committed_engine, x_api, NOW)
    cfg = loaded(x_api)
    ((source, seconds),) = build_sources(cfg, committed_engine)
    poll = poller(cfg, committed_engine, source, seconds, scorer)
    carol = x_api.add_user("carol")
    first = x_api.mention(carol, "@brand where is my order")
    assert poll(NOW).status == "ok"

    x_api.oauth.revoke(x_api.brand_id)
    missed = x_api.mention(carol, "@brand hello??")  # arrives while the grant is dead
    assert poll(NOW + timedelta(minutes=1)).status == "needs_reauthorisation"
    assert poll(NOW + timedelta(minutes=20)).status == "needs_reauthorisation"
    assert alerts(committed_engine) == [
        ("connection.reauth", "console", "ada"),
        ("connection.reauth", "email", "ada@example.com"),
    ]  # once, however many polls fail
    with Session(committed_engine) as s:
        health = source_health(s)[0]
        row = s.get(SourceCursor, "x:mentions")
    assert health["state"] == "needs re-authorisation"
    assert row is not None and row.cursor == {"since_id": first}  # kept: nothing is lost
    assert row.next_poll_at is not None  # backing off, not a crash loop

    connect(committed_engine, x_api, NOW + timedelta(minutes=30))
    result = poll(NOW + timedelta(minutes=31))  # reconnecting lifted the back-off
    assert result.status == "ok" and result.result is not None and result.result.new == 1
    with Session(committed_engine) as s:
        row = s.get(SourceCursor, "x:mentions")
        assert row is not None and row.cursor == {"since_id": missed}


@pytest.mark.db
def test_budgets_alert_when_approaching_and_hold_polling_to_the_floor_once_reached(
    x_api: XApiState, committed_engine: Engine, scorer: Scorer
) -> None:
    add_admin(committed_engine)
    connect(committed_engine, x_api, NOW)
    budgets = {"daily_usd": 0.004, "approaching_percent": 50, "floor_poll_seconds": 900}
    cfg = loaded(x_api, costs={"budgets": budgets})
    ((source, seconds),) = build_sources(cfg, committed_engine)
    poll = poller(cfg, committed_engine, source, seconds, scorer)
    carol = x_api.add_user("carol")
    x_api.mention(carol, "@brand one")
    assert poll(NOW).status == "ok"  # 1 owned read + 1 user read = $0.011: over $0.004
    held = poll(NOW + timedelta(minutes=1))
    assert held.status == "skipped" and "daily budget reached" in held.detail
    assert len(x_api.requests_to("mentions")) == 1
    assert poll(NOW + timedelta(minutes=16)).status == "ok"  # the floor interval passed
    kinds = [k for k, _, _ in alerts(committed_engine)]
    assert kinds == ["x.budget.reached", "x.budget.reached"]  # console + email, once
