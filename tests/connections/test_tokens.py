"""The stored grant: sealed at rest, refreshed before expiry under a lock, revocation a state."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor.connections.tokens import StoredTokens, store_grant
from monitor.db import make_sessionmaker
from monitor.models import OAuthGrant, SourceCursor
from monitor.sources.base import NeedsReauthorisation, TransientSourceError
from monitor.sources.oauth import OAuthSession, TokenSet
from monitor.storage.secret_box import SecretBox
from tests.connections.support import SECRET, session_for
from tests.fakes.oauth_server import OAuthState

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BOX = SecretBox(SECRET)


def connect(engine: Engine, server: OAuthState, *, expires_in: int = 3600) -> TokenSet:
    issued = server.issue("desk@example.com", "mail offline_access")
    tokens = TokenSet(
        issued["access_token"], issued["refresh_token"], NOW + timedelta(seconds=expires_in), ""
    )
    with make_sessionmaker(engine).begin() as s:
        store_grant(
            s,
            BOX,
            name="email",
            provider="custom",
            tokens=tokens,
            account="desk@example.com",
            now=NOW,
            connected_by="test",
        )
    return tokens


def stored(engine: Engine, oauth: OAuthSession) -> StoredTokens:
    return StoredTokens(make_sessionmaker(engine), "email", BOX, oauth)


@pytest.mark.db
def test_tokens_are_sealed_at_rest(committed_engine: Engine, oauth_server: OAuthState) -> None:
    tokens = connect(committed_engine, oauth_server)
    with Session(committed_engine) as s:
        row = s.get(OAuthGrant, "email")
        assert row is not None and row.refresh_token and row.access_token
        assert tokens.refresh_token not in row.refresh_token
        assert tokens.access_token not in row.access_token
        assert BOX.open(row.refresh_token) == tokens.refresh_token


@pytest.mark.db
def test_a_fresh_token_is_used_without_asking_the_server(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    tokens = connect(committed_engine, oauth_server)
    assert stored(committed_engine, session_for(oauth_server)).token(now=NOW) == tokens.access_token
    assert oauth_server.token_requests == []


@pytest.mark.db
def test_refreshed_before_expiry_and_the_rotated_refresh_token_is_kept(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    first = connect(committed_engine, oauth_server, expires_in=200)  # inside the 5 min margin
    store = stored(committed_engine, session_for(oauth_server))
    fresh = store.token(now=NOW)
    assert fresh != first.access_token and oauth_server.grant_types() == ["refresh_token"]
    # The old refresh token died in the rotation; the stored one is the new one.
    later = NOW + timedelta(hours=2)
    assert store.token(now=later) not in (fresh, first.access_token)
    assert oauth_server.grant_types() == ["refresh_token", "refresh_token"]


@pytest.mark.db
def test_two_processes_refreshing_at_once_refresh_once(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    connect(committed_engine, oauth_server, expires_in=0)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:  # each thread is its own "process": own sessionmaker, own connection
            results.append(stored(committed_engine, session_for(oauth_server)).token(now=NOW))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(set(results)) == 1  # everyone got the one refreshed token
    assert oauth_server.grant_types() == ["refresh_token"]  # a second refresh would have failed


@pytest.mark.db
def test_a_revoked_grant_becomes_needs_reauthorisation_and_stops_asking(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    connect(committed_engine, oauth_server, expires_in=0)
    oauth_server.revoke("desk@example.com")
    store = stored(committed_engine, session_for(oauth_server))
    with pytest.raises(NeedsReauthorisation, match="invalid_grant"):
        store.token(now=NOW)
    with pytest.raises(NeedsReauthorisation, match="connect email"):
        store.token(now=NOW)
    assert oauth_server.grant_types() == ["refresh_token"]  # asked once, then a state
    with Session(committed_engine) as s:
        row = s.get(OAuthGrant, "email")
        assert row is not None and row.state == "needs_reauthorisation"


@pytest.mark.db
def test_reconnecting_reactivates_and_lets_its_sources_poll_at_once(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    with make_sessionmaker(committed_engine).begin() as s:
        s.add(
            SourceCursor(
                source="email:INBOX",
                cursor={"uidvalidity": 1, "last_uid": 42},
                updated_at=NOW,
                next_poll_at=NOW + timedelta(minutes=15),
            )
        )
        s.add(
            SourceCursor(
                source="x:mentions", updated_at=NOW, next_poll_at=NOW + timedelta(minutes=15)
            )
        )
    connect(committed_engine, oauth_server)
    with Session(committed_engine) as s:
        rows = {c.source: c for c in s.scalars(select(SourceCursor))}
    assert rows["email:INBOX"].next_poll_at is None
    assert rows["email:INBOX"].cursor == {"uidvalidity": 1, "last_uid": 42}  # nothing lost
    assert rows["x:mentions"].next_poll_at is not None  # another connection's source


@pytest.mark.db
def test_an_unreachable_token_endpoint_is_transient(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    connect(committed_engine, oauth_server, expires_in=0)
    broken = session_for(oauth_server, token_url="http://127.0.0.1:9/token")
    with pytest.raises(TransientSourceError, match="token refresh"):
        stored(committed_engine, broken).token(now=NOW)
    with Session(committed_engine) as s:
        row = s.get(OAuthGrant, "email")
        assert row is not None and row.state == "active"


@pytest.mark.db
def test_a_changed_session_secret_asks_for_reconnection(
    committed_engine: Engine, oauth_server: OAuthState
) -> None:
    connect(committed_engine, oauth_server)
    other = StoredTokens(
        make_sessionmaker(committed_engine),
        "email",
        SecretBox("another"),
        session_for(oauth_server),
    )
    with pytest.raises(NeedsReauthorisation, match="session secret"):
        other.token(now=NOW)
