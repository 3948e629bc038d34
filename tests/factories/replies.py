"""Replies: a customer with an X post and an email on one case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from monitor.config import ReplySettings
from monitor.models import Case, CaseStatus, Customer, Identity, Mention, Role
from monitor.replies.service import ReplyPolicy
from tests.factories import T0
from tests.factories.staff import make_staff

TIMEOUT = timedelta(minutes=15)
POLICY = ReplyPolicy(settings=ReplySettings(), claim_timeout=TIMEOUT, message_id_domain="t.test")
COMPLAINT = (
    "Second time asking: you promised me an invite to your Slack community last week "
    "and it never came. Order 4411."
)
APOLOGY = (
    "Dan, you're right: we promised you the Slack invite last week and dropped it. "
    "I'm sorry. I've sent the invite for order 4411 just now and I'll check tomorrow "
    "that you got in."
)


@dataclass(frozen=True)
class Seeded:
    case_id: int
    agent_id: int
    lead_id: int
    other_id: int
    tweet_id: str
    x_user_id: str


def seed(
    session: Session,
    *,
    x_user_id: str = "2001",
    tweet_id: str = "1790000000000000001",
    email: str = "dan@example.org",
    prefix: str = "",
) -> Seeded:
    customer = Customer(display_name="Dan Devlin", created_at=T0)
    x = Identity(
        customer=customer,
        kind="x",
        handle=x_user_id,
        username="devdan",
        name="Dan Devlin",
        created_at=T0,
    )
    mail = Identity(
        customer=customer,
        kind="email",
        handle=email,
        username=email,
        name="Dan Devlin",
        created_at=T0,
    )
    case = Case(
        customer=customer,
        status=CaseStatus.OPEN,
        channel="x",
        subject="Slack invite",
        priority=60.0,
        score=60,
        band="high",
        reasons=[],
        unanswered_count=2,
        public=True,
        created_at=T0,
        updated_at=T0,
        first_unanswered_at=T0,
        text_score={"complaint": 0.9, "severity": 0.7, "label": "angry", "points": 40},
    )
    session.add_all([customer, x, mail, case])
    session.flush()
    common = dict(
        customer_id=customer.id,
        case_id=case.id,
        source="test",
        received_at=T0,
        raw=b"{}",
        created_at=T0,
    )
    session.add_all(
        [
            Mention(
                channel="email",
                external_id=f"<c2{prefix}@example.org>",
                identity_id=mail.id,
                author=email,
                author_name="Dan Devlin",
                text=COMPLAINT,
                text_for_scoring=COMPLAINT,
                subject="Slack invite",
                thread_refs=[f"<c1{prefix}@example.org>", f"<c2{prefix}@example.org>"],
                **common,
            ),
            Mention(
                channel="x",
                external_id=tweet_id,
                identity_id=x.id,
                author="devdan",
                author_name="Dan Devlin",
                text="@brand " + COMPLAINT[:200],
                text_for_scoring=COMPLAINT[:200],
                public=True,
                **{**common, "created_at": T0 + timedelta(minutes=5)},
            ),
        ]
    )
    agent = make_staff(session, f"priya{prefix}")
    agent.display_name = "Priya Shah"
    lead = make_staff(session, f"lena{prefix}", role=Role.LEAD)
    other = make_staff(session, f"omar{prefix}")
    session.flush()
    return Seeded(case.id, agent.id, lead.id, other.id, tweet_id, x_user_id)
