"""The source seam: ``fetch(cursor) -> Batch``, and the error hierarchy.

Errors a source may raise (vendor errors are translated at this boundary)::

    SourceError              any failure; the cursor is not advanced
    ├── TransientSourceError network trouble, timeouts, 5xx: back off and retry
    │   └── RateLimited      429: do not poll again before ``reset_at``
    ├── MonthlyCapReached    X's monthly usage cap (a 429 whose body says so): not a
    │                        rate limit; nothing more can be read until the cap resets
    └── PermanentSourceError bad credentials, forbidden, misconfiguration
        └── NeedsReauthorisation  the OAuth grant was revoked or expired: an admin must
                                  connect the account again (the cursor is kept)

A source that logs in with OAuth gets its access tokens from an :class:`AccessTokens`
(the sealed grant in the database, refreshed before expiry); it never sees the refresh
token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from monitor.mentions import MentionIn

Cursor = Mapping[str, Any]  # JSON-serialisable; opaque to everyone but its source


@dataclass(frozen=True)
class Quarantined:
    """An item the source could not turn into a mention: kept, never dropped."""

    source: str
    reason: str
    raw: bytes
    external_id: str | None = None


@dataclass(frozen=True)
class Batch:
    mentions: list[MentionIn]
    next_cursor: dict[str, Any]
    quarantined: list[Quarantined] = field(default_factory=list)
    rate_limit_remaining: int | None = None
    rate_limit_reset_at: datetime | None = None


class SourceError(Exception):
    """A fetch failed; nothing was consumed."""


class TransientSourceError(SourceError):
    """Worth retrying later (network, timeout, 5xx)."""


class RateLimited(TransientSourceError):
    def __init__(self, message: str, *, reset_at: datetime | None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class PermanentSourceError(SourceError):
    """Retrying will not help until someone fixes configuration or credentials."""


class NeedsReauthorisation(PermanentSourceError):
    """The stored OAuth grant no longer works (revoked, expired, wrong account)."""


class MonthlyCapReached(SourceError):
    """X refused the request because the app's monthly usage cap is used up."""

    def __init__(self, message: str, *, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class AccessTokens(Protocol):
    """Bearer tokens for one connected account."""

    def token(self, *, now: datetime) -> str:
        """A current access token; raises NeedsReauthorisation or TransientSourceError."""
        ...

    def rejected(self, *, now: datetime) -> None:
        """The resource server refused the last token: refresh before the next use."""
        ...


class Source(Protocol):
    """One pollable feed. ``name`` is the key of its stored cursor (e.g. ``x:mentions``)."""

    @property
    def name(self) -> str: ...

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch: ...
