"""The case state machine: which case a new message joins, and how a case moves.

A message joins, in order of preference: the case of the message it answers (email
In-Reply-To/References, X conversation), the customer's case with the same email
subject, or the customer's open case. Otherwise it opens a new case. Joining an open,
unanswered case from another channel is a **channel hop**: recorded as an event and
fed to the frustration score, because it means the customer felt ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.mentions import Channel, MentionIn, normalise_subject
from monitor.models import Case, CaseStatus, Customer, Mention


@dataclass(frozen=True)
class Placement:
    case: Case
    opened: bool
    reopened: bool
    hop_from: str | None  # channel the customer hopped from, when the case was unanswered


@dataclass
class CaseFinder:
    """Finds the case for each message of a batch, caching what it has looked up."""

    session: Session
    now: datetime
    hop_window: timedelta

    def __post_init__(self) -> None:
        self.by_external_id: dict[str, int] = {}
        self.open_by_customer: dict[int, Case | None] = {}
        self.open_by_new_customer: dict[int, Case] = {}  # keyed by id() of unflushed customers

    def warm(self, mentions: list[MentionIn], known_customer_ids: set[int]) -> None:
        refs = {r for m in mentions for r in (m.in_reply_to, *m.thread_refs) if r}
        if refs:
            rows = self.session.execute(
                select(Mention.external_id, Mention.case_id).where(Mention.external_id.in_(refs))
            )
            self.by_external_id.update({ext: case_id for ext, case_id in rows})
        missing = known_customer_ids - self.open_by_customer.keys()
        if missing:
            for cid in missing:
                self.open_by_customer[cid] = None
            rows2 = self.session.scalars(
                select(Case)
                .where(Case.customer_id.in_(missing), Case.status != CaseStatus.RESOLVED)
                .order_by(Case.updated_at)
            )
            for case in rows2:  # latest wins
                self.open_by_customer[case.customer_id] = case

    def _threaded(self, mention: MentionIn) -> Case | None:
        for ref in (mention.in_reply_to, *reversed(mention.thread_refs)):
            if ref and ref in self.by_external_id:
                return self.session.get(Case, self.by_external_id[ref])
        return None

    def _by_subject(self, customer_id: int, mention: MentionIn) -> Case | None:
        subject = normalise_subject(mention.subject)
        if mention.channel != Channel.EMAIL or not subject:
            return None
        since = self.now - self.hop_window
        for case in self.session.scalars(
            select(Case)
            .where(Case.customer_id == customer_id, Case.updated_at >= since)
            .order_by(Case.updated_at.desc())
            .limit(20)
        ):
            if normalise_subject(case.subject) == subject:
                return case
        return None

    def _open_case(self, customer: Customer) -> Case | None:
        if customer.id is None:
            return self.open_by_new_customer.get(id(customer))
        if customer.id not in self.open_by_customer:
            self.warm([], {customer.id})
        return self.open_by_customer.get(customer.id)

    def place(self, mention: MentionIn, *, customer: Customer) -> Placement:
        case = self._threaded(mention)
        if case is None and customer.id is not None:
            case = self._by_subject(customer.id, mention)
        if case is None:
            case = self._open_case(customer)
        opened = reopened = False
        hop_from: str | None = None
        if case is None:
            case = Case(
                customer=customer,
                status=CaseStatus.OPEN,
                channel=str(mention.channel),
                subject=(mention.subject or "")[:500],
                created_at=self.now,
                updated_at=self.now,
                unanswered_count=0,
                score=0,
                priority=0.0,
                band="low",
                reasons=[],
                public=False,
            )
            self.session.add(case)
            opened = True
        else:
            if case.status == CaseStatus.RESOLVED:
                case.status = CaseStatus.OPEN
                case.resolved_at = None
                reopened = True
            unanswered = case.first_unanswered_at is not None
            if case.channel != str(mention.channel) and unanswered:
                hop_from = case.channel
        if customer.id is None:
            self.open_by_new_customer[id(customer)] = case
        else:
            self.open_by_customer[customer.id] = case
        return Placement(case=case, opened=opened, reopened=reopened, hop_from=hop_from)

    def remember(self, external_id: str, case_id: int) -> None:
        self.by_external_id[external_id] = case_id


def record_contact(case: Case, mention: MentionIn, *, now: datetime, hop_from: str | None) -> None:
    """Update the case's waiting state for one more customer message."""
    when = mention.created_at
    case.channel = str(mention.channel)
    case.status = CaseStatus.OPEN
    case.updated_at = now
    case.last_customer_at = max(case.last_customer_at or when, when)
    if case.first_unanswered_at is None or when < case.first_unanswered_at:
        case.first_unanswered_at = when
    case.unanswered_count = (case.unanswered_count or 0) + 1
    if hop_from is not None and case.hop_from is None:
        case.hop_from = hop_from
    if mention.public:
        case.public = True
    followers = mention.author.followers
    if followers is not None and (case.followers is None or followers > case.followers):
        case.followers = followers
    if not case.subject and mention.subject:
        case.subject = mention.subject[:500]


def record_staff_reply(case: Case, *, now: datetime) -> None:
    """Staff answered: nothing the customer said before now is unanswered any more."""
    case.last_staff_reply_at = now
    case.first_unanswered_at = None
    case.unanswered_count = 0
    case.hop_from = None
    case.text_score = None
    case.status = CaseStatus.WAITING
    case.updated_at = now
