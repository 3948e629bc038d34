"""The stories of issue 7, end to end on real commits, the fake Slack API and real sockets.

1. Kept: a customer tweets; staff reply promising a Slack invite today; the app invites
   him through slack-sdk against the fake Slack, verifies he is in the channel, marks
   the promise fulfilled with the evidence, and the follow-up prompt appears.
2. Slipped: Slack rate-limits and errors; the deadline passes; the owner is alerted
   (Slack DM and email), then the lead; the customer's next tweet ranks higher with
   "promise overdue"; webhook receivers get signed events that verify.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, select

from monitor.alerts import delivery as alerts
from monitor.alerts import webhooks
from monitor.alerts.service import AlertEvent
from monitor.db import make_sessionmaker
from monitor.models import Alert, AlertState, Case, Promise, PromiseState, Role, WebhookDelivery
from monitor.priority.service import Scorer
from monitor.promises import clock as promise_clock
from monitor.promises import perform as promise_perform
from monitor.promises import service as promises
from monitor.promises.service import PromiseEvent, Timing
from monitor.promises.text import PromiseKind, suggest
from monitor.storage.secret_box import SecretBox
from responders.email import SmtpOptions
from responders.slack import SlackResponder
from responders.staff_mail import StaffMailer
from responders.webhook import WebhookSender, verify
from tests.factories import T0, later
from tests.factories.cases import ingest
from tests.factories.mentions import tweet
from tests.factories.promises import policy
from tests.factories.staff import make_staff
from tests.fakes.slack_api import SlackState
from tests.fixtures.slack_server import *  # noqa: F403
from tests.support import event_kinds
from tests.webhook_receiver import webhook_receiver

BOX = SecretBox("test session secret for the story, 32+ chars long")
TIMING = Timing(remind_before=timedelta(minutes=60), follow_up=timedelta(hours=24))
PERFORM = promise_perform.PerformPolicy(verify_every=timedelta(minutes=30), timing=TIMING)
REPLY = "Hi Dan, sorry you were left waiting. We'll add you to our Slack channel today."


class MailAlerts:
    def __init__(self, mailer: StaffMailer) -> None:
        self.mailer = mailer

    def send(self, alert: alerts.AlertOut) -> str | None:
        return self.mailer.notify(alert.target, f"[alert] {alert.kind}", alert.message)


def setup_world(engine: Engine, scorer: Scorer) -> dict:
    with make_sessionmaker(engine).begin() as s:
        lead = make_staff(s, "lena", role=Role.LEAD)
        owner = make_staff(s, "omar", lead=lead, tz="Europe/Berlin")
        case = ingest(s, scorer, [tweet(10, "How do I get into your Slack community?")], now=T0)
        found = suggest(REPLY, now=T0, timezone=owner.timezone)
        assert [f.kind for f in found] == [PromiseKind.SLACK_INVITE] and not found[0].due_guessed
        p = promises.create(
            s,
            case=case,
            kind=found[0].kind,
            wording=found[0].wording,
            due_at=found[0].due_at,
            owner=owner,
            now=T0,
            timing=TIMING,
            target="dan@example.org",
            actor="omar",
        )
        return {"case_id": case.id, "promise_id": p.id, "due": p.due_at, "owner": owner.id}


def slack_for(state: SlackState, url: str, channel: str) -> SlackResponder:
    return SlackResponder.connect(token=state.token, base_url=url, channel=channel, timeout=5)


@pytest.mark.slow
def test_a_kept_promise(
    committed_engine: Engine, scorer: Scorer, slack_api: SlackState, slack_api_url: str
) -> None:
    world = setup_world(committed_engine, scorer)
    sessions = make_sessionmaker(committed_engine)
    uid = slack_api.add_user("dan@example.org", "dan")
    chan = slack_api.add_channel("customers", members=("U000000101", "U000000102"))
    slack = slack_for(slack_api, slack_api_url, chan)
    # 10:00 Berlin: "today" means by the end of Omar's working day (17:00 Berlin)
    assert world["due"] == T0.replace(hour=16)
    stats = promise_perform.run(
        sessions, slack, now=later(minutes=1), policy=PERFORM, clock=policy()
    )
    assert stats.fulfilled == 1
    assert uid in slack_api.members(chan)
    with sessions() as s:
        p = s.get(Promise, world["promise_id"])
        assert p.state == PromiseState.FULFILLED
        assert p.evidence["source"] == "slack" and p.evidence["user_id"] == uid
        assert p.evidence["slack_state"] == "member" and p.evidence["channel"] == chan
        assert p.follow_up_due_at == later(minutes=1) + timedelta(hours=24)
        kinds = event_kinds(s, world["case_id"])
        assert kinds[-2:] == [PromiseEvent.FULFILLED, PromiseEvent.FOLLOW_UP_DUE]
    # nothing more to do: the next pass claims nothing, the deadline brings no alert
    assert (
        promise_perform.run(
            sessions, slack, now=later(hours=1), policy=PERFORM, clock=policy()
        ).fulfilled
        == 0
    )
    promise_clock.run(sessions, now=world["due"] + timedelta(hours=1), policy=policy())
    with sessions() as s:
        assert s.scalars(select(Alert)).all() == []


@pytest.mark.slow
def test_a_connect_invite_waits_for_acceptance(
    committed_engine: Engine, scorer: Scorer, slack_api: SlackState, slack_api_url: str
) -> None:
    world = setup_world(committed_engine, scorer)
    sessions = make_sessionmaker(committed_engine)
    chan = slack_api.add_channel()
    slack = SlackResponder.connect(
        token=slack_api.token, base_url=slack_api_url, channel=chan, mode="connect"
    )
    now = later(minutes=1)
    assert (
        promise_perform.run(sessions, slack, now=now, policy=PERFORM, clock=policy()).invited == 1
    )
    with sessions() as s:
        p = s.get(Promise, world["promise_id"])
        assert p.state == PromiseState.OPEN and p.perform["state"] == "invited"
        assert p.perform_next_at == now + timedelta(minutes=30)
        invite_id = p.perform["sent"]["invite_id"]
    # not accepted yet: still open, checked again later, the clock reminds the owner
    later_now = now + timedelta(minutes=31)
    assert (
        promise_perform.run(sessions, slack, now=later_now, policy=PERFORM, clock=policy()).invited
        == 1
    )
    promise_clock.run(sessions, now=world["due"] - timedelta(minutes=30), policy=policy())
    with sessions() as s:
        msgs = [a.message for a in s.scalars(select(Alert))]
        assert msgs and all("not accepted yet" in m for m in msgs)
    slack_api.accept_invite(invite_id)
    done = promise_perform.run(
        sessions, slack, now=later_now + timedelta(minutes=31), policy=PERFORM, clock=policy()
    )
    assert done.fulfilled == 1
    assert len(slack_api.calls_to("conversations.inviteShared")) == 1  # invited once


@pytest.mark.slow
def test_a_promise_that_slips(
    committed_engine: Engine, scorer: Scorer, slack_api: SlackState, slack_api_url: str, smtp_sink
) -> None:
    world = setup_world(committed_engine, scorer)
    sessions = make_sessionmaker(committed_engine)
    slack_api.add_user("dan@example.org", "dan")
    owner_uid = slack_api.add_user("omar@acme.test", "omar")
    lead_uid = slack_api.add_user("lena@acme.test", "lena")
    chan = slack_api.add_channel("customers")
    slack = slack_for(slack_api, slack_api_url, chan)
    mail = MailAlerts(
        StaffMailer(
            SmtpOptions(
                host=smtp_sink.host,
                port=smtp_sink.port,
                from_address="alerts@acme.test",
                tls="none",
            )
        )
    )
    senders = {"slack": slack, "email": mail}
    with sessions.begin() as s:
        sub, secret = webhooks.create_subscription(
            s,
            box=BOX,
            url="http://placeholder.invalid/",
            now=T0,
            require_https=False,
            kinds=["promise.created", "promise.overdue", "promise.escalated", "mention.created"],
        )
        sub_id = sub.id

    # Slack rate-limits, then errors: the invite is retried later, never by sleeping
    slack_api.fail_next("users.lookupByEmail", error="ratelimited", retry_after=120)
    t = later(minutes=1)
    assert promise_perform.run(sessions, slack, now=t, policy=PERFORM, clock=policy()).retried == 1
    with sessions() as s:
        p = s.get(Promise, world["promise_id"])
        assert p.perform_next_at == t + timedelta(seconds=120)  # Retry-After beats back-off
    assert (
        promise_perform.run(
            sessions, slack, now=t + timedelta(seconds=60), policy=PERFORM, clock=policy()
        ).retried
        == 0
    )  # not due yet
    slack_api.fail_next("conversations.invite", error="channel_not_found")
    failed = promise_perform.run(
        sessions, slack, now=t + timedelta(seconds=121), policy=PERFORM, clock=policy()
    )
    assert failed.failed == 1  # permanent: the owner is told to do it by hand

    # the deadline passes: overdue, the owner is alerted; an hour later, the lead
    due = world["due"]
    promise_clock.run(sessions, now=due, policy=policy(), scorer=scorer)
    promise_clock.run(sessions, now=due + timedelta(minutes=60), policy=policy(), scorer=scorer)
    slack_api.fail_next("chat.postMessage", error="ratelimited", retry_after=30)
    first = alerts.deliver(sessions, senders, now=due + timedelta(minutes=60))
    assert first.retried == 1 and first.failed == 0
    second = alerts.deliver(sessions, senders, now=due + timedelta(minutes=61))
    assert second.retried == 0 and first.sent + second.sent == 6
    # perform_failed + overdue to Omar (Slack DM + email), escalation to Lena (both)
    to = [(m["to"], m["text"]) for m in slack_api.messages]
    assert [t for t, _ in to].count(owner_uid) == 2 and [t for t, _ in to].count(lead_uid) == 1
    assert any("could not perform" in text for _, text in to)
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        "lena@acme.test",
        "omar@acme.test",
        "omar@acme.test",
    ]
    with sessions() as s:
        rows = s.scalars(select(Alert).order_by(Alert.id)).all()
        assert {a.state for a in rows} == {AlertState.SENT}
        assert max(a.attempts for a in rows) == 2  # the rate-limited one
        p = s.get(Promise, world["promise_id"])
        assert p.state == PromiseState.ESCALATED
        kinds = event_kinds(s, world["case_id"])
        assert PromiseEvent.OVERDUE in kinds and PromiseEvent.ESCALATED in kinds
        assert kinds.count(AlertEvent.SENT) == 6 and AlertEvent.RETRY in kinds

    # the customer's next tweet ranks higher, with "promise overdue" among its reasons
    at = due + timedelta(minutes=90)
    text = "Still no invite to your Slack. Hello?"
    with sessions.begin() as s:
        dan = ingest(s, scorer, [tweet(11, text, at=at)], now=at)
        other = ingest(s, scorer, [tweet(12, text, user_id="2002", username="eve", at=at)], now=at)
        dan_case, other_case = s.get(Case, dan.id), s.get(Case, other.id)
        assert dan_case.id == world["case_id"]
        assert any(r.startswith("promise overdue") for r in dan_case.reasons)
        assert dan_case.priority > other_case.priority

    # webhook receivers get signed, verifiable events (one 503 first: retried)
    with webhook_receiver() as rec:
        with sessions.begin() as s:
            s.get(type(sub), sub_id).url = rec.url
            s.get(type(sub), sub_id).after_event_id = 0
        with sessions.begin() as s:
            assert webhooks.fan_out(s, now=at) > 0
        rec.fail_next = [503]
        sender = WebhookSender(httpx.Client(timeout=5))
        stamp = int(at.timestamp())
        one = webhooks.deliver(sessions, sender, box=BOX, now=at, timestamp=stamp)
        two = webhooks.deliver(
            sessions, sender, box=BOX, now=at + timedelta(seconds=5), timestamp=stamp
        )
        assert one.retried == 1 and one.delivered + two.delivered == len(rec.received)
        got = [verify(secret, r.headers, r.body, now=stamp) for r in rec.received]
        kinds = {g["type"] for g in got}
        assert {
            "promise.created",
            "promise.overdue",
            "promise.escalated",
            "mention.created",
        } <= kinds
        assert all(r.headers["webhook-id"].startswith("msg_") for r in rec.received)
        with pytest.raises(Exception, match="signature"):
            verify("whsec_" + "A" * 44, rec.received[0].headers, rec.received[0].body, now=stamp)
        with sessions() as s:
            log = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
            assert {d.state for d in log} == {AlertState.SENT}
            assert sorted(d.attempts for d in log)[-1] == 2
            assert {d.response_code for d in log} == {204}
