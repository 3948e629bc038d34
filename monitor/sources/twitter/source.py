"""What the X sources share: credentials, transport, meter, paging limits, first poll."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

import requests

from monitor.sources.base import AccessTokens
from monitor.sources.first_poll import FirstPollRule
from monitor.sources.twitter.costs import NoMeter, UsageMeter, response_reads
from monitor.sources.twitter.parsing import Collector, Page
from monitor.sources.twitter.transport import XTransport
from responders.x_client import DEFAULT_API_BASE_URL, OAuth1Keys

if TYPE_CHECKING:
    from monitor.config import TwitterSourceSettings


class XSource:
    """Shared construction; subclasses define ``name``, ``endpoint`` and ``fetch``."""

    name = "x"
    endpoint = ""
    data_kind = "post"
    min_page = 1

    def __init__(
        self,
        *,
        user_id: str,
        bearer_token: str | None = None,
        oauth1: OAuth1Keys | None = None,
        tokens: AccessTokens | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 15.0,
        max_pages: int = 10,
        page_size: int = 100,
        meter: UsageMeter | None = None,
        first_poll: FirstPollRule | None = None,
    ) -> None:
        if not user_id.isdigit():
            raise ValueError(f"{self.name}: user_id must be the numeric X user id")
        if not bearer_token and oauth1 is None and tokens is None:
            raise ValueError(
                f"{self.name}: needs an OAuth 2.0 grant, a bearer token or OAuth 1.0a keys"
            )
        if max_pages < 1 or not self.min_page <= page_size <= 100:
            raise ValueError(f"{self.name}: max_pages >= 1, page_size {self.min_page}..100")
        self.user_id, self.max_pages, self.page_size = user_id, max_pages, page_size
        self.transport = XTransport(
            bearer_token=bearer_token, oauth1=oauth1, tokens=tokens,
            api_base_url=api_base_url, timeout=timeout,
        )  # fmt: skip
        self.client = self.transport.client
        self.user_auth = self.transport.user_auth
        self.meter: UsageMeter = meter or NoMeter()
        self.first_poll = first_poll or FirstPollRule()

    @property
    def owned_reads(self) -> bool:
        """Reads of the brand's own mentions with its user token: X's owned-reads price."""
        return self.transport.tokens is not None and self.data_kind == "post"

    def request(self, page: Callable[..., Any], *args: Any, now: datetime) -> requests.Response:
        response = self.transport.call(self.name, page, *args, now=now)
        return response

    def read(self, c: Collector, response: requests.Response, *, now: datetime) -> Page:
        """Meter, note the rate-limit headers and parse one response."""
        c.note_response(response.headers)
        page = Page(response.content)
        reads = response_reads(page.body, data_kind=self.data_kind, owned=self.owned_reads)
        self.meter.record(self.endpoint, reads, now=now)
        return page

    @classmethod
    def from_settings(
        cls,
        settings: TwitterSourceSettings,
        secret: Callable[[str | None], str | None],
        *,
        tokens: AccessTokens | None = None,
        meter: UsageMeter | None = None,
        user_id: str | None = None,
    ) -> Self:
        """Build from ``sources.twitter``; ``secret`` maps an env var name to its value;
        ``tokens`` is the account's OAuth 2.0 grant when ``auth`` is ``oauth2``."""
        names = (
            settings.consumer_key_env,
            settings.consumer_secret_env,
            settings.access_token_env,
            settings.access_token_secret_env,
        )
        keys = [secret(name) or "" for name in names]
        oauth2 = settings.auth == "oauth2"
        return cls(
            user_id=user_id or settings.user_id,
            bearer_token=None if oauth2 else secret(settings.bearer_token_env),
            oauth1=OAuth1Keys(*keys) if all(keys) and not oauth2 else None,
            tokens=tokens if oauth2 else None,
            api_base_url=settings.api_base_url,
            timeout=settings.timeout_seconds,
            max_pages=settings.max_pages,
            meter=meter,
            first_poll=FirstPollRule(settings.first_poll.start, settings.first_poll.backlog_hours),
        )
