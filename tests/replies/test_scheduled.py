"""The outbox worker against real vendors' fakes: X (tweepy + fake X API) and SMTP (aiosmtpd).

Time is passed in; nothing sleeps. Each test commits for real (several sessions, as the
worker uses them) on both databases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from monitor.cases import service as queue
from monitor.config import ReplySettings
from monitor.db import make_sessionmaker
from monitor.models import Case, Event, Identity, Reply
from monitor.replies.scheduled import backoff, deliver_due, reconcile
from monitor.replies.service import queue_reply
from responders.base import Delivery, Outbound, Responder
from responders.email import SmtpOptions, SmtpResponder
from responders.twitter import XResponder
from responders.x_client import OAuth1Keys
from tests.factories import T0
from tests.factories.replies import APOLOGY, POLICY, Seeded, seed
from tests.factories.staff import fetch_staff
from tests.fakes.x_api import XApiState
from tests.fixtures.smtp import SmtpSink

SETTINGS = ReplySettings(retry_seconds=30, send_lease_seconds=120)


def x_responder(x_api: XApiState) -> XResponder:
    keys = OAuth1Keys(
        x_api.consumer_key, x_api.consumer_secret, x_api.access_token, x_api.access_token_secret
    )
    return XResponder(user_id=x_api.brand_id, oauth1=keys, api_base_url=x_api.base_url, timeout=5)


def smtp_responder(sink: SmtpSink) -> SmtpResponder:
    opts = SmtpOptions(
        host=sink.host, port=sink.port, from_address="support@brand.test", tls="none"
    )
    return SmtpResponder(opts)


class World:
    def __init__(self, engine: Engine, x_api: XApiState | None = None) -> None:
        self.sessions = make_sessionmaker(engine)
        with self.sessions.begin() as s:
            if x_api is not None:
                dan = x_api.add_user("devdan", name="Dan Devlin")
                tweet = x_api.mention(dan, "@brand where is my Slack invite? Order 4411")
                self.seeded: Seeded = seed(s, x_user_id=dan, tweet_id=tweet)
            else:
                self.seeded = seed(s)

    def queue(self, channel: str, body: str = APOLOGY, key: str = "k-1", now: datetime = T0) -> int:
        with self.sessions.begin() as s:
            case = queue.get_case(s, self.seeded.case_id)
            q = queue_reply(
                s,
                case=case,
                staff=fetch_staff(s, self.seeded.agent_id),
                body=body,
                channel=channel,
                idempotency_key=key,
                now=now,
                policy=POLICY,
            )
            return q.reply.id

    def reply(self, reply_id: int) -> Reply:
        with self.sessions() as s:
            r = s.get(Reply, reply_id)
            assert r is not None
            return r

    def case(self) -> Case:
        with self.sessions() as s:
            return queue.get_case(s, self.seeded.case_id)

    def events(self, kind: str) -> list[Event]:
        with self.sessions() as s:
            return list(s.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))

    def deliver(
        self, responders: dict[str, Any], now: datetime, holder: str = "w1", **kw: Any
    ) -> Any:
        return deliver_due(
            self.sessions,
            responders,
            now=now,
            holder=holder,
            settings=kw.pop("settings", SETTINGS),
            **kw,
        )

    def reconcile(self, responders: dict[str, Any], now: datetime, **kw: Any) -> Any:
        return reconcile(
            self.sessions,
            responders,
            now=now,
            holder="w2",
            settings=kw.pop("settings", SETTINGS),
            **kw,
        )


def test_x_reply_delivered_counts_as_staff_reply_and_apology(
    committed_engine: Engine, x_api: XApiState, scorer: Any
) -> None:
    w = World(committed_engine, x_api)
    rid = w.queue("x", APOLOGY[:270])
    report = w.deliver({"x": x_responder(x_api)}, T0, scorer=scorer)
    assert report.sent == [rid]
    reply = w.reply(rid)
    [posted] = x_api.posted_tweets
    assert reply.state == "sent" and reply.external_id == posted["id"] and reply.attempts == 1
    assert posted["request"]["reply"] == {"in_reply_to_tweet_id": w.seeded.tweet_id}
    case = w.case()
    assert case.last_staff_reply_at == T0 and case.unanswered_count == 0
    assert case.apologised_at == T0 and case.status == "waiting"
    assert case.score < 60  # rescored without the unanswered text
    assert [e.payload["reply_id"] for e in w.events("reply.sent")] == [rid]
    assert w.deliver({"x": x_responder(x_api)}, T0 + timedelta(hours=1)).sent == []


def test_x_dm_delivered(committed_engine: Engine, x_api: XApiState) -> None:
    w = World(committed_engine, x_api)
    rid = w.queue("x_dm")
    assert w.deliver({"x_dm": x_responder(x_api)}, T0).sent == [rid]
    [dm] = x_api.sent_dms
    assert dm["participant_id"] == w.seeded.x_user_id and w.reply(rid).external_id == dm["id"]


def test_x_429_then_503_then_success_with_backoff(
    committed_engine: Engine, x_api: XApiState
) -> None:
    w = World(committed_engine, x_api)
    responders = {"x": x_responder(x_api)}
    rid = w.queue("x", APOLOGY[:270])
    x_api.fail_next(429, endpoint="create_tweet")  # X sends x-rate-limit-reset (~15 min)
    assert w.deliver(responders, T0).retrying == [rid]
    r = w.reply(rid)
    assert r.state == "queued" and r.attempts == 1 and "rate limit" in (r.error or "")
    assert r.next_attempt_at is not None
    assert timedelta(seconds=30) < r.next_attempt_at - T0 <= timedelta(seconds=900)
    t1 = r.next_attempt_at
    assert w.deliver(responders, t1 - timedelta(seconds=1)).sent == []  # not due yet
    x_api.fail_next(503, endpoint="create_tweet")  # a 5xx may have posted: look first
    assert w.deliver(responders, t1).unknown == [rid]
    r = w.reply(rid)
    assert r.state == "sending" and r.lease_expires_at == t1 + backoff(2, SETTINGS)
    assert w.reconcile(responders, t1 + timedelta(seconds=59)).requeued == []  # lease holds
    t2 = t1 + timedelta(seconds=60)
    assert w.reconcile(responders, t2).requeued == [rid]  # not in our timeline: resend
    assert w.deliver(responders, t2).sent == [rid]
    assert len(x_api.posted_tweets) == 1 and w.reply(rid).attempts == 3
    assert len(w.events("reply.retrying")) == 1


def test_retry_after_from_rate_limit_reset_and_giving_up(
    committed_engine: Engine, x_api: XApiState
) -> None:
    w = World(committed_engine, x_api)
    rid = w.queue("x_dm")
    x_api.fail_next(429, endpoint="create_dm", reset_at=int(datetime.now().timestamp()) + 600)
    w.deliver({"x_dm": x_responder(x_api)}, T0)
    wait = w.reply(rid).next_attempt_at - T0  # type: ignore[operator]
    assert timedelta(seconds=590) < wait <= timedelta(seconds=600)
    settings = SETTINGS.model_copy(update={"max_attempts": 2})
    x_api.fail_next(429, endpoint="create_dm")
    report = w.deliver({"x_dm": x_responder(x_api)}, T0 + timedelta(hours=1), settings=settings)
    assert report.failed == [rid] and w.reply(rid).state == "failed"


def test_email_threading_and_message_id_stored_before_sending(
    committed_engine: Engine, smtp_sink: SmtpSink
) -> None:
    w = World(committed_engine)
    rid = w.queue("email")
    message_id = w.reply(rid).message_id
    assert message_id and w.reply(rid).state == "queued"  # known before any attempt
    assert w.deliver({"email": smtp_responder(smtp_sink)}, T0).sent == [rid]
    [mail] = smtp_sink.messages
    msg = mail.message
    assert msg["Message-ID"] == message_id == w.reply(rid).external_id
    assert msg["In-Reply-To"] == "<c2@example.org>"
    assert msg["References"].split() == ["<c1@example.org>", "<c2@example.org>"]
    assert msg["From"].addresses[0].display_name == "Priya Shah"
    assert msg["To"].addresses[0].addr_spec == "dan@example.org"
    body = msg.get_content()
    assert "Dan Devlin wrote:" in body and "> Second time asking" in body


def test_smtp_refusal_fails_permanently_and_shows_on_the_case(
    committed_engine: Engine, smtp_sink_refusing: SmtpSink
) -> None:
    from monitor.cases import casefile

    w = World(committed_engine)
    with w.sessions.begin() as s:  # the customer's address is one the server refuses
        for i in s.scalars(select(Identity).where(Identity.kind == "email")):
            i.handle = "dan@refused.example"
    rid = w.queue("email")
    report = w.deliver({"email": smtp_responder(smtp_sink_refusing)}, T0)
    assert report.failed == [rid]
    r = w.reply(rid)
    assert r.state == "failed" and "550" in (r.error or "") and r.attempts == 1
    [failed] = w.events("reply.failed")
    assert (
        failed.case_id == w.seeded.case_id
        and failed.payload["notify_staff_id"] == w.seeded.agent_id
    )
    with w.sessions() as s:
        cf = casefile.load(s, w.seeded.case_id, now=T0)
        assert [e.meta["state"] for e in cf.timeline if e.kind == "reply"] == ["failed"]
    assert smtp_sink_refusing.messages == []


class Crash(BaseException):
    """The process dies: not an Exception, so nothing in the worker catches it."""


class DiesAfterSending:
    def __init__(self, inner: Responder) -> None:
        self.inner = inner

    def send(self, outbound: Outbound) -> Delivery:
        self.inner.send(outbound)
        raise Crash

    def find_sent(self, outbound: Outbound) -> Delivery | None:
        return self.inner.find_sent(outbound)


@pytest.mark.parametrize("channel", ["x", "x_dm"])
def test_kill_between_send_and_record_never_sends_twice(
    committed_engine: Engine, x_api: XApiState, channel: str
) -> None:
    w = World(committed_engine, x_api)
    rid = w.queue(channel, APOLOGY[:270])
    real = x_responder(x_api)
    with pytest.raises(Crash):
        w.deliver({channel: DiesAfterSending(real)}, T0)
    assert w.reply(rid).state == "sending"  # committed before the vendor was called
    after = T0 + timedelta(seconds=SETTINGS.send_lease_seconds)
    assert w.reconcile({channel: real}, after).reconciled == [rid]  # the restarted process
    assert w.deliver({channel: real}, after + timedelta(hours=1)).sent == []
    sent = x_api.posted_tweets if channel == "x" else x_api.sent_dms
    assert len(sent) == 1 and w.reply(rid).external_id == sent[0]["id"]
    assert w.reply(rid).state == "sent" and len(w.events("reply.reconciled")) == 1
    assert w.case().last_staff_reply_at == after


@pytest.mark.parametrize(("policy", "expected"), [("resend", "sent"), ("fail", "failed")])
def test_email_unknown_outcome_policy(
    committed_engine: Engine, smtp_sink: SmtpSink, policy: str, expected: str
) -> None:
    w = World(committed_engine)
    rid = w.queue("email")
    real = smtp_responder(smtp_sink)
    with pytest.raises(Crash):
        w.deliver({"email": DiesAfterSending(real)}, T0)
    settings = SETTINGS.model_copy(update={"email_unknown_outcome": policy})
    after = T0 + timedelta(minutes=5)
    w.reconcile({"email": real}, after, settings=settings)
    w.deliver({"email": real}, after, settings=settings)
    assert w.reply(rid).state == expected
    ids = {m.message["Message-ID"] for m in smtp_sink.messages}
    assert ids == {w.reply(rid).message_id}  # a re-send reuses the Message-ID
    assert len(smtp_sink.messages) == (2 if policy == "resend" else 1)


def test_duplicate_content_on_x_is_reconciled_not_resent(
    committed_engine: Engine, x_api: XApiState
) -> None:
    w = World(committed_engine, x_api)
    rid = w.queue("x", APOLOGY[:270])
    real = x_responder(x_api)
    with pytest.raises(Crash):
        w.deliver({"x": DiesAfterSending(real)}, T0)
    with w.sessions.begin() as s:  # as if the lease had been lost and the row re-queued
        r = s.get(Reply, rid)
        assert r is not None
        r.state, r.next_attempt_at, r.holder = "queued", T0, None
    assert w.deliver({"x": real}, T0 + timedelta(minutes=1)).sent == [rid]
    assert (
        len(x_api.posted_tweets) == 1 and w.reply(rid).external_id == x_api.posted_tweets[0]["id"]
    )


def test_concurrent_workers_send_each_reply_once(
    committed_engine: Engine, x_api: XApiState
) -> None:
    w = World(committed_engine, x_api)
    ids = [
        w.queue("x_dm", f"Dan, order 4411 update number {i}: I'll call you today.", key=f"k{i}")
        for i in range(12)
    ]
    settings = SETTINGS.model_copy(update={"batch_size": 3})
    errors: list[BaseException] = []

    def worker(name: str) -> Callable[[], None]:
        def run() -> None:
            try:
                for _ in range(6):
                    w.deliver({"x_dm": x_responder(x_api)}, T0, holder=name, settings=settings)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=worker(f"w{i}")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(w.reply(i).state for i in ids) == ["sent"] * 12
    texts = [dm["text"] for dm in x_api.sent_dms]
    assert len(texts) == 12 == len(set(texts))


def test_a_reply_whose_lease_lapsed_before_its_turn_is_not_sent(
    committed_engine: Engine, x_api: XApiState, scorer: Any
) -> None:
    """Earlier sends in the batch were slow: by this reply's turn its lease has run out and
    another process may be reconciling it, so this worker must not send it."""
    w = World(committed_engine, x_api)
    rid = w.queue("x", APOLOGY[:270])
    hours_later = T0 + timedelta(seconds=10_000)  # "three hours" of sends have passed
    report = w.deliver({"x": x_responder(x_api)}, T0, scorer=scorer, clock=lambda: hours_later)
    assert report.sent == [] and report.skipped == [rid]
    assert x_api.posted_tweets == []
    assert w.reply(rid).state == "sending"  # reconciliation settles it, exactly once


def test_a_bug_on_one_reply_does_not_strand_the_rest_of_the_batch(
    committed_engine: Engine, x_api: XApiState, monkeypatch: Any
) -> None:
    import monitor.replies.scheduled as worker

    w = World(committed_engine, x_api)
    first = w.queue("x", APOLOGY[:270], key="k-1")
    second = w.queue("x", APOLOGY[:200] + " (and the rest of your order)", key="k-2")
    real = worker.outbound_for

    def broken_for_first(session: Any, reply: Any) -> Any:
        if reply.id == first:
            raise RuntimeError("a bug building this reply")
        return real(session, reply)

    monkeypatch.setattr(worker, "outbound_for", broken_for_first)
    report = w.deliver({"x": x_responder(x_api)}, T0)
    assert report.unknown == [first] and report.sent == [second]
    assert len(x_api.posted_tweets) == 1
