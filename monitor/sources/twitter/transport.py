"""Talking to X: authentication, error translation and the cost meter, for every request.

Authentication (one per source)
    app-only bearer token (``sources.twitter.auth: bearer``: mentions only), OAuth 1.0a
    user keys (DMs and replies, the older set-up), or the brand account's OAuth 2.0 user
    grant (``auth: oauth2``): its access token comes from :class:`AccessTokens` before
    each request; a 401 is reported (``rejected``) and retried once on a fresh token,
    a second 401 is :class:`NeedsReauthorisation`.

Errors (see :mod:`monitor.sources.base`)
    429 whose body is X's usage-cap problem (``.../problems/usage-capped``,
    ``UsageCapExceeded``) -> MonthlyCapReached, its own state; any other 429 ->
    RateLimited(reset_at from ``x-rate-limit-reset``); 5xx, other HTTP errors, timeouts
    and connection errors -> TransientSourceError; 400/401/403/404 ->
    PermanentSourceError.

Every successful response is passed to the source's meter (:mod:`.costs`) before
anything else happens to it, so what X bills is counted even when the poll fails later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from monitor.sources.base import (
    AccessTokens,
    MonthlyCapReached,
    NeedsReauthorisation,
    PermanentSourceError,
    RateLimited,
    TransientSourceError,
)
from responders.x_client import DEFAULT_API_BASE_URL, OAuth1Keys, make_client

USAGE_CAPPED = ("usage-capped", "UsageCapExceeded")


def rate_headers(headers: Mapping[str, str]) -> tuple[int | None, datetime | None]:
    remaining = headers.get("x-rate-limit-remaining", "")
    reset = headers.get("x-rate-limit-reset", "")
    return (
        int(remaining) if remaining.strip().isdigit() else None,
        datetime.fromtimestamp(int(reset), UTC) if reset.strip().isdigit() else None,
    )


def is_usage_capped(response: requests.Response | None) -> bool:
    """X's monthly-cap answer: a 429 whose problem body names the usage cap."""
    if response is None:
        return False
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    words = (str(body.get("type", "")), str(body.get("title", "")))
    return any(mark in word for mark in USAGE_CAPPED for word in words)


def call(label: str, request: Callable[..., Any], *args: Any) -> requests.Response:
    """Run one tweepy request, translating vendor errors to the source hierarchy."""
    try:
        response: requests.Response = request(*args)
        return response
    except tweepy.TooManyRequests as exc:
        if is_usage_capped(exc.response):
            raise MonthlyCapReached(
                f"{label}: X's monthly usage cap is reached; nothing more can be read until "
                "it resets or the cap is raised in the developer console"
            ) from exc
        _, reset_at = rate_headers(exc.response.headers)
        raise RateLimited(f"{label}: X rate limit reached ({exc})", reset_at=reset_at) from exc
    except (tweepy.BadRequest, tweepy.Unauthorized, tweepy.Forbidden, tweepy.NotFound) as exc:
        raise PermanentSourceError(f"{label}: X refused the request: {exc}") from exc
    except tweepy.HTTPException as exc:  # TwitterServerError and anything unexpected
        raise TransientSourceError(f"{label}: X answered {exc}") from exc
    except requests.RequestException as exc:  # timeouts, connection errors
        raise TransientSourceError(f"{label}: {type(exc).__name__}: {exc}") from exc


class XTransport:
    """A tweepy client plus how its requests are authenticated."""

    def __init__(
        self,
        *,
        bearer_token: str | None = None,
        oauth1: OAuth1Keys | None = None,
        tokens: AccessTokens | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 15.0,
    ) -> None:
        self.tokens = tokens
        self.user_auth = tokens is None and not bearer_token  # tweepy: OAuth 1.0a
        self.user_context = tokens is not None or self.user_auth
        self.client = make_client(
            bearer_token=bearer_token or ("(set per request)" if tokens else None),
            oauth1=None if tokens else oauth1,
            api_base_url=api_base_url,
            timeout=timeout,
        )

    def call(
        self, label: str, request: Callable[..., Any], *args: Any, now: datetime
    ) -> requests.Response:
        if self.tokens is None:
            return call(label, request, *args)
        for attempt in (1, 2):
            self.client.bearer_token = self.tokens.token(now=now)
            try:
                return call(label, request, *args)
            except PermanentSourceError as exc:
                if not isinstance(exc.__cause__, tweepy.Unauthorized):
                    raise
                self.tokens.rejected(now=now)
                if attempt == 2:
                    raise NeedsReauthorisation(
                        f"{label}: X refused the account's OAuth 2.0 token twice: "
                        "connect the account again (complaint-monitor connect x)"
                    ) from exc
        raise AssertionError("unreachable")
