"""Device flow (RFC 8628) and code flow (PKCE) against the fake authorization server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy.orm import Session

from monitor.connections import flows
from monitor.connections.flows import FlowFailed, wait_for_device_grant
from monitor.models import OAuthFlow, OAuthGrant
from monitor.storage.secret_box import SecretBox
from tests.connections.support import SECRET, session_for
from tests.fakes.oauth_server import OAuthState

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOX = SecretBox(SECRET)


class Clock:
    """Time that moves only when the flow sleeps."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_device_flow_honours_interval_and_slow_down(oauth_server: OAuthState) -> None:
    oauth_server.interval = 2
    oauth_server.device_script = ["pending", "slow_down", "pending"]
    client = session_for(oauth_server)
    clock = Clock()
    device = client.start_device(now=clock())
    oauth_server.approve(device.user_code, "desk@example.com")
    tokens = wait_for_device_grant(client, device, clock=clock, sleep=clock.sleep)
    assert tokens.refresh_token and tokens.access_token
    assert clock.sleeps == [2, 2, 7, 7]  # +5 s for slow_down, kept afterwards (RFC 8628 3.5)
    grant_type = "urn:ietf:params:oauth:grant-type:device_code"
    assert oauth_server.grant_types() == [grant_type] * 4


@pytest.mark.parametrize(
    ("step", "message"),
    [("expired", "expired before it was entered"), ("denied", "access was denied")],
)
def test_device_flow_stops_on_expired_token_and_access_denied(
    oauth_server: OAuthState, step: str, message: str
) -> None:
    oauth_server.device_script = ["pending", step]
    client = session_for(oauth_server)
    clock = Clock()
    with pytest.raises(FlowFailed, match=message):
        wait_for_device_grant(
            client, client.start_device(now=clock()), clock=clock, sleep=clock.sleep
        )
    assert len(clock.sleeps) == 2


def test_device_flow_gives_up_when_the_code_expires_locally(oauth_server: OAuthState) -> None:
    client = session_for(oauth_server)
    clock = Clock()
    device = client.start_device(now=clock())  # never approved; the fake keeps saying pending
    with pytest.raises(FlowFailed, match="expired"):
        wait_for_device_grant(client, device, clock=clock, sleep=lambda s: clock.sleep(s * 200))


def test_an_unknown_client_is_refused_at_the_start(oauth_server: OAuthState) -> None:
    with pytest.raises(flows.OAuthRefused, match="invalid_client"):
        session_for(oauth_server, client_id="nobody").start_device(now=NOW)


@pytest.mark.db
def test_console_device_flow_keeps_the_code_sealed_and_stores_the_grant(
    session: Session, oauth_server: OAuthState
) -> None:
    oauth_server.device_script = ["slow_down"]
    client = session_for(oauth_server)
    started = flows.start_console_flow(
        session, BOX, client, connection="email", kind="device", now=NOW, started_by="admin"
    )
    row = session.get(OAuthFlow, started.id)
    assert row is not None and row.user_code == started.user_code
    assert BOX.is_sealed(row.secret)

    def poll(at: datetime) -> flows.FlowStatus:
        return flows.poll_console_flow(
            session,
            BOX,
            client,
            flow_id=started.id,
            connection="email",
            provider="custom",
            account="desk@example.com",
            now=at,
        )

    assert poll(NOW).state == "pending" and oauth_server.token_requests == []  # too early
    assert poll(NOW + timedelta(seconds=1)).state == "pending"  # the fake said slow_down
    oauth_server.approve(started.user_code, "desk@example.com")
    assert poll(NOW + timedelta(seconds=3)).state == "pending"  # interval is now 6 s
    assert len(oauth_server.token_requests) == 1
    done = poll(NOW + timedelta(seconds=7))
    assert (done.state, done.message) == ("connected", "email connected as desk@example.com")
    grant = session.get(OAuthGrant, "email")
    assert grant is not None and grant.state == "active" and grant.connected_by == "admin"


@pytest.mark.db
def test_console_code_flow_with_pkce(session: Session, oauth_server: OAuthState) -> None:
    client = session_for(
        oauth_server,
        flow="authorization_code",
        redirect_uri="http://127.0.0.1:1/admin/connections/x/callback",
    )
    started = flows.start_console_flow(
        session, BOX, client, connection="x", kind="authorization_code", now=NOW, started_by="admin"
    )
    query = parse_qs(urlsplit(started.authorization_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [started.id]
    # the admin's browser signs in and is sent back with a code
    answer = requests.get(started.authorization_url, allow_redirects=False, timeout=5)
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    status, tokens = flows.finish_code_flow(
        session,
        BOX,
        client,
        state=back["state"][0],
        code=back["code"][0],
        error=None,
        connection="x",
        provider="x",
        account="@brand",
        now=NOW,
    )
    assert status.state == "connected" and tokens is not None
    replay = flows.finish_code_flow(
        session,
        BOX,
        client,
        state=back["state"][0],
        code=back["code"][0],
        error=None,
        connection="x",
        provider="x",
        account="@brand",
        now=NOW,
    )
    assert replay[0].state == "connected"  # already finished: no second exchange
    assert oauth_server.grant_types() == ["authorization_code"]
