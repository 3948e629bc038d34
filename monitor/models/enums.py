"""Status values, stored as short strings: a new state is a code change, and a migration
only where a CHECK would need it."""

from __future__ import annotations

from enum import StrEnum


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
    HELD = "held"  # waits for a lead to approve the compensation it promises


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


class IncidentState(StrEnum):
    """An incident's public state, in the usual order (any move is allowed)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
