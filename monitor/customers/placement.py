"""Where each new message goes: which customer it is from and which case it joins.

Rules (one customer across channels):
1. The same X user id or the same email address is the same customer.
2. A *new* identity whose message states one we know (an X post giving an email
   address, an email giving an @handle) joins that customer, recorded as ``stated``;
   a stated address we have not seen yet is registered for the customer, so their
   first email later lands on the right case.

Rules (one case per problem): a message joins the case of the message it answers
(email In-Reply-To/References, X conversation), else the customer's recent case with
the same email subject, else the customer's open case, else a new case. Joining an
open, unanswered case from another channel is a **channel hop**: recorded and scored,
because it means the customer felt ignored.

This is the hot path of ingestion, so it works on plain rows (:mod:`placement_rows`)
loaded and written with bulk Core statements, not ORM objects: see
:mod:`monitor.ingest.service` for the writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from monitor.customers.linking import stated_emails, stated_handles
from monitor.customers.placement_rows import (
    CASE_COLUMNS,
    IDENTITY_COLUMNS,
    CaseRow,
    CustomerRow,
    IdentityRow,
    Key,
    identity_key,
)
from monitor.mentions import (
    PRIVATE_CHANNELS,
    Channel,
    IdentityKind,
    MentionIn,
    normalise_subject,
)
from monitor.models import Case, CaseStatus, Customer, Identity, Mention
from monitor.storage.sql_lists import one_of


@dataclass
class Placer:
    """Resolves customers and cases for one batch, caching everything it loads."""

    session: Session
    now: datetime
    hop_window: timedelta = timedelta(days=14)
    link_stated: bool = True
    own_addresses: tuple[str, ...] = ()
    own_handles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.customers: dict[int, CustomerRow] = {}
        self.identities: dict[Key, IdentityRow] = {}
        self.looked_up: set[Key] = set()  # keys known to be absent from the database
        self.cases: dict[int, CaseRow] = {}
        self.open_case: dict[int, CaseRow | None] = {}  # by id(CustomerRow)
        self.case_of_message: dict[str, int] = {}  # external id -> case id (stored)
        self.pending: dict[str, CaseRow] = {}  # external id -> case (this batch)
        self.new_customers: list[CustomerRow] = []
        self.new_identities: list[IdentityRow] = []
        self.new_cases: list[CaseRow] = []

    # -- loading ---------------------------------------------------------------
    def _rows(self, stmt: Any) -> Sequence[Row[Any]]:
        """Plain rows, in the session's transaction. Core, not the ORM: nothing here
        needs ORM loading, and the caller has flushed (``store_mentions``)."""
        return self.session.connection().execute(stmt).all()

    def _customer(self, cid: int, name: str, value: float) -> CustomerRow:
        row = self.customers.get(cid)
        if row is None:
            row = self.customers[cid] = CustomerRow(cid, name, value)
        return row

    def _load_identities(self, where: Any) -> list[IdentityRow]:
        found = []
        stmt = select(*IDENTITY_COLUMNS).join(Customer, Customer.id == Identity.customer_id)
        for r in self._rows(stmt.where(where)):
            key = (r[1], r[2])
            if key not in self.identities:
                customer = self._customer(r[7], r[8], r[9])
                self.identities[key] = IdentityRow(
                    r[0], customer, r[1], r[2], r[3], r[4], r[5], r[6]
                )
            found.append(self.identities[key])
        return found

    def _load_cases(self, where: Any, order: Any = Case.updated_at) -> list[CaseRow]:
        rows = []
        stmt = select(*CASE_COLUMNS).where(where).order_by(order)
        for case_id, customer_id, *state in self._rows(stmt):
            case = self.cases.get(case_id)
            if case is None:
                customer = self.customers.get(customer_id)
                if customer is None:
                    customer = self._customer(customer_id, "", 0.0)
                case = self.cases[case_id] = CaseRow(case_id, customer, *state)
            rows.append(case)
        return rows

    def warm(self, mentions: list[MentionIn]) -> None:
        dialect = self.session.connection().dialect
        keys = {identity_key(m.author) for m in mentions}
        for kind in {k for k, _ in keys}:  # per kind, so the (kind, handle) index is used
            handles = sorted(h for k, h in keys if k == kind)
            self._load_identities(
                (Identity.kind == kind) & one_of(Identity.handle, handles, dialect)
            )
        self.looked_up |= keys
        for channels, refs in self._refs_by_family(mentions).items():
            q = select(Mention.external_id, Mention.case_id).where(
                Mention.channel.in_(channels), one_of(Mention.external_id, refs, dialect)
            )
            self.case_of_message.update((ext, cid) for ext, cid in self._rows(q))
        self._warm_open_cases(
            {i.customer.id for i in self.identities.values() if i.customer.id is not None}
        )

    @staticmethod
    def _refs_by_family(mentions: list[MentionIn]) -> dict[tuple[str, ...], list[str]]:
        """Thread references grouped by the channels they can point into.

        A message that names itself (a tweet starting its own conversation, which is
        most of them) is new, so it cannot be stored yet: no need to look it up.
        """
        families: dict[tuple[str, ...], set[str]] = {}
        for m in mentions:
            family = (
                (str(Channel.EMAIL),)
                if m.channel == Channel.EMAIL
                else (str(Channel.X), str(Channel.X_DM))
            )
            families.setdefault(family, set()).update(
                r for r in (m.in_reply_to, *m.thread_refs) if r and r != m.external_id
            )
        return {f: sorted(refs) for f, refs in families.items() if refs}

    def _warm_open_cases(self, customer_ids: set[int]) -> None:
        missing = {cid for cid in customer_ids if id(self.customers[cid]) not in self.open_case}
        if not missing:
            return
        for cid in missing:
            self.open_case[id(self.customers[cid])] = None
        dialect = self.session.connection().dialect
        for case in self._load_cases(
            one_of(Case.customer_id, sorted(missing), dialect)
            & (Case.status != CaseStatus.RESOLVED)
        ):
            self.open_case[id(case.customer)] = case  # ordered by updated_at: latest wins

    # -- identities ------------------------------------------------------------
    def resolve(self, mention: MentionIn) -> IdentityRow:
        author = mention.author
        key = identity_key(author)
        if key not in self.identities and key not in self.looked_up:
            self._load_identities((Identity.kind == key[0]) & (Identity.handle == key[1]))
            self.looked_up.add(key)
        identity = self.identities.get(key)
        if identity is not None:
            identity.refresh(author)
            return identity
        customer = self._stated_customer(mention) if self.link_stated else None
        linked_by = "stated" if customer is not None else "auto"
        if customer is None:
            customer = CustomerRow(None, author.name or author.username or author.handle)
            self.new_customers.append(customer)
            self.open_case[id(customer)] = None
        identity = IdentityRow(
            None,
            customer,
            key[0],
            key[1],
            author.username,
            author.name,
            author.followers,
            linked_by,
        )
        self._add_identity(identity)
        if self.link_stated and author.kind == IdentityKind.X:
            for address in stated_emails(mention.scoring_text(), self.own_addresses):
                akey = (str(IdentityKind.EMAIL), address)
                if akey not in self.identities and not self._find(akey):
                    self._add_identity(
                        IdentityRow(None, customer, akey[0], address, address, linked_by="stated")
                    )
        return identity

    def _add_identity(self, identity: IdentityRow) -> None:
        self.identities[(identity.kind, identity.handle)] = identity
        self.new_identities.append(identity)

    def _find(self, key: Key) -> IdentityRow | None:
        if key not in self.identities and key not in self.looked_up:
            self._load_identities((Identity.kind == key[0]) & (Identity.handle == key[1]))
            self.looked_up.add(key)
        return self.identities.get(key)

    def _stated_customer(self, mention: MentionIn) -> CustomerRow | None:
        text = mention.scoring_text()
        if mention.author.kind == IdentityKind.X:
            for address in stated_emails(text, self.own_addresses):
                if found := self._find((str(IdentityKind.EMAIL), address)):
                    return found.customer
            return None
        handles = [h for h in stated_handles(text) if h not in self.own_handles]
        for ident in self.identities.values():
            if ident.kind == IdentityKind.X and (ident.username or "").lower() in handles:
                return ident.customer
        if handles:
            loaded = self._load_identities(
                (Identity.kind == str(IdentityKind.X)) & Identity.username.in_(handles)
            )
            if loaded:
                return loaded[0].customer
        return None

    # -- cases -----------------------------------------------------------------
    def _threaded(self, mention: MentionIn) -> CaseRow | None:
        for ref in (mention.in_reply_to, *reversed(mention.thread_refs)):
            if not ref:
                continue
            if ref in self.pending:
                return self.pending[ref]
            case_id = self.case_of_message.get(ref)
            if case_id is not None:
                if case_id not in self.cases:
                    self._load_cases(Case.id == case_id)
                return self.cases.get(case_id)
        return None

    def _by_subject(self, customer: CustomerRow, mention: MentionIn) -> CaseRow | None:
        subject = normalise_subject(mention.subject)
        if mention.channel != Channel.EMAIL or not subject or customer.id is None:
            return None
        since = self.now - self.hop_window
        candidates = self._load_cases(
            (Case.customer_id == customer.id) & (Case.updated_at >= since),
            Case.updated_at.desc(),
        )
        return next((c for c in candidates if normalise_subject(c.subject) == subject), None)

    def place(
        self, mention: MentionIn, customer: CustomerRow
    ) -> tuple[CaseRow, bool, bool, str | None]:
        """The case for this message: (case, opened, reopened, hopped-from channel)."""
        case = self._threaded(mention) or self._by_subject(customer, mention)
        if case is None:
            if id(customer) not in self.open_case and customer.id is not None:
                self._warm_open_cases({customer.id})
            case = self.open_case.get(id(customer))
        opened = reopened = False
        hop_from = None
        if case is None:
            case = CaseRow(
                None,
                customer,
                CaseStatus.OPEN,
                str(mention.channel),
                self.now,
                self.now,
                subject=(mention.subject or "")[:500],
            )
            self.new_cases.append(case)
            opened = True
        else:
            if case.status == CaseStatus.RESOLVED:
                case.status, case.resolved_at, reopened = CaseStatus.OPEN, None, True
            if case.channel != str(mention.channel) and case.first_unanswered_at is not None:
                hop_from = case.channel
                if mention.public and hop_from in PRIVATE_CHANNELS:
                    case.public_risk = True  # ignored in private, now said in public
        self.open_case[id(case.customer)] = case
        self.pending[mention.external_id] = case
        record_contact(case, mention, now=self.now, hop_from=hop_from)
        return case, opened, reopened, hop_from


def record_contact(
    case: CaseRow, mention: MentionIn, *, now: datetime, hop_from: str | None
) -> None:
    """Update the case's waiting state for one more customer message."""
    when = mention.created_at
    case.channel = str(mention.channel)
    case.status = CaseStatus.OPEN
    case.updated_at = now
    case.last_customer_at = max(case.last_customer_at or when, when)
    if case.first_unanswered_at is None or when < case.first_unanswered_at:
        case.first_unanswered_at = when
    case.unanswered_count += 1
    if hop_from is not None:  # the latest hop: X -> X DM -> X came back from the DM
        case.hop_from = hop_from
    if mention.public:
        case.public = True
    followers = mention.author.followers
    if followers is not None and (case.followers is None or followers > case.followers):
        case.followers = followers
    if not case.subject and mention.subject:
        case.subject = mention.subject[:500]
