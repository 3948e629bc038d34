"""The plain rows placement works on: customers, identities and cases as loaded and
written by bulk Core statements on the ingest hot path (no ORM objects), and the
columns each is read from."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from monitor.mentions import Author
from monitor.models import Case, Customer, Identity

Key = tuple[str, str]
SLA_STATE = (
    "sla_kind",
    "sla_started_at",
    "sla_due_at",
    "sla_warn_at",
    "sla_state",
    "sla_step",
    "sla_next_action_at",
    "public_risk",
)  # the response-time target (monitor.sla.service.fix_target) and the public-risk flag
CASE_STATE = (
    "status",
    "channel",
    "subject",
    "priority",
    "score",
    "band",
    "reasons",
    "text_score",
    "unanswered_count",
    "hop_from",
    "public",
    "followers",
    "updated_at",
    "last_customer_at",
    "first_unanswered_at",
    "resolved_at",
    *SLA_STATE,
)  # the columns ingestion may change on an existing case


@dataclass(eq=False)
class CustomerRow:
    id: int | None
    display_name: str = ""
    value: float = 0.0


@dataclass(eq=False)
class IdentityRow:
    id: int | None
    customer: CustomerRow
    kind: str
    handle: str
    username: str | None = None
    name: str | None = None
    followers: int | None = None
    linked_by: str = "auto"
    dirty: bool = False

    def refresh(self, author: Author) -> None:
        for attr in ("username", "name", "followers"):
            value = getattr(author, attr)
            if value is not None and getattr(self, attr) != value:
                setattr(self, attr, value)
                self.dirty = True


@dataclass(eq=False)
class CaseRow:
    """The part of a case that ingestion reads and writes (duck-types ``priority.CaseLike``)."""

    id: int | None
    customer: CustomerRow
    status: str
    channel: str
    created_at: datetime
    updated_at: datetime
    subject: str = ""
    priority: float = 0.0
    score: int = 0
    band: str = "low"
    reasons: list[str] = field(default_factory=list)
    text_score: dict[str, Any] | None = None
    unanswered_count: int = 0
    hop_from: str | None = None
    public: bool = False
    followers: int | None = None
    last_customer_at: datetime | None = None
    first_unanswered_at: datetime | None = None
    resolved_at: datetime | None = None
    last_staff_reply_at: datetime | None = None  # read only: first or next response
    sla_kind: str | None = None
    sla_started_at: datetime | None = None
    sla_due_at: datetime | None = None
    sla_warn_at: datetime | None = None
    sla_state: str | None = None
    sla_step: int = 0
    sla_next_action_at: datetime | None = None
    public_risk: bool = False

    @property
    def customer_id(self) -> int | None:
        return self.customer.id

    def state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CASE_STATE}


def identity_key(author: Author) -> Key:
    return (str(author.kind), author.handle)


# Loaded in CaseRow's own field order (after id and customer), so that a row builds a
# CaseRow positionally: this runs for every case a batch touches.
CASE_ROW_FIELDS = tuple(f.name for f in fields(CaseRow))[2:]
CASE_COLUMNS = [Case.id, Case.customer_id, *(getattr(Case, c) for c in CASE_ROW_FIELDS)]
IDENTITY_COLUMNS = [
    Identity.id,
    Identity.kind,
    Identity.handle,
    Identity.username,
    Identity.name,
    Identity.followers,
    Identity.linked_by,
    Customer.id,
    Customer.display_name,
    Customer.value,
]
