"""The responder error hierarchy (minimal; the replies work extends this module).

Vendor errors become one of these at the adapter boundary, so callers never import a
vendor library to decide what to do next::

    ResponderError
     ├── TransientError   try again later (rate limit, 5xx, network); may carry retry_after
     └── PermanentError   retrying cannot help (bad address, not allowed, unknown channel)
"""

from __future__ import annotations


class ResponderError(Exception):
    """A delivery through a responder failed."""


class TransientError(ResponderError):
    """Worth retrying later; ``retry_after`` (seconds) when the vendor said how long."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(ResponderError):
    """Retrying the same request cannot succeed."""
