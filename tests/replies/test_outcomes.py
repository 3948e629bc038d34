"""A sent reply keeps the response-time target it ended (the recovery report reads it)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.models import Staff
from monitor.replies import outcomes
from monitor.replies.service import queue_reply
from responders.base import Delivery
from tests.factories import later
from tests.factories.replies import APOLOGY, POLICY, seed


def test_the_reply_that_ends_a_wait_keeps_its_target_and_the_next_does_not(
    session: Session,
) -> None:
    seeded = seed(session)
    agent = session.get(Staff, seeded.agent_id)
    assert agent is not None
    case = queue.get_case(session, seeded.case_id)
    case.sla_kind, case.sla_started_at, case.sla_due_at = "first", later(0), later(30)
    sent = []
    for n in range(2):
        queued = queue_reply(
            session, case=case, staff=agent, body=APOLOGY, channel="x",
            idempotency_key=f"sla-{n}", now=later(40 + n), policy=POLICY,
        )  # fmt: skip
        delivery = Delivery(external_id=f"179000000000000099{n}", delivered_at=later(41 + n))
        outcomes.mark_sent(session, queued.reply, delivery, now=later(41 + n), scorer=None)
        sent.append(queued.reply)
    first, second = sent
    assert (first.sla_kind, first.sla_started_at, first.sla_due_at) == (
        "first",
        later(0),
        later(30),
    )
    assert (second.sla_kind, second.sla_started_at, second.sla_due_at) == (None, None, None)
    assert case.sla_due_at is None


def test_the_case_keeps_its_earliest_sent_reply_as_the_first_response(session: Session) -> None:
    """Stamped for the reports: the first reply sent and its author; a later reply leaves
    it, one reconciled as delivered earlier (it went out before a crash) takes its place."""
    seeded = seed(session)
    agent = session.get(Staff, seeded.agent_id)
    assert agent is not None
    case = queue.get_case(session, seeded.case_id)
    assert (case.first_reply_at, case.first_reply_by_id) == (None, None)
    replies = [
        queue_reply(
            session, case=case, staff=agent, body=APOLOGY, channel="x",
            idempotency_key=f"first-{n}", now=later(40 + n), policy=POLICY,
        ).reply
        for n in range(3)
    ]  # fmt: skip
    outcomes.mark_sent(session, replies[0], Delivery("1790000000000000100", later(50)),
                       now=later(50), scorer=None)  # fmt: skip
    outcomes.mark_sent(session, replies[1], Delivery("1790000000000000101", later(60)),
                       now=later(60), scorer=None)  # fmt: skip
    assert (case.first_reply_at, case.first_reply_by_id) == (later(50), agent.id)
    outcomes.mark_sent(session, replies[2], Delivery("1790000000000000102", later(45)),
                       now=later(70), scorer=None, reconciled=True)  # fmt: skip
    assert case.first_reply_at == later(45)
