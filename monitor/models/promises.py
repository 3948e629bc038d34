"""The promise ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, JSONType, id_column
from monitor.models.enums import PromiseState


class Promise(Base):
    __tablename__ = "promises"
    __table_args__ = (
        Index("ix_promises_state_next_action", "state", "next_action_at"),
        Index("ix_promises_created_at", "created_at"),  # reports: promises made in a period
        # Reports: the promises overdue right now, oldest first, from the index alone.
        Index("ix_promises_state_due", "state", "due_at", "id", "case_id", "kind", "owner_id"),
    )

    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id"))
    # POST /api/v1/cases/{id}/promises with an Idempotency-Key: a retry finds this row.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
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
    # Compensation the promise gives (monitor.promises.compensation): kind (rebate,
    # credit, refund, gift, upgrade, visit), amount and currency where it applies, why,
    # and a lead's approval when it is above the configured limit.
    compensation_kind: Mapped[str | None] = mapped_column(String(16), index=True)
    compensation_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    compensation_currency: Mapped[str | None] = mapped_column(String(3))
    compensation_reason: Mapped[str | None] = mapped_column(Text)
    approval: Mapped[str | None] = mapped_column(String(16))  # not_needed, pending, ...
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[datetime | None]
