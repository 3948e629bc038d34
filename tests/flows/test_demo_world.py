"""The demo's moving parts in-process, on both databases, with a stepped clock: the
production workers against the simulated vendors (replies delivered once and found
again, overdue alerts, a Slack invite sent, accepted, verified, fulfilled and followed
up), customers answering staff replies on the same case, and waiting scores climbing."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from monitor.cases.casefile import load
from monitor.config import ReplySettings
from monitor.db import make_sessionmaker
from monitor.demo.reactions import STILL_BROKEN, TEXTS, THANKS, SentReply, reader
from monitor.demo.responders import DemoReplies, DemoSlack, Outbox
from monitor.demo.script import KEV_X, STREAM
from monitor.demo.world import DemoSource, demo_settings, ensure_staff, seed
from monitor.incidents import queries as incident_queries
from monitor.incidents.overview import case_panel
from monitor.mentions import Channel
from monitor.models import Alert, Case, Identity, Mention, Promise, PromiseState, Reply, ReplyState
from monitor.replies.scheduled import reconcile
from monitor.wiring.demo import demo_jobs, poll_job
from monitor.wiring.sources import build_scorer
from responders.base import Outbound
from tests.factories import T0


def _outbox(tmp_path: Path, printed: list[str]) -> Outbox:
    return Outbox(tmp_path / "outbox.jsonl", echo=printed.append)


def test_simulated_replies_record_deliveries_and_find_them_again(tmp_path: Path) -> None:
    printed: list[str] = []
    replies = DemoReplies(_outbox(tmp_path, printed))
    tweet = Outbound(channel="x", body="Tom, so sorry", recipient="9002", idempotency_key="k1")
    mail = Outbound(
        channel="email",
        body="Hi Priya",
        recipient="priya.n@example.com",
        idempotency_key="k2",
        message_id="<m1@acme.example>",
        recipient_name="Priya Natarajan",
    )
    sent_tweet, sent_mail = replies.send(tweet), replies.send(mail)
    assert sent_tweet.external_id.isdigit() and sent_mail.external_id == "<m1@acme.example>"
    assert replies.find_sent(tweet) == replies.find_sent(tweet)
    found = replies.find_sent(mail)
    assert found is not None and found.external_id == "<m1@acme.example>"
    other = Outbound(channel="x", body="?", recipient="1", idempotency_key="never-sent")
    assert replies.find_sent(other) is None
    assert printed[1].startswith("  [simulated email to Priya Natarajan: “Hi Priya”")


def test_an_answered_customer_stops_asking_whether_anybody_is_reading() -> None:
    nobody = "nobody from support is reading this?"
    start = T0
    late = start + timedelta(seconds=STREAM[-1][0] + 25 * 12)  # the chatter went round 3 times
    quiet = DemoSource(run="r", started_at=start)
    asked = [m for m in quiet.fetch(None, now=late).mentions if nobody in m.text]
    assert len(asked) == 3 and {m.author.handle for m in asked} == {KEV_X.handle}

    sent: list[SentReply] = []
    source = DemoSource(run="r", started_at=start, replies=lambda _now: sent)
    early = start + timedelta(seconds=STREAM[-1][0] + 25 * 4)
    first = source.fetch(None, now=early)
    assert [m for m in first.mentions if nobody in m.text]  # unanswered: he asks
    sent.append(
        SentReply(1, Channel.X, early, "555", "demo-r-kev-1", None, KEV_X)  # answered
    )
    later = source.fetch(first.next_cursor, now=late)
    assert later.mentions and not [m for m in later.mentions if nobody in m.text]
    sent.clear()  # the reply left the reader's window: he still does not ask again
    assert not [
        m
        for m in source.fetch(later.next_cursor, now=late + timedelta(minutes=10)).mentions
        if nobody in m.text
    ]


def test_simulated_slack_invite_is_accepted_after_a_while(tmp_path: Path) -> None:
    now = [T0]
    slack = DemoSlack(
        _outbox(tmp_path, []), accept_after=timedelta(seconds=20), clock=lambda: now[0]
    )
    sent = slack.invite("sam@example.com")
    assert sent.state == "invited" and not sent.verified
    now[0] = T0 + timedelta(seconds=19)
    assert slack.check(sent.as_evidence()).state == "invited"
    now[0] = T0 + timedelta(seconds=20)
    member = slack.check(sent.as_evidence())
    assert member.verified and member.user_id and member.user_id.startswith("U")
    assert member.user_id == slack.check(sent.as_evidence()).user_id  # stable per address


def _queue_reply(engine: Engine, customer: str, body: str, *, at: datetime, staff_id: int) -> int:
    """A reply as the composer leaves it in the outbox: queued, due now."""
    with make_sessionmaker(engine).begin() as s:
        case = s.scalars(
            select(Case).join(Case.customer).where(Case.customer.has(display_name=customer))
        )
        c = case.one()
        mention = s.scalars(
            select(Mention).where(Mention.case_id == c.id).order_by(Mention.created_at.desc())
        ).first()
        assert mention is not None
        ident = s.get(Identity, mention.identity_id)
        assert ident is not None
        reply = Reply(
            case_id=c.id,
            mention_id=mention.id,
            staff_id=staff_id,
            channel=c.channel,
            body=body,
            idempotency_key=f"flow-{customer}",
            state=ReplyState.QUEUED,
            next_attempt_at=at,
            created_at=at,
            recipient=ident.handle,
            in_reply_to=mention.external_id,
            message_id=f"<flow-{c.id}@acme.example>" if c.channel == "email" else None,
        )
        s.add(reply)
        s.flush()
        return reply.id


def test_demo_jobs_deliver_alert_invite_answer_and_rescore(
    committed_engine: Engine, tmp_path: Path
) -> None:
    engine, sessions = committed_engine, make_sessionmaker(committed_engine)
    loaded = demo_settings(str(engine.url), "127.0.0.1", 0)
    scorer = build_scorer(loaded)  # the demo's weights: waiting counts a point a minute
    with sessions.begin() as s:
        staff = ensure_staff(s, password="demo-password-1", now=T0)
        seed(s, run="f1", now=T0, scorer=scorer, staff=staff)
        staff_id = staff.id
    printed: list[str] = []
    outbox = _outbox(tmp_path, printed)
    now = [T0]
    slack = DemoSlack(outbox, accept_after=timedelta(seconds=20), clock=lambda: now[0])
    jobs = {
        j.id: j.run
        for j in demo_jobs(
            loaded,
            engine,
            replies=DemoReplies(outbox, clock=lambda: now[0]),
            slack=slack,
            scorer=scorer,
            holder="t",
        )
    }
    source = DemoSource(run="f1", started_at=T0, replies=reader(sessions, T0))
    jobs["poll"] = poll_job(engine, source, scorer).run

    def at(seconds: float, *names: str) -> None:
        now[0] = T0 + timedelta(seconds=seconds)
        for name in names:
            jobs[name](now[0])

    # start-up: the overdue promise alerts its owner, the lead and the alert channel;
    # the Slack invite promised to Sam goes out
    at(0, "promises:slack_invites", "promises:clock")
    with sessions() as s:
        alerts = {(a.kind, a.target, a.state) for a in s.scalars(select(Alert))}
        invite = s.scalars(select(Promise).where(Promise.kind == "slack_invite")).one()
        assert invite.perform and invite.perform["state"] == "invited"
    assert ("promise.overdue", "demo@acme.example", "sent") in alerts
    assert ("promise.escalated", "#support-alerts", "sent") in alerts
    # Priya's first email waited 27 h against a 24 h target: breached, and escalated to
    # the lead (nobody is assigned, so the breach itself goes to the team's channel)
    assert ("case.sla_breached", "#support-alerts", "sent") in alerts
    assert ("case.sla_escalated", "demo@acme.example", "sent") in alerts

    # replies on three cases: each delivered once, with the simulated vendor's id
    names = ("Priya Natarajan", "Tom Becker", "Sam Okafor")
    ids = [_queue_reply(engine, n, f"{n}, sorry!", at=now[0], staff_id=staff_id) for n in names]
    at(1, "replies:deliver")
    with sessions() as s:
        sent = {r.id: r for r in s.scalars(select(Reply).where(Reply.id.in_(ids)))}
        assert all(r.state == ReplyState.SENT and r.external_id for r in sent.values()), sent
    entries = [e for e in outbox.entries() if e["kind"] == "reply"]
    keys = sorted(r.idempotency_key for r in sent.values())
    assert sorted(e["idempotency_key"] for e in entries) == keys

    # a crash between send and record: reconciliation finds it in the outbox, no resend
    with sessions.begin() as s:
        r = s.get(Reply, ids[0])
        assert r is not None
        r.state, r.holder, r.lease_expires_at = ReplyState.SENDING, "dead", T0
    settings = ReplySettings()
    responders = dict.fromkeys(("x", "x_dm", "email"), DemoReplies(outbox, clock=lambda: now[0]))
    report = reconcile(sessions, responders, now=now[0], holder="t", settings=settings)
    assert report.reconciled == [ids[0]]
    assert len([e for e in outbox.entries() if e["kind"] == "reply"]) == 3

    # Sam accepts the invite: verified in the channel, the promise is kept, then the
    # follow-up prompt reaches the owner a minute later
    at(25, "promises:slack_invites")
    with sessions() as s:
        kept = s.get(Promise, invite.id)
        assert kept is not None and kept.state == PromiseState.FULFILLED
        assert kept.evidence and kept.evidence["slack_state"] == "member"
    # the stream plays, and customers answer: one thanks, one still broken, one quiet
    at(30, "poll")
    at(31, "poll")  # nothing twice
    with sessions() as s:
        answers = {
            m.text: m.case_id
            for m in s.scalars(select(Mention).where(Mention.external_id.contains("answer")))
        }
        cases = {rid: sent[rid].case_id for rid in ids}
    kinds = {rid: (None, THANKS, STILL_BROKEN)[rid % 3] for rid in ids}
    assert sorted(k for k in kinds.values() if k) == [STILL_BROKEN, THANKS]
    assert {rid for rid in ids if kinds[rid] is None} == {
        rid for rid in ids if sent[rid].id % 3 == 0
    }  # that one stays quiet
    for rid, kind in kinds.items():
        if kind is None:
            continue
        channel = Channel(sent[rid].channel)
        assert answers.pop(TEXTS[(kind, channel)]) == cases[rid]  # threaded onto its case
    assert answers == {}

    at(25 + 61, "promises:clock")  # the follow-up prompt, a minute after fulfilment
    with sessions() as s:
        kinds_sent = {a.kind for a in s.scalars(select(Alert).where(Alert.promise_id == invite.id))}
    assert "promise.follow_up" in kinds_sent

    # waiting scores climb while nobody answers (the demo counts a point a minute)
    with sessions() as s:
        jo = s.scalars(select(Case).where(Case.customer.has(display_name="Jo"))).one()
        before = jo.score
    at(30 + 600, "queue:rescore")
    with sessions() as s:
        after = s.get(Case, jo.id)
        assert after is not None and after.score > before
    assert any("Slack Connect invite" in line for line in printed)


def test_the_demo_has_a_small_outage_with_an_incident_and_suggestions(
    committed_engine: Engine,
) -> None:
    loaded = demo_settings(str(committed_engine.url), "127.0.0.1", 0)
    sessions = make_sessionmaker(committed_engine)
    with sessions.begin() as s:
        staff = ensure_staff(s, password="demo-password-1", now=T0)
        seed(s, run="o1", now=T0, scorer=build_scorer(loaded), staff=staff)
    with sessions() as s:
        (inc,) = incident_queries.open_incidents(s)
        assert inc.state == "identified" and "E503" in inc.status_text
        attached = incident_queries.attached_case_ids(s, inc.id)
        assert len(attached) == 2
        (suggested,) = incident_queries.suggest_cases(s, inc)  # Lia, who tweeted
        lia = s.get(Case, suggested.case_id)
        assert lia is not None and "iPhone 15" in suggested.text
        # Ben gave his device; the composer asks him only for the app version.
        ben = next(c for c in attached if "Pixel 8" in incident_queries.case_texts(s, [c])[c])
        (panel,) = case_panel(s, ben, load(s, ben, now=T0).facts)
        assert [a.kind for a in panel.asks] == ["app_version"]
