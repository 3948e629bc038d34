"""Incidents (one fault that many customers share) and the cases attached to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, JSONType, id_column
from monitor.models.enums import IncidentState


class Incident(Base):
    """An outage or fault declared by staff: what we know, what helps, where it stands."""

    __tablename__ = "incidents"

    id: Mapped[int] = id_column()
    title: Mapped[str] = mapped_column(String(200))
    status_text: Mapped[str] = mapped_column(Text, default="")  # public: what we know
    workaround: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default=IncidentState.INVESTIGATING, index=True)
    # Words and phrases that new complaints about it tend to use ("login", "error 503").
    terms: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # What it needs to know from each customer ("error code", "app version", "device").
    asks: Mapped[list[str]] = mapped_column(JSONType, default=list)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    state_changed_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class IncidentCase(Base):
    """A case attached to an incident: by hand, in bulk, or from a suggestion."""

    __tablename__ = "incident_cases"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
    attached_at: Mapped[datetime]
    attached_by: Mapped[str] = mapped_column(String(120))
    how: Mapped[str] = mapped_column(String(16), default="hand")  # hand, bulk, suggestion
