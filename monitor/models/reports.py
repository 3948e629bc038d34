"""What reports learn from: free tags on a case, and the satisfaction survey."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, id_column


class CaseTag(Base):
    """A free tag on a case (``billing-v2``, ``ios-17``); the cause is a column on Case."""

    __tablename__ = "case_tags"
    __table_args__ = (Index("ix_case_tags_tag", "tag"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime]


class Survey(Base):
    """A one-question satisfaction survey after a check-in: a signed, single-use,
    expiring link (only the SHA-256 of its token is stored); the answer lands here."""

    __tablename__ = "surveys"

    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    check_in_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)
    rating: Mapped[int | None] = mapped_column(Integer)  # 1 (very unhappy) .. 5 (very happy)
    comment: Mapped[str | None] = mapped_column(Text)
