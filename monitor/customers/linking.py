"""One customer across channels: what a message states about its author, and manual links.

Automatic linking at ingestion is in :mod:`monitor.customers.placement`; here are the text rules it
uses (stated email addresses and @handles) and the staff's manual link, which merges
the customer it leaves empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor import events
from monitor.mentions import normalise_email
from monitor.models import Case, Customer, Identity, Mention, Promise

EMAIL_RE = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
HANDLE_RE = re.compile(r"(?:(?<![\w@])@|\b(?:twitter|x)\.com/)([A-Za-z0-9_]{1,15})\b")


def stated_emails(text: str, ignore: Iterable[str] = ()) -> list[str]:
    skip = {normalise_email(a) for a in ignore}
    found = [normalise_email(m) for m in EMAIL_RE.findall(text)]
    return [a for a in dict.fromkeys(found) if a not in skip]


def stated_handles(text: str) -> list[str]:
    return list(dict.fromkeys(h.lower() for h in HANDLE_RE.findall(text)))


class LinkError(ValueError):
    """A manual link that cannot be made."""


def link_identity(
    session: Session, *, identity_id: int, customer_id: int, actor: str, now: datetime
) -> Customer:
    """Staff say this identity belongs to that customer. Merges the customer left empty."""
    identity = session.get(Identity, identity_id)
    target = session.get(Customer, customer_id)
    if identity is None or target is None:
        raise LinkError("no such identity or customer")
    source_id = identity.customer_id
    if source_id == target.id:
        return target
    identity.customer_id = target.id
    identity.linked_by = "manual"
    session.execute(
        update(Mention).where(Mention.identity_id == identity.id).values(customer_id=target.id)
    )
    session.flush()
    remaining = session.scalar(select(Identity.id).where(Identity.customer_id == source_id))
    if remaining is None:
        for model in (Case, Promise, Mention):
            session.execute(
                update(model).where(model.customer_id == source_id).values(customer_id=target.id)
            )
    events.append(
        session,
        events.EventKind.IDENTITY_LINKED,
        now=now,
        actor=actor,
        payload={"identity_id": identity.id, "from_customer": source_id, "to_customer": target.id},
    )
    return target
