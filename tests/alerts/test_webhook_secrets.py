"""Webhook signing secrets are sealed at rest (monitor.storage.secret_box) and still sign.

Through the real delivery job and a real HTTP receiver: a sealed secret signs
verifiable deliveries; one stored in plain text before sealing existed still signs
and is sealed on first use (and by ``serve`` at start-up); one sealed under another
key is never sent unsigned, the delivery log says why, and it is retried on the
schedule, so putting the key right lets it through.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor import events
from monitor.alerts import webhooks
from monitor.db import make_sessionmaker
from monitor.models import AlertState, WebhookDelivery, WebhookSubscription
from monitor.storage.secret_box import SEALED_PREFIX, SecretBox, SecretUnreadable
from responders.webhook import WebhookSender, new_secret, verify
from tests.factories import T0
from tests.webhook_receiver import webhook_receiver

BOX = SecretBox("the session secret of this deployment, 40+ chars")


def test_seal_and_open() -> None:
    plain = new_secret()
    one, two = BOX.seal(plain), BOX.seal(plain)
    assert one.startswith(SEALED_PREFIX) and plain not in one
    assert one != two  # a fresh IV each time: equal secrets do not look equal
    assert BOX.open(one) == BOX.open(two) == plain
    assert len(one) <= 200  # fits webhook_subscriptions.secret
    assert BOX.open(plain) == plain  # stored before sealing existed
    tampered = one[:-6] + ("A" if one[-6] != "A" else "B") + one[-5:]
    with pytest.raises(SecretUnreadable, match="session secret"):
        BOX.open(tampered)
    with pytest.raises(SecretUnreadable, match="create it again"):
        SecretBox("another deployment's session secret, 40+ chars").open(one)
    with pytest.raises(ValueError, match="key material"):
        SecretBox("")


def _subscription(
    url: str, secret: str, *, active: bool = True, after_event_id: int = 0
) -> WebhookSubscription:
    """A subscription row holding ``secret`` exactly as given (sealed or not)."""
    return WebhookSubscription(
        url=url,
        secret=secret,
        events=[],
        description="",
        active=active,
        after_event_id=after_event_id,
        created_at=T0,
        updated_at=T0,
    )


def _deliver_one(
    engine: Engine, stored_secret: str, box: SecretBox
) -> tuple[list, int, webhooks.WebhookStats]:
    """One subscription with ``stored_secret`` in its row, one event, one delivery run."""
    sessions = make_sessionmaker(engine)
    with webhook_receiver() as rec:
        with sessions.begin() as s:
            sub = _subscription(rec.url, stored_secret, after_event_id=events.latest_id(s))
            s.add(sub)
            s.flush()
            sub_id = sub.id
            events.append(s, events.EventKind.CASE_UPDATED, now=T0, payload={"n": 1})
        with sessions.begin() as s:
            assert webhooks.fan_out(s, now=T0) >= 1
        stamp = int(T0.timestamp())
        sender = WebhookSender(httpx.Client(timeout=5))
        stats = webhooks.deliver(
            sessions, sender, box=box, now=T0 + timedelta(seconds=1), timestamp=stamp
        )
        return list(rec.received), sub_id, stats


def test_a_sealed_secret_signs(committed_engine: Engine) -> None:
    plain = new_secret()
    received, _, stats = _deliver_one(committed_engine, BOX.seal(plain), BOX)
    assert len(received) == 1 and stats.delivered == 1
    got = verify(plain, received[0].headers, received[0].body, now=int(T0.timestamp()))
    assert got["type"] == "case.updated"


def test_a_plain_text_secret_still_signs_and_is_sealed_on_first_use(
    committed_engine: Engine,
) -> None:
    plain = new_secret()
    received, sub_id, _ = _deliver_one(committed_engine, plain, BOX)
    assert len(received) == 1
    verify(plain, received[0].headers, received[0].body, now=int(T0.timestamp()))
    with make_sessionmaker(committed_engine)() as s:
        stored = s.get(WebhookSubscription, sub_id).secret
    assert stored.startswith(SEALED_PREFIX) and BOX.open(stored) == plain


def test_a_secret_sealed_under_another_key_is_never_sent_unsigned(
    committed_engine: Engine,
) -> None:
    other = SecretBox("a session secret that has since been replaced, 40+")
    plain = new_secret()
    received, sub_id, stats = _deliver_one(committed_engine, other.seal(plain), BOX)
    assert received == [] and stats.retried == 1 and stats.delivered == 0
    sessions = make_sessionmaker(committed_engine)
    with sessions() as s:
        row = s.query(WebhookDelivery).filter(WebhookDelivery.subscription_id == sub_id).one()
        assert row.state == AlertState.PENDING and "session secret" in (row.error or "")
        retry_at = row.next_attempt_at
    assert retry_at is not None
    with webhook_receiver() as rec:  # the old key is put back: the retry goes through
        with sessions.begin() as s:
            s.get(WebhookSubscription, sub_id).url = rec.url
        sender = WebhookSender(httpx.Client(timeout=5))
        stamp = int(T0.timestamp())
        later = webhooks.deliver(sessions, sender, box=other, now=retry_at, timestamp=stamp)
        assert later.delivered == 1
        verify(plain, rec.received[0].headers, rec.received[0].body, now=stamp)


def test_start_up_seals_plain_text_and_counts_foreign_ones(session: Session) -> None:
    other = SecretBox("a session secret that has since been replaced, 40+")
    plain = new_secret()
    rows = [plain, BOX.seal(new_secret()), other.seal(new_secret())]
    for i, secret in enumerate(rows):
        session.add(
            # a quiet, inactive subscription is sealed too
            _subscription(f"https://hooks.example/{i}", secret, active=i != 0)
        )
    session.flush()
    assert webhooks.seal_stored_secrets(session, BOX) == (1, 1)
    stored = [s.secret for s in session.query(WebhookSubscription).order_by(WebhookSubscription.id)]
    assert all(BOX.is_sealed(v) for v in stored) and BOX.open(stored[0]) == plain
    assert webhooks.seal_stored_secrets(session, BOX) == (0, 1)  # nothing left to seal
