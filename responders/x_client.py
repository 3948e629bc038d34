"""The tweepy transport shared by the X sources and the X responder.

tweepy hard-codes ``https://api.twitter.com``. :func:`make_client` mounts a
:class:`BaseUrlAdapter` on ``client.session`` that rewrites scheme, host, port and path
prefix of every request to ``api_base_url`` and applies a default timeout, so staging
and tests point the real client elsewhere. Clients return raw ``requests.Response``
objects (rate-limit headers stay readable) and never sleep on a rate limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests.utils import should_bypass_proxies

DEFAULT_API_BASE_URL = "https://api.x.com"
TWEEPY_HOSTS = ("https://api.twitter.com/", "https://api.x.com/")


@dataclass(frozen=True)
class OAuth1Keys:
    """OAuth 1.0a user-context credentials (needed for DMs and for replying)."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str


class BaseUrlAdapter(HTTPAdapter):
    """Sends every request to ``base_url`` instead of the host tweepy wrote in it."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"api_base_url must be an http(s) URL, got {base_url!r}")
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        super().__init__()

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        path = self._prefix + parts.path
        return urlunsplit((self._scheme, self._netloc, path, parts.query, parts.fragment))

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        request.url = self.rewrite(request.url or "")
        if timeout is None:
            timeout = self._timeout
        # The session chose proxies for the original host; re-check NO_PROXY for ours.
        if proxies and should_bypass_proxies(request.url, no_proxy=None):
            proxies = {}
        return super().send(request, stream, timeout, verify, cert, proxies)


def make_client(
    *,
    bearer_token: str | None,
    oauth1: OAuth1Keys | None = None,
    api_base_url: str = DEFAULT_API_BASE_URL,
    timeout: float = 15.0,
) -> Any:
    """A ``tweepy.Client`` returning raw responses, pointed at ``api_base_url``."""
    keys = oauth1 or OAuth1Keys("", "", "", "")
    client = tweepy.Client(
        bearer_token=bearer_token,
        consumer_key=keys.consumer_key or None,
        consumer_secret=keys.consumer_secret or None,
        access_token=keys.access_token or None,
        access_token_secret=keys.access_token_secret or None,
        return_type=requests.Response,
        wait_on_rate_limit=False,
    )
    adapter = BaseUrlAdapter(api_base_url, timeout=timeout)
    for host in TWEEPY_HOSTS:
        client.session.mount(host, adapter)
    return client
