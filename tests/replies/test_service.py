"""Composing: the outbox records a reply once, on a claim held by the sender, past the guard."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.incidents import service as incidents
from monitor.models import Event, Reply
from monitor.replies.index import ReplyIndex
from monitor.replies.service import (
    IdempotencyMismatch,
    OverrideNotAllowed,
    Queued,
    ReplyBlocked,
    ReplyError,
    queue_reply,
)
from tests.factories import T0, later
from tests.factories.replies import APOLOGY, POLICY, TIMEOUT, seed
from tests.factories.staff import fetch_staff

FORM = "We apologise for any inconvenience. Your satisfaction is our priority."


def send(
    session: Session,
    case_id: int,
    staff_id: int,
    body: str = APOLOGY,
    key: str = "k-1",
    channel: str = "email",
    now: datetime = T0,
    override_reason: str | None = None,
) -> Queued:
    case = queue.get_case(session, case_id)
    return queue_reply(
        session,
        case=case,
        staff=fetch_staff(session, staff_id),
        body=body,
        channel=channel,
        idempotency_key=key,
        now=now,
        policy=POLICY,
        override_reason=override_reason,
    )


def test_reply_is_recorded_before_sending_with_its_target(session: Session) -> None:
    s = seed(session)
    queued = send(session, s.case_id, s.agent_id)
    reply = queued.reply
    assert queued.created and reply.state == "queued" and reply.next_attempt_at == T0
    assert reply.recipient == "dan@example.org" and reply.in_reply_to == "<c2@example.org>"
    assert reply.message_id and reply.message_id.endswith("@t.test>")
    assert reply.personal_score == 100
    case = queue.get_case(session, s.case_id)
    assert case.claimed_by_id == s.agent_id  # a free case is claimed by the sender
    x = send(session, s.case_id, s.agent_id, key="k-x", channel="x", body=APOLOGY[:200])
    assert x.reply.in_reply_to == s.tweet_id and x.reply.recipient == s.x_user_id
    dm = send(session, s.case_id, s.agent_id, key="k-dm", channel="x_dm")
    assert dm.reply.recipient == s.x_user_id and dm.reply.in_reply_to is None


def test_same_idempotency_key_twice_records_one_reply(session: Session) -> None:
    s = seed(session)
    first = send(session, s.case_id, s.agent_id)
    again = send(session, s.case_id, s.agent_id, now=later(1))
    assert not again.created and again.reply.id == first.reply.id
    count = session.scalars(select(Reply).where(Reply.case_id == s.case_id)).all()
    assert len(count) == 1
    with pytest.raises(IdempotencyMismatch):
        send(session, s.case_id, s.agent_id, body=APOLOGY + " Cheers.")


def test_claimed_by_someone_else_is_a_conflict(session: Session) -> None:
    s = seed(session)
    queue.claim(session, s.case_id, staff=fetch_staff(session, s.other_id), now=T0, timeout=TIMEOUT)
    with pytest.raises(queue.ClaimConflict):
        send(session, s.case_id, s.agent_id)
    # once the claim lapses, the sender gets the case
    assert send(session, s.case_id, s.agent_id, now=later(20)).created


def test_guard_blocks_and_only_a_lead_overrides_with_a_reason(session: Session) -> None:
    s = seed(session)
    with pytest.raises(ReplyBlocked) as info:
        send(session, s.case_id, s.agent_id, body=FORM)
    assert info.value.check.blocked and any(
        h[2] == "boilerplate" for h in info.value.check.highlights
    )
    with pytest.raises(OverrideNotAllowed):
        send(session, s.case_id, s.agent_id, body=FORM, override_reason="customer asked for it")
    queue.release(session, s.case_id, staff=fetch_staff(session, s.agent_id), now=T0)
    with pytest.raises(ReplyError, match="written reason"):
        send(session, s.case_id, s.lead_id, body=FORM, override_reason="ok")
    queued = send(
        session, s.case_id, s.lead_id, body=FORM, override_reason="legal wording required"
    )
    assert queued.reply.override_reason == "legal wording required"
    overridden = session.scalars(
        select(Event).where(Event.case_id == s.case_id, Event.kind == "reply.guard_overridden")
    ).one()
    assert overridden.payload["reason"] == "legal wording required"
    assert overridden.actor.startswith("lena")


def test_too_long_for_x_cannot_be_overridden(session: Session) -> None:
    s = seed(session)
    with pytest.raises(ReplyBlocked, match="too long for X"):
        send(
            session,
            s.case_id,
            s.lead_id,
            channel="x",
            body=APOLOGY * 2,
            override_reason="I know what I am doing",
        )


def test_unknown_channel_and_empty_body(session: Session) -> None:
    s = seed(session)
    with pytest.raises(ReplyError):
        send(session, s.case_id, s.agent_id, channel="fax")
    with pytest.raises(ReplyError):
        send(session, s.case_id, s.agent_id, body="   ")


def test_a_reply_on_an_incident_case_may_use_its_paragraph_and_the_index_leaves_it_out(
    session: Session,
) -> None:
    s = seed(session)
    lead = fetch_staff(session, s.lead_id)
    paragraph = (
        "Slack invites from our community page have failed since Monday for everyone. "
        "We found the cause and invites are being re-sent in order today."
    )
    inc = incidents.declare(
        session, title="Slack invites", status_text=paragraph, staff=lead, now=T0
    )
    incidents.attach(session, inc, [s.case_id], staff=lead, now=T0)
    index = ReplyIndex()
    index.ensure_built(session)
    body = f"Dan, sorry about order 4411 and the invite you never got.\n{paragraph}"
    case = queue.get_case(session, s.case_id)
    q = queue_reply(
        session, case=case, staff=fetch_staff(session, s.agent_id), body=body, channel="email",
        idempotency_key="inc-shared", now=later(1), policy=replace(POLICY, index=index),
    )  # fmt: skip
    assert q.reply.shared_text == paragraph
    index.catch_up(session)
    assert index.nearest_sentence(paragraph.split(". ")[0]) is None  # not indexed
    assert index.nearest_sentence("Dan, sorry about order 4411 and the invite you never got.")
