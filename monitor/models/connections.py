"""Connected accounts (OAuth grants, sealed), sign-ins under way, and X's billable usage."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, id_column


class OAuthGrant(Base):
    """One connected account (``email``, ``x``): its tokens, sealed with the secret box.

    ``state`` is ``active`` or ``needs_reauthorisation`` (revoked or expired: an admin
    must connect again). Tokens are never logged or shown; only the account name is.
    """

    __tablename__ = "oauth_grants"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(320), default="")
    account_id: Mapped[str] = mapped_column(String(64), default="")
    scopes: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[str | None] = mapped_column(Text)  # sealed
    access_token: Mapped[str | None] = mapped_column(Text)  # sealed
    access_expires_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(32), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[datetime]
    connected_by: Mapped[str] = mapped_column(String(120), default="")
    refreshed_at: Mapped[datetime | None]


class OAuthFlow(Base):
    """A sign-in under way from the console: a device code or a PKCE verifier (sealed).

    ``id`` is random and also the OAuth ``state`` of a code flow; rows expire with
    the code and are deleted when the flow ends.
    """

    __tablename__ = "oauth_flows"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24))  # device | authorization_code
    secret: Mapped[str] = mapped_column(Text)  # sealed: device_code or code_verifier
    user_code: Mapped[str] = mapped_column(String(64), default="")
    verification_uri: Mapped[str] = mapped_column(String(2000), default="")
    interval_seconds: Mapped[int] = mapped_column(Integer, default=5)
    next_poll_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(Text)  # set when it ended: ok | why not


class XUsage(Base):
    """One billable X resource, once per UTC day, as X bills (its dedupe window).

    ``resource`` is ``post``, ``user`` or ``dm_event`` for reads, ``post_create``,
    ``post_create_url`` or ``dm_create`` for writes; ``owned`` marks reads of the
    authenticated account's own data (mentions with user context), billed lower.
    """

    __tablename__ = "x_usage"
    __table_args__ = (UniqueConstraint("day", "resource", "resource_id"),)

    id: Mapped[int] = id_column()
    day: Mapped[date]
    resource: Mapped[str] = mapped_column(String(24))
    resource_id: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(120))
    owned: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]


Index("ix_x_usage_day_endpoint", XUsage.day, XUsage.endpoint)
