"""The seam between the outbox and the vendors: what to send, what came back, what failed.

A responder delivers one :class:`Outbound` and answers a :class:`Delivery` or raises::

    ResponderError              any failure; the message is safe to show to staff
    ├── TransientError          try again later (429, 5xx, timeouts, SMTP 4xx)
    │                           retry_after: seconds, the vendor's hint, when it gave one
    │                           maybe_sent: the request may have reached the vendor
    │                           (timeout or connection lost mid-request, 5xx): look
    │                           before sending again
    └── PermanentError          do not try again (400/401/403/404, SMTP 5xx)
        └── DuplicateContent    X refused an identical post: look it up, it may be ours

``find_sent`` is the reconciliation half: given an outbound whose outcome is unknown
(the process died between sending and recording), it returns the vendor's record of it,
``None`` when the vendor has none, and raises :class:`Unverifiable` when the channel
cannot be asked at all (SMTP). This package imports nothing from ``monitor``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Outbound:
    """One reply to deliver, with everything the channel needs.

    channel         "x" (public reply), "x_dm" or "email"
    recipient       X user id (x_dm), email address (email); for "x" the author's id
    recipient_name  display name or @username, for greetings and the email To header
    in_reply_to     the external id answered: tweet id, or the email's Message-ID
    references      email References chain (oldest first), without the in_reply_to
    subject         email subject (a "Re: " is added when missing)
    message_id      our Message-ID for email, generated before the first attempt
    quoted          the customer's message, quoted below an email reply
    sender_name     the staff member's name (email From display name)
    idempotency_key the outbox key (X does not take one; kept for logs and vendors that do)
    """

    channel: str
    body: str
    recipient: str
    idempotency_key: str
    recipient_name: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str | None = None
    message_id: str | None = None
    quoted: str | None = None
    sender_name: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What the vendor recorded: tweet id, DM event id or the email's Message-ID."""

    external_id: str
    delivered_at: datetime
    detail: dict[str, str] = field(default_factory=dict)


class ResponderError(Exception):
    """A delivery that did not (certainly) happen; the message is safe to show staff."""


class TransientError(ResponderError):
    """Worth retrying later; ``retry_after`` (seconds) when the vendor said how long."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, maybe_sent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent


class PermanentError(ResponderError):
    """Retrying the same request cannot succeed."""


class DuplicateContent(PermanentError):
    """The vendor refused the post as a duplicate of one already published."""


class Unverifiable(ResponderError):
    """The channel has no way to look up what was sent (SMTP)."""


@runtime_checkable
class Responder(Protocol):
    def send(self, outbound: Outbound) -> Delivery: ...

    def find_sent(self, outbound: Outbound) -> Delivery | None: ...
