"""Our Standard Webhooks signing against the reference implementation (`standardwebhooks`).

Both directions: what we send verifies with the reference ``Webhook`` class, and what the
reference signs verifies with our receiver-side :func:`responders.webhook.verify`. The
reference checks timestamps against the wall clock, so the deliveries are stamped now.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from responders.webhook import InvalidSignature, WebhookSender, body_of, new_secret, sign, verify
from tests.webhook_receiver import webhook_receiver

BODIES = [
    body_of("case.updated", "2026-11-23T10:00:00+00:00", {"case_id": 7, "status": "open"}),
    body_of("mention.created", "2026-11-23T10:00:00+00:00", {"text": "Où est ma commande ? 😡"}),
    b"{}",
]


def headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


@pytest.mark.parametrize("body", BODIES)
def test_our_signature_verifies_with_the_reference(body: bytes) -> None:
    secret, now = new_secret(), int(time.time())
    signed = headers("msg_2b", now, sign(secret, "msg_2b", now, body))
    assert Webhook(secret).verify(body, signed) == verify(secret, signed, body, now=now)


@pytest.mark.parametrize("body", BODIES)
def test_the_reference_signature_verifies_with_ours(body: bytes) -> None:
    secret, now = new_secret(), int(time.time())
    theirs = Webhook(secret).sign("msg_3c", datetime.fromtimestamp(now, UTC), body.decode())
    assert theirs == sign(secret, "msg_3c", now, body)
    assert verify(secret, headers("msg_3c", now, theirs), body, now=now) is not None


@settings(max_examples=50, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=64),
    msg_id=st.text(st.characters(codec="ascii", exclude_characters=". \r\n"), min_size=1),
    text=st.text(max_size=200),
)
def test_signatures_match_the_reference_for_any_key_id_and_body(
    key: bytes, msg_id: str, text: str
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    now = int(time.time())
    body = body_of("case.updated", "2026-11-23T10:00:00+00:00", {"text": text})
    ours = sign(secret, msg_id, now, body)
    assert ours == Webhook(secret).sign(msg_id, datetime.fromtimestamp(now, UTC), body.decode())


def test_a_tampered_delivery_fails_in_both() -> None:
    secret, now, body = new_secret(), int(time.time()), BODIES[0]
    signed = headers("msg_4d", now, sign(secret, "msg_4d", now, body))
    tampered = body.replace(b"open", b"shut")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, signed)
    with pytest.raises(InvalidSignature):
        verify(secret, signed, tampered, now=now)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, signed)


def test_a_rotated_key_pair_of_signatures_verifies_with_the_reference() -> None:
    old, new, now, body = new_secret(), new_secret(), int(time.time()), BODIES[1]
    both = f"{sign(old, 'msg_5e', now, body)} {sign(new, 'msg_5e', now, body)}"
    for secret in (old, new):
        Webhook(secret).verify(body, headers("msg_5e", now, both))
        verify(secret, headers("msg_5e", now, both), body, now=now)


def test_a_delivery_over_http_verifies_with_the_reference() -> None:
    secret, now, body = new_secret(), int(time.time()), BODIES[1]
    sender = WebhookSender(httpx.Client(timeout=5))
    try:
        with webhook_receiver() as rec:
            sender.send(rec.url, secret=secret, msg_id="msg_6f", timestamp=now, body=body)
            (got,) = rec.received
    finally:
        sender.close()
    assert Webhook(secret).verify(got.body, got.headers) == verify(
        secret, got.headers, got.body, now=now
    )
