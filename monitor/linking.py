"""One customer across channels: identities, stated-identity linking and manual merges.

Rules, in order:
1. The same X user id or the same email address is the same customer (unique identity).
2. A *new* identity whose message states an identity we already know (an X post that
   gives an email address, an email that gives an @handle) joins that customer, and the
   link is recorded as ``stated``. A stated address we have not seen yet is registered
   for the customer, so their first email later lands on the right case.
3. Staff can link any identity to any customer by hand; the emptied customer is merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session, joinedload

from monitor import events
from monitor.mentions import Author, IdentityKind, MentionIn, normalise_email
from monitor.models import Case, Customer, Identity, Mention, Promise

EMAIL_RE = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
HANDLE_RE = re.compile(r"(?:(?<![\w@])@|\b(?:twitter|x)\.com/)([A-Za-z0-9_]{1,15})\b")

Key = tuple[str, str]


def identity_key(author: Author) -> Key:
    return (str(author.kind), author.handle)


def prefetch(session: Session, authors: Iterable[Author]) -> dict[Key, Identity]:
    """Load the identities of a batch of authors in one query."""
    keys = {identity_key(a) for a in authors}
    if not keys:
        return {}
    rows = session.scalars(
        select(Identity)
        .where(tuple_(Identity.kind, Identity.handle).in_(keys))
        .options(joinedload(Identity.customer))
    )
    return {(i.kind, i.handle): i for i in rows}


def stated_emails(text: str, ignore: Iterable[str] = ()) -> list[str]:
    skip = {normalise_email(a) for a in ignore}
    found = [normalise_email(m) for m in EMAIL_RE.findall(text)]
    return [a for a in dict.fromkeys(found) if a not in skip]


def stated_handles(text: str) -> list[str]:
    return list(dict.fromkeys(h.lower() for h in HANDLE_RE.findall(text)))


@dataclass
class Linker:
    """Resolves mention authors to identities within one transaction, with a cache."""

    session: Session
    now: datetime
    link_stated: bool = True
    own_addresses: tuple[str, ...] = ()
    own_handles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.cache: dict[Key, Identity] = {}
        self.looked_up: set[Key] = set()  # keys whose absence from the database is known

    def warm(self, mentions: Iterable[MentionIn]) -> None:
        authors = [m.author for m in mentions]
        self.cache.update(prefetch(self.session, authors))
        self.looked_up.update(identity_key(a) for a in authors)

    def resolve(self, mention: MentionIn) -> tuple[Identity, bool]:
        """The author's identity (created if new) and whether it was new."""
        author = mention.author
        key = identity_key(author)
        identity = self.cache.get(key)
        if identity is None and key not in self.looked_up:
            identity = self.session.scalar(
                select(Identity).where(Identity.kind == key[0], Identity.handle == key[1])
            )
        if identity is not None:
            self._refresh(identity, author)
            self.cache[key] = identity
            return identity, False
        customer = self._stated_customer(mention) if self.link_stated else None
        linked_by = "stated" if customer is not None else "auto"
        if customer is None:
            customer = Customer(
                display_name=author.name or author.username or author.handle, created_at=self.now
            )
            self.session.add(customer)
        identity = Identity(
            customer=customer,
            kind=key[0],
            handle=key[1],
            username=author.username,
            name=author.name,
            followers=author.followers,
            linked_by=linked_by,
            created_at=self.now,
        )
        self.session.add(identity)
        self.cache[key] = identity
        if self.link_stated and author.kind == IdentityKind.X:
            self._register_stated_emails(mention, customer)
        return identity, True

    def _refresh(self, identity: Identity, author: Author) -> None:
        if author.username and identity.username != author.username:
            identity.username = author.username
        if author.name and identity.name != author.name:
            identity.name = author.name
        if author.followers is not None and identity.followers != author.followers:
            identity.followers = author.followers

    def _lookup(self, kind: IdentityKind, field: str, values: list[str]) -> Identity | None:
        if not values:
            return None
        column = Identity.handle if field == "handle" else Identity.username
        for value in values:
            for ident in self.cache.values():
                if ident.kind == kind and (getattr(ident, field) or "").lower() == value:
                    return ident
        return self.session.scalar(
            select(Identity).where(Identity.kind == str(kind), column.in_(values)).limit(1)
        )

    def _stated_customer(self, mention: MentionIn) -> Customer | None:
        text = mention.scoring_text()
        if mention.author.kind == IdentityKind.X:
            found = self._lookup(
                IdentityKind.EMAIL, "handle", stated_emails(text, self.own_addresses)
            )
        else:
            handles = [h for h in stated_handles(text) if h not in self.own_handles]
            found = self._lookup(IdentityKind.X, "username", handles)
        return found.customer if found is not None else None

    def _register_stated_emails(self, mention: MentionIn, customer: Customer) -> None:
        for address in stated_emails(mention.scoring_text(), self.own_addresses):
            key = (str(IdentityKind.EMAIL), address)
            if key in self.cache or self.session.scalar(
                select(Identity.id).where(Identity.kind == key[0], Identity.handle == address)
            ):
                continue
            ident = Identity(
                customer=customer,
                kind=key[0],
                handle=address,
                username=address,
                linked_by="stated",
                created_at=self.now,
            )
            self.session.add(ident)
            self.cache[key] = ident


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
