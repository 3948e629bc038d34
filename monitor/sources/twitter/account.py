"""Which X account a fresh OAuth 2.0 grant belongs to: ``GET /2/users/me``."""

from __future__ import annotations

from datetime import datetime

from monitor.sources.twitter.transport import XTransport


class _Fixed:
    def __init__(self, token: str) -> None:
        self._token = token

    def token(self, *, now: datetime) -> str:
        return self._token

    def rejected(self, *, now: datetime) -> None:
        return None


def who_am_i(
    api_base_url: str, access_token: str, *, timeout: float, now: datetime
) -> tuple[str, str]:
    """(``@username``, numeric id) of the token's account; SourceError on failure.

    No fields are asked for: ``id``, ``name`` and ``username`` come by default, and the
    one user read is billed once.
    """
    transport = XTransport(tokens=_Fixed(access_token), api_base_url=api_base_url, timeout=timeout)
    response = transport.call(
        "x:users/me", lambda: transport.client.get_me(user_auth=False), now=now
    )
    body = response.json()
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not str(data.get("id", "")).isdigit():
        raise ValueError("X answered /2/users/me without a user id")
    return f"@{data.get('username', '')}", str(data["id"])
