"""Alerts to staff, and webhook subscriptions with their delivery log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, JSONType, id_column
from monitor.models.enums import AlertState


class Alert(Base):
    """One notification about a promise or case; unique per step so it is sent once."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("dedupe_key"),)

    id: Mapped[int] = id_column()
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

    id: Mapped[int] = id_column()
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

    id: Mapped[int] = id_column()
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
