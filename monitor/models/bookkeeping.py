"""Where each source stopped, leases, the quarantine, and the append-only event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, JSONType, id_column


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
    last_success_at: Mapped[datetime | None]
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

    id: Mapped[int] = id_column()
    source: Mapped[str] = mapped_column(String(120), index=True)
    external_id: Mapped[str | None] = mapped_column(String(512))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Event(Base):
    """Append-only history of a case, and the outbox for live updates and webhooks."""

    __tablename__ = "events"

    id: Mapped[int] = id_column()
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120), default="system")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime]
    # Reports: which cases were reopened (kind case.reopened), without scanning the history.
    __table_args__ = (Index("ix_events_kind_case", "kind", "case_id"),)
