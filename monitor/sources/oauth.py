"""The OAuth 2.0 client: Authlib's ``OAuth2Session`` (requests) at one provider's endpoints.

Authlib handles the grant bodies, client authentication (``client_secret_basic`` when a
secret is configured, ``client_id`` in the body for public clients), PKCE (S256) and the
token endpoint's error answers; this module adds the RFC 8628 device authorization
request, which Authlib's client leaves to the caller, and turns every answer into
:class:`TokenSet` or one of two errors:

    OAuthRefused      the authorization server answered with an RFC 6749 5.2 / RFC 8628
                      3.5 error (``invalid_grant``, ``authorization_pending``, ...)
    OAuthUnavailable  it could not be reached, answered 5xx, or not with JSON

Token values never appear in messages or logs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE

from monitor.config.oauth import OAuthClient


class OAuthRefused(Exception):
    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description


class OAuthUnavailable(Exception):
    """The authorization server could not give an answer; worth trying again later."""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str

    @classmethod
    def parse(cls, body: Any, *, now: datetime) -> TokenSet:
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OAuthUnavailable("the token endpoint answered without an access_token")
        expires_in = body.get("expires_in")
        expires_at = (
            now + timedelta(seconds=int(expires_in))
            if isinstance(expires_in, int | float | str) and str(expires_in).isdigit()
            else None
        )
        refresh = body.get("refresh_token")
        scope = body.get("scope", "")
        return cls(
            access_token=body["access_token"],
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=expires_at,
            scope=" ".join(scope) if isinstance(scope, list) else str(scope or ""),
        )


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: datetime
    interval: int


def new_code_verifier() -> str:
    """An RFC 7636 code verifier: 64 characters of the unreserved set."""
    return secrets.token_urlsafe(48)


class OAuthSession:
    """One provider's endpoints for one client (``client_secret`` may be None)."""

    def __init__(self, client: OAuthClient, client_secret: str | None, *, timeout: float) -> None:
        self.client = client
        self._timeout = timeout
        self._secret = client_secret

    def _session(self, **kwargs: Any) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.client.client_id,
            client_secret=self._secret,
            scope=" ".join(self.client.scopes),
            token_endpoint_auth_method="client_secret_basic" if self._secret else "none",
            **kwargs,
        )

    def start_device(self, *, now: datetime) -> DeviceAuthorization:
        """RFC 8628 3.1: ask for a device code and the user code to show the admin."""
        form = {"client_id": self.client.client_id, "scope": " ".join(self.client.scopes)}
        auth = (self.client.client_id, self._secret) if self._secret else None
        body = self._post(self.client.device_authorization_url, form, auth)
        try:
            return DeviceAuthorization(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                # Google says verification_url, the RFC verification_uri
                verification_uri=str(body.get("verification_uri") or body["verification_url"]),
                verification_uri_complete=body.get("verification_uri_complete"),
                expires_at=now + timedelta(seconds=int(body.get("expires_in", 900))),
                interval=max(1, int(body.get("interval", 5))),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OAuthUnavailable(f"the device authorization answer lacks {exc}") from None

    def poll_device(self, device_code: str, *, now: datetime) -> TokenSet:
        """RFC 8628 3.4: one token request; OAuthRefused('authorization_pending') etc."""
        return self._token(
            lambda s: s.fetch_token(
                self.client.token_url,
                grant_type=DEVICE_CODE_GRANT_TYPE,
                device_code=device_code,
                timeout=self._timeout,
            ),
            now,
        )

    def authorization_url(self, *, state: str, code_verifier: str) -> str:
        with self._session(
            redirect_uri=self.client.redirect_uri, code_challenge_method="S256"
        ) as session:
            url, _ = session.create_authorization_url(
                self.client.authorization_url, state=state, code_verifier=code_verifier
            )
        return str(url)

    def exchange_code(self, *, code: str, code_verifier: str, now: datetime) -> TokenSet:
        return self._token(
            lambda s: s.fetch_token(
                self.client.token_url,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=self.client.redirect_uri,
                timeout=self._timeout,
            ),
            now,
        )

    def refresh(self, refresh_token: str, *, now: datetime) -> TokenSet:
        return self._token(
            lambda s: s.refresh_token(
                self.client.token_url, refresh_token=refresh_token, timeout=self._timeout
            ),
            now,
        )

    def _token(self, call: Any, now: datetime) -> TokenSet:
        try:
            with self._session() as session:
                body = call(session)
        except AuthlibBaseError as exc:
            raise OAuthRefused(str(exc.error), str(exc.description or "")) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            raise OAuthUnavailable(f"the token endpoint answered HTTP {status}") from None
        except (requests.RequestException, ValueError) as exc:
            raise OAuthUnavailable(f"the token endpoint: {type(exc).__name__}") from None
        return TokenSet.parse(dict(body), now=now)

    def _post(self, url: str, form: dict[str, str], auth: Any) -> dict[str, Any]:
        try:
            response = requests.post(url, data=form, auth=auth, timeout=self._timeout)
        except requests.RequestException as exc:
            raise OAuthUnavailable(f"{url}: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            raise OAuthUnavailable(f"{url} answered HTTP {response.status_code}") from None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            raise OAuthRefused(body["error"], str(body.get("error_description") or ""))
        if response.status_code >= 400 or not isinstance(body, dict):
            raise OAuthUnavailable(f"{url} answered HTTP {response.status_code}")
        return body
