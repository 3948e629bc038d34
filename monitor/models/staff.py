"""Staff accounts, API tokens and failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, JSONType, id_column
from monitor.models.enums import Role


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT)
    password_hash: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: follow the browser
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = id_column()
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

    id: Mapped[int] = id_column()
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(index=True)
    # On an address's row, the account the failure was on: the owner's right password
    # clears their own typos from a shared address's count, not other accounts'.
    account: Mapped[str | None] = mapped_column(String(400))
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)


class StaffSession(Base):
    """A console sign-in. The cookie carries a random token; only its SHA-256 is stored,
    so the table cannot be replayed. A row lives until ``expires_at`` (absolute) or
    ``idle`` after ``last_seen_at``, or until revoked (sign-out, password change,
    deactivation, an admin): :mod:`monitor.staff.sessions`."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = id_column()
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
