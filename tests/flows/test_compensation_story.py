"""Issue 19's rebate story over HTTP, on both databases, with a real webhook receiver.

An agent promises a one-month rebate (29 EUR, above the 20 EUR limit): the reply is
held until a lead approves; the approval releases it to the delivery worker and sends a
signed ``compensation.requested`` webhook to billing; billing confirms through
``POST /api/v1/promises/{id}/fulfil`` with its credit-note id, and only then does the
promise count as kept. A gift, by contrast, is confirmed by staff with a note.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from monitor.alerts import webhooks
from monitor.config import ReplySettings
from monitor.db import make_sessionmaker, utcnow
from monitor.models import Promise, Reply
from monitor.replies.scheduled import deliver_due
from monitor.storage.secret_box import SecretBox
from responders.base import Delivery, Outbound
from responders.webhook import WebhookSender, verify
from tests.factories.replies import seed
from tests.fixtures.web import SECRET, WebApp
from tests.webhook_receiver import webhook_receiver

REBATE_REPLY = (
    "Dan, you're right: the Slack invite we promised for order 4411 never came, and that "
    "is on us. I've sent it again just now, and we'll take one month off your bill "
    "(29 EUR) for the trouble; you'll see it on your next invoice."
)
VISIT_REPLY = (
    "Dan, the Slack invite for order 4411 still fails on your side, so an engineer will "
    "visit you on Friday morning to set it up with you in person."
)
REBATE = {
    "kind": "rebate",
    "wording": "we'll take one month off your bill (29 EUR)",
    "due_local": "2030-01-31T17:00",
    "compensation_kind": "rebate",
    "compensation_amount": "29",
    "compensation_reason": "the Slack invite promised for order 4411 never came",
}


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    def send(self, outbound: Outbound) -> Delivery:
        self.sent.append(outbound)
        return Delivery(external_id=f"<sent-{len(self.sent)}@t.test>", delivered_at=utcnow())

    def find_sent(self, outbound: Outbound) -> Delivery | None:
        return None


def tokens(web_app: WebApp) -> dict[str, dict[str, str]]:
    scopes = ["replies:write", "queue:read", "cases:write", "promises:write"]
    made = {
        "agent": web_app.add_token(scopes, staff="priya"),
        "lead": web_app.add_token(scopes, staff="lena"),
        "billing": web_app.add_token(["promises:write", "queue:read"], staff="lena"),
    }
    return {k: {"Authorization": f"Bearer {v}"} for k, v in made.items()}


def test_a_rebate_above_the_limit_needs_a_lead_is_requested_confirmed_and_only_then_kept(
    web_app: WebApp, app_client: Any
) -> None:
    with web_app.session() as s, s.begin():
        case_id = seed(s).case_id
    h = tokens(web_app)
    with webhook_receiver() as billing:
        box = SecretBox(SECRET)
        sessions = make_sessionmaker(web_app.engine)
        with sessions.begin() as s:  # plain http to the local receiver: the domain call
            _, secret = webhooks.create_subscription(
                s, box=box, url=billing.url, kinds=["compensation.requested"], now=utcnow(),
                require_https=False,
            )  # fmt: skip
        sent = app_client.post(
            f"/api/v1/cases/{case_id}/replies",
            json={"body": REBATE_REPLY, "channel": "email", "promises": [REBATE]},
            headers={**h["agent"], "Idempotency-Key": "rebate-1"},
        )
        assert sent.status_code == 202, sent.text
        reply_id, (promise_id,) = sent.json()["id"], sent.json()["promise_ids"]
        assert sent.json()["state"] == "held"
        promise = app_client.get(f"/api/v1/promises/{promise_id}", headers=h["agent"]).json()
        assert promise["approval"] == "pending" and promise["compensation_amount"] == "29.00"
        assert promise["compensation_currency"] == "EUR"

        # Held: the delivery worker does not send it, and it cannot be confirmed yet.
        email = Recorder()
        settings = ReplySettings()
        deliver_due(sessions, {"email": email}, now=utcnow(), holder="w", settings=settings)
        assert email.sent == []
        early = app_client.post(
            f"/api/v1/promises/{promise_id}/fulfil",
            json={"evidence": {"credit_note": "CN-1"}},
            headers=h["billing"],
        )
        assert early.status_code == 409 and "approve" in early.json()["detail"]

        # An agent cannot approve; the lead can, and the reply goes out.
        denied = app_client.post(f"/api/v1/promises/{promise_id}/approve", headers=h["agent"])
        assert denied.status_code == 403
        approved = app_client.post(f"/api/v1/promises/{promise_id}/approve", headers=h["lead"])
        assert approved.status_code == 200, approved.text
        assert approved.json()["approval"] == "approved"
        assert approved.json()["state"] == "open"  # approved is not delivered
        deliver_due(sessions, {"email": email}, now=utcnow(), holder="w", settings=settings)
        assert len(email.sent) == 1 and "29 EUR" in email.sent[0].body
        with sessions() as s:
            assert s.get(Reply, reply_id).state == "sent"

        # Billing hears about it, signed.
        with sessions.begin() as s:
            assert webhooks.fan_out(s, now=utcnow()) >= 1
        stamp = int(utcnow().timestamp())
        webhooks.deliver(
            sessions, WebhookSender(httpx.Client(timeout=5)), box=box, now=utcnow(), timestamp=stamp
        )
        (request,) = billing.received
        event = verify(secret, request.headers, request.body, now=stamp)
        assert event["type"] == "compensation.requested"
        data = event["data"]
        assert data["promise_id"] == promise_id and data["amount"] == "29.00"
        assert data["kind"] == "rebate" and data["confirm"].endswith(f"/{promise_id}/fulfil")

    # Billing confirms with its credit note: now, and only now, it is kept.
    no_evidence = app_client.post(
        f"/api/v1/promises/{promise_id}/fulfil", json={"evidence": {}}, headers=h["billing"]
    )
    assert no_evidence.status_code == 422
    done = app_client.post(
        f"/api/v1/promises/{promise_id}/fulfil",
        json={"evidence": {"credit_note": "CN-20261202-0042"}},
        headers=h["billing"],
    )
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "fulfilled"
    assert done.json()["evidence"]["credit_note"] == "CN-20261202-0042"


def test_a_gift_is_confirmed_by_staff_with_a_note_and_a_refused_one_is_never_sent(
    web_app: WebApp, app_client: Any
) -> None:
    with web_app.session() as s, s.begin():
        case_id = seed(s).case_id
    h = tokens(web_app)
    gift = {**REBATE, "kind": "custom", "wording": "we'll send you a hamper this week",
            "compensation_kind": "gift", "compensation_amount": "25"}  # fmt: skip
    sent = app_client.post(
        f"/api/v1/cases/{case_id}/replies",
        json={"body": REBATE_REPLY, "channel": "email", "promises": [gift]},
        headers={**h["agent"], "Idempotency-Key": "gift-1"},
    )
    assert sent.status_code == 202 and sent.json()["state"] == "queued"  # 25 <= 30: no lead
    (gift_id,) = sent.json()["promise_ids"]
    bare = app_client.post(
        f"/api/v1/promises/{gift_id}/fulfil",
        json={"evidence": {"parcel": "1Z999"}},
        headers=h["agent"],
    )
    assert bare.status_code == 422 and "note" in bare.json()["detail"]
    noted = app_client.post(
        f"/api/v1/promises/{gift_id}/fulfil",
        json={"evidence": {}, "note": "Priya posted it Tuesday; Dan wrote back delighted"},
        headers=h["agent"],
    )
    assert noted.status_code == 200 and noted.json()["state"] == "fulfilled"

    visit = {**REBATE, "kind": "custom", "wording": "an engineer will visit you on Friday",
             "compensation_kind": "visit", "compensation_amount": None}  # fmt: skip
    held = app_client.post(
        f"/api/v1/cases/{case_id}/replies",
        json={"body": VISIT_REPLY, "channel": "email", "promises": [visit]},
        headers={**h["agent"], "Idempotency-Key": "visit-1"},
    )
    assert held.json()["state"] == "held"  # visits always need a lead (limit 0)
    (visit_id,) = held.json()["promise_ids"]
    refused = app_client.post(
        f"/api/v1/promises/{visit_id}/refuse",
        json={"reason": "no engineers free this week; offer a call"},
        headers=h["lead"],
    )
    assert refused.status_code == 200 and refused.json()["state"] == "cancelled"
    with web_app.session() as s:
        reply = s.get(Reply, held.json()["id"])
        assert reply.state == "failed" and "refused" in (reply.error or "")
        assert s.scalars(select(Promise.approval).where(Promise.id == visit_id)).one() == "refused"
