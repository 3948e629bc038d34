"""OAuth settings pointing at the fake authorization server."""

from __future__ import annotations

from typing import Any

from monitor.config.oauth import OAuth2ClientSettings
from monitor.sources.oauth import OAuthSession
from tests.fakes.oauth_server import OAuthState

SECRET = "test-session-secret-for-sealing"


def client_settings(server: OAuthState, **overrides: Any) -> OAuth2ClientSettings:
    values: dict[str, Any] = {
        "provider": "custom",
        "client_id": "desk-client",
        "flow": "device",
        "device_authorization_url": f"{server.base_url}/device/code",
        "authorization_url": f"{server.base_url}/authorize",
        "token_url": f"{server.base_url}/token",
        "scopes": ("mail", "offline_access"),
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return OAuth2ClientSettings(**values)


def session_for(server: OAuthState, secret: str | None = None, **overrides: Any) -> OAuthSession:
    settings = client_settings(server, **overrides)
    return OAuthSession(settings.client("test"), secret, timeout=5)
