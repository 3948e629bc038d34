"""The stored grant of a connected account as :class:`~monitor.sources.base.AccessTokens`.

Tokens are kept sealed (:class:`~monitor.storage.secret_box.SecretBox`) in
``oauth_grants``. An access token is used until ``refresh_margin`` before it expires;
then one process refreshes it while holding the grant's row lock (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite transactions here begin IMMEDIATE, which serialises
writers), and every other process waits and reads the new token. That matters because
Microsoft and X rotate refresh tokens: two processes refreshing with the same one would
leave one of them holding a dead token.

When the authorization server answers ``invalid_grant`` (revoked, expired, password
changed) the grant becomes ``needs_reauthorisation`` and stays so until an admin connects
again; sources then raise :class:`~monitor.sources.base.NeedsReauthorisation` without
asking the server again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import OAuthGrant, SourceCursor
from monitor.sources.base import NeedsReauthorisation, TransientSourceError
from monitor.sources.oauth import OAuthRefused, OAuthUnavailable, TokenSet
from monitor.storage.secret_box import SecretBox, SecretUnreadable

log = logging.getLogger(__name__)
ACTIVE = "active"
NEEDS_REAUTHORISATION = "needs_reauthorisation"
# Sources whose cursor rows belong to a connection (to resume them when it reconnects).
SOURCE_PREFIXES = {"email": "email:", "x": "x:"}


class TokenEndpoint(Protocol):
    def refresh(self, refresh_token: str, *, now: datetime) -> TokenSet: ...


def store_grant(
    session: Session,
    box: SecretBox,
    *,
    name: str,
    provider: str,
    tokens: TokenSet,
    account: str,
    now: datetime,
    connected_by: str,
    account_id: str = "",
) -> OAuthGrant:
    """Save a newly connected account (replacing any earlier grant) and let its
    sources poll again at once; their cursors are untouched, so nothing is lost."""
    if not tokens.refresh_token:
        raise ValueError(
            "the provider issued no refresh token: ask for offline access "
            "(Microsoft: offline_access; X: offline.access; Google: a Desktop app client)"
        )
    grant = session.get(OAuthGrant, name) or OAuthGrant(name=name)
    grant.provider, grant.account, grant.account_id = provider, account, account_id
    grant.scopes = tokens.scope
    grant.refresh_token = box.seal(tokens.refresh_token)
    grant.access_token = box.seal(tokens.access_token)
    grant.access_expires_at = tokens.expires_at
    grant.state, grant.last_error = ACTIVE, None
    grant.connected_at, grant.connected_by, grant.refreshed_at = now, connected_by, now
    session.add(grant)
    prefix = SOURCE_PREFIXES.get(name, f"{name}:")
    session.execute(
        update(SourceCursor)
        .where(SourceCursor.source.startswith(prefix, autoescape=True))
        .values(next_poll_at=None)
    )
    return grant


def mark_needs_reauthorisation(session: Session, name: str, reason: str) -> OAuthGrant | None:
    grant = session.get(OAuthGrant, name)
    if grant is not None:
        grant.state, grant.last_error = NEEDS_REAUTHORISATION, reason[:2000]
        grant.access_token = None
    return grant


@dataclass
class StoredTokens:
    """Access tokens of the grant ``name``; satisfies ``sources.base.AccessTokens``."""

    sessions: sessionmaker[Session]
    name: str
    box: SecretBox
    endpoint: TokenEndpoint
    margin: timedelta = timedelta(minutes=5)

    def token(self, *, now: datetime) -> str:
        failure: Exception | None = None
        with self.sessions.begin() as s:
            grant = _locked(s, self.name)
            if grant is None or grant.state != ACTIVE or not grant.refresh_token:
                why = grant.last_error if grant is not None and grant.last_error else None
                failure = NeedsReauthorisation(self._reconnect(why))
            elif _fresh(grant, now, self.margin):
                assert grant.access_token is not None
                return self._open(grant.access_token)
            else:
                try:
                    return self._refresh(s, grant, now)
                except OAuthRefused as exc:
                    if exc.error not in ("invalid_grant", "invalid_client", "unauthorized_client"):
                        failure = TransientSourceError(f"{self.name}: token refresh: {exc}")
                    else:
                        reason = f"the provider refused the refresh token ({exc.error})"
                        mark_needs_reauthorisation(s, self.name, reason)
                        failure = NeedsReauthorisation(self._reconnect(reason))
                except OAuthUnavailable as exc:
                    failure = TransientSourceError(f"{self.name}: token refresh: {exc}")
        raise failure

    def rejected(self, *, now: datetime) -> None:
        """Forget the access token so the next :meth:`token` refreshes."""
        with self.sessions.begin() as s:
            s.execute(
                update(OAuthGrant)
                .where(OAuthGrant.name == self.name)
                .values(access_expires_at=now, access_token=None)
            )

    def _refresh(self, s: Session, grant: OAuthGrant, now: datetime) -> str:
        assert grant.refresh_token is not None
        fresh = self.endpoint.refresh(self._open(grant.refresh_token), now=now)
        grant.access_token = self.box.seal(fresh.access_token)
        grant.access_expires_at = fresh.expires_at
        if fresh.refresh_token:  # rotated: the old one is dead now
            grant.refresh_token = self.box.seal(fresh.refresh_token)
        grant.refreshed_at = now
        log.info("%s: access token refreshed (valid until %s)", self.name, fresh.expires_at)
        return fresh.access_token

    def _open(self, sealed: str) -> str:
        try:
            return self.box.open(sealed)
        except SecretUnreadable:
            raise NeedsReauthorisation(
                f"{self.name}: the stored grant cannot be opened (the session secret changed); "
                f"{self._command()}"
            ) from None

    def _reconnect(self, why: str | None) -> str:
        return f"{self.name}: {why or 'not connected'}; {self._command()}"

    def _command(self) -> str:
        return f"connect it again: complaint-monitor connect {self.name}, or Admin > Connections"


def _locked(s: Session, name: str) -> OAuthGrant | None:
    stmt = select(OAuthGrant).where(OAuthGrant.name == name)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return s.scalars(stmt.execution_options(populate_existing=True)).first()


def _fresh(grant: OAuthGrant, now: datetime, margin: timedelta) -> bool:
    if not grant.access_token:
        return False
    return grant.access_expires_at is None or grant.access_expires_at - margin > now
