"""The queue item (Case) and the inbound messages on it (Mention)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from monitor.db import Base, JSONType, id_column
from monitor.models.enums import CaseStatus

if TYPE_CHECKING:
    from monitor.models.customers import Customer, Identity


class Case(Base):
    """A queue item: one customer's problem, from first contact to resolution."""

    __tablename__ = "cases"

    id: Mapped[int] = id_column()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.OPEN)
    channel: Mapped[str] = mapped_column(String(16))  # channel of the latest contact
    subject: Mapped[str] = mapped_column(String(500), default="")
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[int] = mapped_column(Integer, default=0)
    band: Mapped[str] = mapped_column(String(16), default="low")
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # What the score is computed from, kept so it can be recomputed when only the
    # context changes: the strongest text score among unanswered messages, how many
    # contacts are unanswered, the channel hopped from while unanswered, visibility.
    text_score: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    unanswered_count: Mapped[int] = mapped_column(Integer, default=0)
    hop_from: Mapped[str | None] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    followers: Mapped[int | None] = mapped_column(Integer)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None]
    claim_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_customer_at: Mapped[datetime | None]
    first_unanswered_at: Mapped[datetime | None]
    last_staff_reply_at: Mapped[datetime | None]
    # The first reply ever sent on the case and who sent it (a staff id, no FK), for the
    # reports' "first response"; stamped with the reply (monitor.cases.service).
    first_reply_at: Mapped[datetime | None]
    first_reply_by_id: Mapped[int | None]
    listened_at: Mapped[datetime | None]
    apologised_at: Mapped[datetime | None]
    agreed_at: Mapped[datetime | None]
    acted_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # What went wrong (monitor.reports.causes): a name from ``reports.causes``, suggested
    # from the text with a confidence until staff confirm or change it.
    cause: Mapped[str | None] = mapped_column(String(40))
    cause_confidence: Mapped[float | None] = mapped_column(Float)
    cause_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    cause_set_by_id: Mapped[int | None]  # a staff id (no FK: SQLite keeps the table as is)
    cause_set_at: Mapped[datetime | None]
    agreed_text: Mapped[str | None] = mapped_column(Text)  # what was agreed, in words
    # The lasting owner (until handed over or resolved); claimed_by_id above is only
    # the short composing lock of whoever is writing a reply.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    assigned_at: Mapped[datetime | None]
    # The response-time target of the current wait (monitor/sla): first or next
    # response, when the wait began, when it falls due and when to warn; the alert
    # ladder's progress, and when the SLA clock must look at the case again.
    sla_kind: Mapped[str | None] = mapped_column(String(8))
    sla_started_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    sla_warn_at: Mapped[datetime | None]
    sla_state: Mapped[str | None] = mapped_column(String(12))
    sla_step: Mapped[int] = mapped_column(Integer, default=0)
    sla_next_action_at: Mapped[datetime | None] = mapped_column(index=True)
    # Unanswered on a private channel, the customer then posted publicly.
    public_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # Lets SQLite insert many new rows in one statement and still match the ids it
    # returns to the objects (SQLAlchemy "insertmanyvalues" sentinel); always NULL.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    customer: Mapped[Customer] = relationship()


# The live queue's order (priority first, then longest waiting), so a page of it is an
# index range scan however many cases are open. See monitor/cases/queries.py.
Index(
    "ix_cases_queue",
    Case.status,
    Case.priority.desc(),
    Case.first_unanswered_at,
    Case.id,
)
# Reports read cases by when they were opened (covering what they count by, so a
# period's figures never touch the table) and when they were resolved.
Index(
    "ix_cases_created_cover",
    Case.created_at,
    Case.cause,
    Case.channel,
    Case.customer_id,
    Case.id,
)
Index("ix_cases_resolved_at", Case.resolved_at)
# A customer's cases, by when each was opened ("complained again within 30 days" reads
# the index alone).
Index("ix_cases_customer_created", Case.customer_id, Case.created_at)
# Reports: first replies sent in a period, per agent, and how long each case waited.
Index("ix_cases_first_reply", Case.first_reply_at, Case.first_reply_by_id, Case.created_at)
# "Breaching soon": open cases by due time, a range scan from the most overdue.
Index("ix_cases_sla_due", Case.status, Case.sla_due_at, Case.id)
# Reports: waits still unanswered, by when they began.
Index("ix_cases_sla_started", Case.sla_started_at)


class Mention(Base):
    """An inbound message exactly as received, plus what we derived from it."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_mentions_customer_created", "customer_id", "created_at"),
        Index("ix_mentions_source_received", "source", "received_at"),  # the silence alarm
    )

    id: Mapped[int] = id_column()
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(120))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    author_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_for_scoring: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(1000))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    followers: Mapped[int | None] = mapped_column(Integer)
    in_reply_to: Mapped[str | None] = mapped_column(String(512))  # threading looks up external_id
    thread_refs: Mapped[list[str]] = mapped_column(JSONType, default=list)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]
    received_at: Mapped[datetime]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    score: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[str | None] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSONType, default=list)
    text_score: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    case: Mapped[Case] = relationship()
    customer: Mapped[Customer] = relationship()
    identity: Mapped[Identity] = relationship()


class CaseViewer(Base):
    """Who has a case open in the console: one row per case and staff member, renewed by
    the page's heartbeat; older than the presence window (read with ``now``), it counts
    for nothing. Kept in the database, so every `serve` process sees every viewer."""

    __tablename__ = "case_viewers"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    seen_at: Mapped[datetime]
