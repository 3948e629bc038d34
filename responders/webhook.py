"""Outbound webhooks, signed per the Standard Webhooks scheme (standardwebhooks.com).

Each request carries three headers:

- ``webhook-id``: the message id, the same on every retry (receivers dedupe on it);
- ``webhook-timestamp``: integer Unix seconds of this attempt;
- ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")),
  where the key is the base64-decoded part of the ``whsec_…`` secret. Several
  space-separated signatures may be sent (key rotation); a receiver accepts any match.

The body is the exact bytes signed: ``{"type": …, "timestamp": …, "data": {…}}``.
:func:`verify` is the receiver's side (used by our tests, usable by subscribers).
Answers: 2xx delivered; 408, 429, 5xx and network errors are :class:`TransientError`
(with ``Retry-After`` when given); other statuses are :class:`PermanentError`.
Retries and the delivery log are the caller's (``monitor.webhooks``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from responders.base import PermanentError, TransientError

SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)
TOLERANCE_SECONDS = 5 * 60
USER_AGENT = "complaint-monitor-webhooks/1"


class InvalidSignature(Exception):
    """The request is not a valid Standard Webhooks delivery for this secret."""


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one secret: ``v1,<base64>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """Check a delivery and return its parsed body, or raise :class:`InvalidSignature`."""
    h = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        timestamp = int(ts)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not an integer") from None
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for entry in sigs.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected.encode()):
            parsed: dict[str, Any] = json.loads(body)
            return parsed
    raise InvalidSignature("no matching signature")


def body_of(event_type: str, timestamp_iso: str, data: Mapping[str, Any]) -> bytes:
    payload = {"type": event_type, "timestamp": timestamp_iso, "data": dict(data)}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class WebhookResult:
    status_code: int


class WebhookUnavailable(TransientError):
    """The endpoint did not take it now (timeout, 408, 429, 5xx); try again later."""

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status_code = status_code


class WebhookRejected(PermanentError):
    """The endpoint refused it (another 4xx, or a redirect we do not follow)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class WebhookSender:
    """POSTs signed deliveries with one shared ``httpx.Client``."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    @classmethod
    def with_timeout(cls, seconds: float) -> WebhookSender:
        return cls(httpx.Client(timeout=seconds, follow_redirects=False))

    def close(self) -> None:
        self.client.close()

    def send(
        self, url: str, *, secret: str, msg_id: str, timestamp: int, body: bytes
    ) -> WebhookResult:
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
        try:
            response = self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise WebhookUnavailable(f"{type(exc).__name__}: {exc}") from exc
        code = response.status_code
        if 200 <= code < 300:
            return WebhookResult(code)
        if code in (408, 429) or code >= 500:
            raise WebhookUnavailable(
                f"answered {code}", status_code=code, retry_after=_retry_after(response)
            )
        raise WebhookRejected(f"answered {code}", status_code=code)
