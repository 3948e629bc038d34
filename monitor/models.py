"""ORM models: one table per noun of DESIGN.md section 2.

Status values are :class:`enum.StrEnum` members stored as short strings, so a new
state is a code change and a migration only when a CHECK would need it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
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

from monitor.db import Base, JSONType


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


class CaseStatus(StrEnum):
    OPEN = "open"  # waiting for staff
    WAITING = "waiting"  # staff answered; waiting for the customer or a promise
    RESOLVED = "resolved"


class Stage(StrEnum):
    """The recovery stages, in order; each has a timestamp column on Case."""

    LISTENED = "listened"
    APOLOGISED = "apologised"
    AGREED = "agreed"
    ACTED = "acted"
    FOLLOWED_UP = "followed_up"
    RESOLVED = "resolved"


class ReplyState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class PromiseState(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class AlertState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _id() -> Mapped[int]:
    return mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT)
    password_hash: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SignInFailure(Base):
    """A failed console sign-in, per account (``a:name``) and per address (``ip:addr``),
    so that every process on the database counts the same (monitor.staff.sign_in_limits)."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = _id()
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(index=True)
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = _id()
    display_name: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime]
    # Lets SQLite insert many new rows in one statement and still match the ids it
    # returns to the objects (SQLAlchemy "insertmanyvalues" sentinel); always NULL.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    identities: Mapped[list[Identity]] = relationship(back_populates="customer")


class Identity(Base):
    """One external identity (X user id, email address) of a customer."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "handle"),)

    id: Mapped[int] = _id()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    followers: Mapped[int | None] = mapped_column(Integer)
    linked_by: Mapped[str] = mapped_column(String(32), default="auto")
    created_at: Mapped[datetime]
    # Lets SQLite insert many new rows in one statement and still match the ids it
    # returns to the objects (SQLAlchemy "insertmanyvalues" sentinel); always NULL.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    customer: Mapped[Customer] = relationship(back_populates="identities")


class Case(Base):
    """A queue item: one customer's problem, from first contact to resolution."""

    __tablename__ = "cases"

    id: Mapped[int] = _id()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
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
    listened_at: Mapped[datetime | None]
    apologised_at: Mapped[datetime | None]
    agreed_at: Mapped[datetime | None]
    acted_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Lets SQLite insert many new rows in one statement and still match the ids it
    # returns to the objects (SQLAlchemy "insertmanyvalues" sentinel); always NULL.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    customer: Mapped[Customer] = relationship()


# The live queue's order (priority first, then longest waiting), so a page of it is an
# index range scan however many cases are open. See monitor/queue_list.py.
Index(
    "ix_cases_queue",
    Case.status,
    Case.priority.desc(),
    Case.first_unanswered_at,
    Case.id,
)


class Mention(Base):
    """An inbound message exactly as received, plus what we derived from it."""

    __tablename__ = "mentions"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_mentions_customer_created", "customer_id", "created_at"),
    )

    id: Mapped[int] = _id()
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


class Reply(Base):
    __tablename__ = "replies"

    id: Mapped[int] = _id()
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ReplyState.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    personal_score: Mapped[int | None] = mapped_column(Integer)
    override_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # Where it goes, fixed when it is queued (see monitor/replies.py): the X user id or
    # email address, the external id answered (tweet id / Message-ID), and for email our
    # own Message-ID, generated before the first attempt so reconciliation can find it.
    recipient: Mapped[str | None] = mapped_column(String(320))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    message_id: Mapped[str | None] = mapped_column(String(998))
    # A worker holds a reply in state "sending" until lease_expires_at; past it the
    # outcome is unknown and reconciliation looks it up before anything is re-sent.
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]


Index("ix_replies_state_next_attempt", Reply.state, Reply.next_attempt_at)


class Promise(Base):
    __tablename__ = "promises"
    __table_args__ = (Index("ix_promises_state_next_action", "state", "next_action_at"),)

    id: Mapped[int] = _id()
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(32))
    wording: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    owner_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    state: Mapped[str] = mapped_column(String(16), default=PromiseState.OPEN)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    next_action_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    follow_up_due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Promises the app performs itself (slack_invite): whom to invite, and the state of
    # the performing job: {"state": "invited" | "member" | "failed", "attempts", ...}.
    target: Mapped[str | None] = mapped_column(String(320))
    perform: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    perform_next_at: Mapped[datetime | None] = mapped_column(index=True)


class Alert(Base):
    """One notification about a promise or case; unique per step so it is sent once."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = _id()
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(320), default="")
    dedupe_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=AlertState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # What the alert says, and when the alert worker may (re)try it: claimed rows get
    # a short lease here, failed attempts the back-off.
    message: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None]


Index("ix_alerts_state_next_attempt", Alert.state, Alert.next_attempt_at)


class WebhookSubscription(Base):
    """An outbound webhook endpoint: which event kinds it gets, signed with its secret.

    The signing secret is shown once, when the subscription is created, and never
    returned by the API again.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = _id()
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)  # [] = every kind
    # Only events after this id are delivered (the newest event when it was created).
    after_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one subscription: the delivery log, and the retry schedule as data."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id"),
        Index("ix_webhook_deliveries_state_next_attempt", "state", "next_attempt_at"),
    )

    id: Mapped[int] = _id()
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    event_kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default=AlertState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class SourceCursor(Base):
    """Where a source stopped, and its health (rate limits, back-off)."""

    __tablename__ = "source_cursors"

    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    updated_at: Mapped[datetime]
    next_poll_at: Mapped[datetime | None]
    rate_limit_remaining: Mapped[int | None] = mapped_column(Integer)
    rate_limit_reset_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    fetched_total: Mapped[int] = mapped_column(BigInteger, default=0)
    quarantined_total: Mapped[int] = mapped_column(BigInteger, default=0)


class Lease(Base):
    """A named, expiring lock so only one process runs a job (e.g. polls a source)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class Quarantine(Base):
    """An inbound item we could not parse: kept byte for byte with the reason."""

    __tablename__ = "quarantine"

    id: Mapped[int] = _id()
    source: Mapped[str] = mapped_column(String(120), index=True)
    external_id: Mapped[str | None] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Event(Base):
    """Append-only history of a case, and the outbox for live updates and webhooks."""

    __tablename__ = "events"

    id: Mapped[int] = _id()
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120), default="system")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
