"""Everything about one customer, for the console's customer page (read-only): their
identities on each channel, every case (newest first), the facts they gave across all
their messages, every promise made to them, and their value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.customers import facts
from monitor.models import Case, Customer, Identity, Mention
from monitor.promises.case_view import PromiseView, promise_views

MESSAGE_LIMIT = 2000


class CustomerNotFound(LookupError):
    pass


@dataclass(frozen=True)
class CustomerFile:
    customer: Customer
    identities: list[Identity]
    cases: list[Case]
    facts: list[facts.Fact]
    promises: list[PromiseView]
    messages: int


def load(
    session: Session, customer_id: int, *, now: datetime, own_addresses: tuple[str, ...] = ()
) -> CustomerFile:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(f"no customer with id {customer_id}")
    identities = list(
        session.scalars(
            select(Identity).where(Identity.customer_id == customer_id).order_by(Identity.id)
        )
    )
    cases = list(
        session.scalars(
            select(Case).where(Case.customer_id == customer_id).order_by(Case.id.desc())
        )
    )
    texts = list(
        session.execute(
            select(Mention.id, Mention.text_for_scoring, Mention.text)
            .where(Mention.customer_id == customer_id)
            .order_by(Mention.created_at, Mention.id)
            .limit(MESSAGE_LIMIT)
        ).tuples()
    )
    return CustomerFile(
        customer=customer,
        identities=identities,
        cases=cases,
        facts=facts.collect(((i, s or t) for i, s, t in texts), ignore=own_addresses),
        promises=promise_views(session, customer_id, now=now),
        messages=len(texts),
    )
