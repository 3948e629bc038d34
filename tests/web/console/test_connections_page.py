"""Admin > Connections over HTTP: admins only, CSRF, the device flow and X's code flow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.config import LoadedConfig, parse_settings
from monitor.db import make_sessionmaker
from monitor.models import OAuthGrant, Quarantine, Role, SourceCursor
from monitor.sources.twitter.costs import Billable
from monitor.usage.meter import StoredMeter
from tests.factories.staff import make_staff
from tests.fakes.oauth_server import OAuthState
from tests.fakes.x_api import XApiState
from tests.fixtures.web import SECRET, csrf_of, login


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def config(oauth_server: OAuthState, x_api: XApiState) -> LoadedConfig:
    data = {
        "server": {"secure_cookies": False, "run_scheduler": False},
        "sources": {
            "email": {
                "username": "desk@example.com",
                "auth": "oauth2",
                "oauth2": {
                    "provider": "custom",
                    "client_id": "desk-client",
                    "flow": "device",
                    "device_authorization_url": f"{oauth_server.base_url}/device/code",
                    "token_url": f"{oauth_server.base_url}/token",
                    "scopes": ["mail"],
                },
            },
            "twitter": {
                "enabled": True,
                "user_id": x_api.brand_id,
                "auth": "oauth2",
                "api_base_url": x_api.base_url,
                "costs": {"budgets": {"daily_usd": 0.01}},
                "oauth2": {
                    "provider": "x",
                    "client_id": x_api.oauth_client_id,
                    "token_url": f"{x_api.base_url}/2/oauth2/token",
                    "authorization_url": f"{x_api.base_url}/i/oauth2/authorize",
                },
            },
        },
    }
    return LoadedConfig(parse_settings(data), {}, None)


@pytest.fixture
def client(committed_engine: Engine, config: LoadedConfig, clock: Clock) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from monitor.web.app import create_app

    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "ada", role=Role.ADMIN)
        make_staff(s, "al", role=Role.AGENT)
    app = create_app(config, committed_engine, session_secret=SECRET, clock=clock)
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        yield c


@pytest.mark.db
def test_only_admins_see_connections(client: Any) -> None:
    login(client, "al")
    assert client.get("/admin/connections").status_code == 403
    client.cookies.clear()
    login(client, "ada")
    page = client.get("/admin/connections")
    assert page.status_code == 200
    assert "Mailbox" in page.text and "X account" in page.text and "X cost meter" in page.text


@pytest.mark.db
def test_admins_see_the_items_kept_aside(client: Any, committed_engine: Engine) -> None:
    with make_sessionmaker(committed_engine).begin() as s:
        s.add(Quarantine(source="x:mentions", external_id="77", raw=b"{}",
                         reason="author contains a lone surrogate (not valid Unicode)",
                         created_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))  # fmt: skip
    login(client, "ada")
    page = client.get("/admin/connections").text
    kept = page[page.index('id="quarantine"') :]
    assert "author contains a lone surrogate (not valid Unicode)" in kept and ">77<" in kept


@pytest.mark.db
def test_starting_a_flow_needs_the_csrf_token(client: Any) -> None:
    login(client, "ada")
    refused = client.post("/admin/connections/email/start", data={}, follow_redirects=False)
    assert refused.status_code in (400, 403)


@pytest.mark.db
def test_device_flow_in_the_console(
    client: Any, oauth_server: OAuthState, committed_engine: Engine, clock: Clock
) -> None:
    login(client, "ada")
    token = csrf_of(client.get("/admin/connections").text)
    page = client.post("/admin/connections/email/start", data={"csrf_token": token})
    assert page.status_code == 200
    code = re.search(r'id="user-code">([^<]+)<', page.text)
    poll_url = re.search(r'data-poll="([^"]+)"', page.text)
    assert code and poll_url
    pending = client.post(poll_url.group(1), data={"csrf_token": token}).json()
    assert pending["state"] == "pending"
    oauth_server.approve(code.group(1), "desk@example.com")
    clock.now += timedelta(seconds=2)  # past the provider's interval
    done = client.post(poll_url.group(1), data={"csrf_token": token}).json()
    assert done == {"state": "connected", "message": "email connected as desk@example.com"}
    with Session(committed_engine) as s:
        grant = s.get(OAuthGrant, "email")
        assert grant is not None and grant.connected_by == "ada" and grant.state == "active"
    listing = client.get("/admin/connections").text
    assert "Connected" in listing and "desk@example.com" in listing
    assert all(t not in listing for t in oauth_server.refresh)  # no token on the page


@pytest.mark.db
def test_x_code_flow_in_the_console_names_the_account(
    client: Any, x_api: XApiState, committed_engine: Engine
) -> None:
    login(client, "ada")
    token = csrf_of(client.get("/admin/connections").text)
    start = client.post(
        "/admin/connections/x/start", data={"csrf_token": token}, follow_redirects=False
    )
    assert start.status_code == 303 and start.headers["location"].startswith(x_api.base_url)
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["redirect_uri"] == ["http://testserver/admin/connections/x/callback"]
    approved = requests.get(start.headers["location"], allow_redirects=False, timeout=5)
    back = urlsplit(approved.headers["location"])
    done = client.get(f"{back.path}?{back.query}", follow_redirects=False)
    assert done.status_code == 303 and "done=X+account+connected" in done.headers["location"]
    with Session(committed_engine) as s:
        grant = s.get(OAuthGrant, "x")
        assert grant is not None and (grant.account, grant.account_id) == ("@brand", "1000")


@pytest.mark.db
def test_healthz_metrics_and_the_queue_notices_show_the_cost_meter(
    client: Any, committed_engine: Engine, clock: Clock
) -> None:
    meter = StoredMeter(make_sessionmaker(committed_engine))
    meter.record(
        "GET /2/users/:id/mentions",
        [Billable("post", "1", owned=True), Billable("user", "9")],
        now=clock.now,
    )
    with make_sessionmaker(committed_engine).begin() as s:
        s.add(
            SourceCursor(
                source="email:INBOX",
                updated_at=clock.now,
                consecutive_failures=2,
                last_error="NeedsReauthorisation: email: revoked",
            )
        )
    health = client.get("/healthz").json()
    assert health["x_costs"]["today"]["usd"] == pytest.approx(0.011)
    assert health["x_costs"]["budget"]["state"] == "reached"
    assert {s["source"]: s["state"] for s in health["sources"]} == {
        "email:INBOX": "needs re-authorisation"
    }
    metrics = client.get("/metrics").text
    assert 'complaint_monitor_x_cost_usd{period="today"} 0.011' in metrics
    assert 'owned="true",period="today",resource="post"} 1.0' in metrics
    login(client, "al")
    texts = [n["text"] for n in client.get("/notices.json").json()]
    assert any("needs re-authorisation" in t for t in texts)
    assert any("daily budget reached" in t for t in texts)
