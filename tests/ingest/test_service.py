"""Ingest: one customer per person, one case per problem, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.cases.service import record_staff_reply
from monitor.customers import linking
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Case, CaseStatus, Customer, Event, Identity, Mention, Quarantine
from monitor.priority.service import Scorer
from monitor.sources.base import Batch, Quarantined
from tests.factories import T0, later
from tests.factories.mentions import email, tweet

OPTS = IngestOptions(own_addresses=("support@acme.test",))


def ingest(
    session: Session,
    scorer: Scorer,
    mentions: list,
    *,
    now=None,
    source="test",
    cursor=None,
    quarantined=(),
):
    batch = Batch(
        mentions=mentions, next_cursor=cursor or {"n": len(mentions)}, quarantined=list(quarantined)
    )
    result = ingest_batch(
        session, batch, source=source, now=now or later(hours=1), scorer=scorer, options=OPTS
    )
    session.flush()
    return result


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def events_of(session: Session, kind: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_same_author_same_customer_same_case(session: Session, scorer: Scorer) -> None:
    r = ingest(
        session,
        scorer,
        [
            tweet(1, "@acme my card was charged twice"),
            tweet(2, "@acme hello?? still charged twice", at=later(10)),
        ],
    )
    assert r is not None and r.new == 2 and r.cases_opened == 1
    assert count(session, Customer) == 1 and count(session, Case) == 1
    case = session.scalars(select(Case)).one()
    assert case.unanswered_count == 2 and case.first_unanswered_at == T0
    assert case.status == CaseStatus.OPEN and case.public
    assert 0 <= case.score <= 100 and case.reasons
    mentions = session.scalars(select(Mention)).all()
    assert all(m.case_id == case.id and m.score is not None for m in mentions)
    assert len(events_of(session, "mention.created")) == 2


def test_redelivery_is_harmless(session: Session, scorer: Scorer) -> None:
    items = [tweet(1, "one"), tweet(2, "two")]
    ingest(session, scorer, items)
    again = ingest(session, scorer, [*items, items[0], tweet(3, "three")])
    assert again is not None and again.new == 1 and again.duplicates == 3
    assert count(session, Mention) == 3


def test_channel_hop_links_stated_address_and_raises_score(
    session: Session, scorer: Scorer
) -> None:
    ingest(session, scorer, [email("m1@example.org", "Where is my Slack invite? You promised.")])
    case = session.scalars(select(Case)).one()
    before = case.score
    r = ingest(
        session,
        scorer,
        [
            tweet(
                10,
                "@acme I emailed you from dan@example.org three days ago and nothing. "
                "Where is my Slack invite?",
                at=later(days=3),
            ),
        ],
        now=later(days=3),
    )
    assert r is not None and r.hops == 1 and r.cases_opened == 0
    assert count(session, Customer) == 1 and count(session, Case) == 1
    ident = session.scalars(select(Identity).where(Identity.kind == "x")).one()
    assert ident.linked_by == "stated"
    session.refresh(case)
    assert case.hop_from == "email" and case.channel == "x"
    hop = events_of(session, "case.channel_hop")
    assert hop and hop[0].payload["from"] == "email" and hop[0].payload["to"] == "x"
    assert case.score > before
    assert any("hop" in r.lower() or "channel" in r.lower() for r in case.reasons), case.reasons


def test_stated_unknown_address_is_registered_for_later_email(
    session: Session, scorer: Scorer
) -> None:
    ingest(session, scorer, [tweet(1, "@acme please mail me at Dan.New@Example.org")])
    ingest(
        session,
        scorer,
        [email("m2@x", "Following up by mail", sender="dan.new@example.org")],
        now=later(hours=2),
    )
    assert count(session, Customer) == 1 and count(session, Case) == 1
    assert events_of(session, "case.channel_hop")


def test_own_addresses_are_not_linked(session: Session, scorer: Scorer) -> None:
    ingest(session, scorer, [tweet(1, "@acme I wrote to support@acme.test already")])
    assert count(session, Identity) == 1


def test_email_thread_reopens_resolved_case(session: Session, scorer: Scorer) -> None:
    ingest(session, scorer, [email("a@x", "My order 123 never arrived")])
    case = session.scalars(select(Case)).one()
    case.status, case.resolved_at = CaseStatus.RESOLVED, later(hours=2)
    ingest(
        session,
        scorer,
        [
            email(
                "b@x",
                "It still has not arrived",
                subject="Re: Slack invite",
                in_reply_to="a@x",
                references=["a@x"],
                at=later(days=1),
            ),
        ],
        now=later(days=1),
    )
    assert count(session, Case) == 1
    session.refresh(case)
    assert case.status == CaseStatus.OPEN and case.resolved_at is None
    assert events_of(session, "case.reopened")


def test_new_problem_after_resolution_opens_new_case(session: Session, scorer: Scorer) -> None:
    ingest(session, scorer, [tweet(1, "@acme app crashes")])
    session.scalars(select(Case)).one().status = CaseStatus.RESOLVED
    ingest(session, scorer, [tweet(2, "@acme billing question")], now=later(days=20))
    assert count(session, Case) == 2 and count(session, Customer) == 1


def test_staff_reply_resets_waiting_state(session: Session, scorer: Scorer) -> None:
    ingest(session, scorer, [tweet(1, "@acme this is the third time I ask!!!")])
    case = session.scalars(select(Case)).one()
    record_staff_reply(case, now=later(hours=1))
    assert case.unanswered_count == 0 and case.first_unanswered_at is None
    ingest(
        session,
        scorer,
        [tweet(2, "@acme thanks, that worked", at=later(hours=2))],
        now=later(hours=2),
    )
    session.refresh(case)
    assert case.unanswered_count == 1 and case.first_unanswered_at == later(hours=2)
    assert case.hop_from is None


def test_quarantine_keeps_raw_bytes_and_cursor_advances(session: Session, scorer: Scorer) -> None:
    bad = Quarantined(source="test", reason="not JSON", raw=b"\xff\xfe{broken")
    r = ingest(session, scorer, [tweet(1, "fine")], quarantined=[bad], cursor={"since": "1"})
    assert r is not None and r.quarantined == 1 and r.new == 1
    q = session.scalars(select(Quarantine)).one()
    assert q.raw == b"\xff\xfe{broken" and q.reason == "not JSON"
    from monitor.models import SourceCursor

    cur = session.get(SourceCursor, "test")
    assert cur is not None and cur.cursor == {"since": "1"} and cur.quarantined_total == 1


def test_manual_link_merges_customers(session: Session, scorer: Scorer) -> None:
    ingest(
        session,
        scorer,
        [
            tweet(1, "@acme hi", user_id="77", username="zoe"),
            email("z@x", "hello", sender="zoe@example.org"),
        ],
    )
    assert count(session, Customer) == 2
    x = session.scalars(select(Identity).where(Identity.kind == "x")).one()
    em = session.scalars(select(Identity).where(Identity.kind == "email")).one()
    linking.link_identity(
        session, identity_id=em.id, customer_id=x.customer_id, actor="maria", now=later(hours=3)
    )
    session.flush()
    assert {m.customer_id for m in session.scalars(select(Mention))} == {x.customer_id}
    assert {c.customer_id for c in session.scalars(select(Case))} == {x.customer_id}
    assert events_of(session, "identity.linked")[0].actor == "maria"


def test_waiting_longer_ranks_higher(session: Session, scorer: Scorer) -> None:
    from monitor.priority.service import rescore_cases

    ingest(session, scorer, [tweet(1, "@acme my invoice is wrong")])
    case = session.scalars(select(Case)).one()
    rescore_cases(session, [case], scorer=scorer, now=later(hours=1))
    early = case.score
    rescore_cases(session, [case], scorer=scorer, now=later(days=4))
    assert case.score > early


@pytest.mark.parametrize("n", [300])
def test_large_batch(session: Session, scorer: Scorer, n: int) -> None:
    items = [
        tweet(
            i,
            f"@acme order {i} is late",
            user_id=str(5000 + i % 40),
            username=f"user{i % 40}",
            at=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]
    r = ingest(session, scorer, items)
    assert r is not None and r.new == n
    assert count(session, Customer) == 40 and count(session, Case) == 40


def test_waiting_cases_are_rescored_in_chunks(session: Session, scorer: Scorer) -> None:
    from monitor.priority.service import rescore_waiting

    ingest(
        session,
        scorer,
        [
            tweet(1, "@acme my invoice is wrong", user_id="1"),
            tweet(2, "@acme my parcel is lost", user_id="2"),
            tweet(3, "@acme app crashes", user_id="3"),
        ],
    )
    answered = session.scalars(select(Case).order_by(Case.id)).all()[2]
    record_staff_reply(answered, now=later(hours=1))
    before = {c.id: c.score for c in session.scalars(select(Case))}
    seen, after_id, changed = [], 0, 0
    while True:
        last, n = rescore_waiting(
            session, scorer=scorer, now=later(days=3), after_id=after_id, limit=1
        )
        if last is None:
            break
        seen.append(last)
        after_id, changed = last, changed + n
    session.flush()
    cases = {c.id: c for c in session.scalars(select(Case))}
    assert seen == sorted(before)[:2]  # the answered case is not waiting
    assert changed == 2
    assert all(cases[i].score > before[i] for i in seen)
    assert len(events_of(session, "case.score_changed")) == 2


def test_stated_linking_can_be_switched_off(session: Session, scorer: Scorer) -> None:
    from dataclasses import replace

    off = replace(OPTS, link_stated=False)
    ingest_batch(
        session,
        Batch([email("m1@x", "Where is my invite?")], {"n": 1}),
        source="t",
        now=later(hours=1),
        scorer=scorer,
        options=off,
    )
    ingest_batch(
        session,
        Batch([tweet(5, "@acme I emailed you from dan@example.org")], {"n": 2}),
        source="t",
        now=later(hours=2),
        scorer=scorer,
        options=off,
    )
    session.flush()
    assert count(session, Customer) == 2 and count(session, Case) == 2


def test_oversized_fields_are_fitted_or_quarantined(session: Session, scorer: Scorer) -> None:
    long_subject = email("s@x", "Where is my refund?", subject="Refund " * 300)
    long_name = tweet(7, "@acme hello", username="u" * 400)
    long_id = tweet("9" * 600, "@acme an id no column can hold")
    r = ingest(session, scorer, [long_subject, long_name, long_id], cursor={"n": 3})
    assert r is not None and r.new == 2 and r.quarantined == 1
    stored = {m.external_id: m for m in session.scalars(select(Mention))}
    assert len(stored["s@x"].subject or "") == 1000
    assert len(stored["7"].author) == 320
    q = session.scalars(select(Quarantine)).one()
    assert "external id" in q.reason and q.raw == long_id.raw


def test_nul_characters_never_block_a_batch(session: Session, scorer: Scorer) -> None:
    """PostgreSQL text cannot hold NUL, and SQLite's json_each cuts a string at it; a
    vendor's NUL must neither fail the batch (and stick its source) nor defeat dedupe."""
    from dataclasses import replace

    in_text = tweet(21, "@acme refund\x00 please", username="dan\x00x")
    in_subject = email("e1@x", "body\x00more", subject="Re\x00fund")
    nul_id = tweet("22\x0023", "@acme an id with a NUL")
    nul_author = replace(tweet(24, "@acme hi"), author=replace(in_text.author, handle="10\x0001"))
    batch = [in_text, in_subject, nul_id, nul_author]
    r = ingest(session, scorer, batch, cursor={"n": 1})
    assert r is not None and r.new == 2 and r.quarantined == 2
    stored = {m.external_id: m for m in session.scalars(select(Mention))}
    assert stored["21"].text == "@acme refund\ufffd please" and stored["21"].raw == in_text.raw
    assert stored["21"].author == "dan\ufffdx"
    assert stored["e1@x"].subject == "Re\ufffdfund" and "\x00" not in stored["e1@x"].text
    reasons = sorted(q.reason for q in session.scalars(select(Quarantine)))
    assert reasons == ["author contains a NUL character", "external id contains a NUL character"]
    again = ingest(session, scorer, batch, cursor={"n": 2})  # re-delivered: no duplicates
    assert again is not None and again.new == 0 and again.duplicates == 2
