"""``sources``: where complaints come from (X, IMAP)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from monitor.config.base import Section
from monitor.config.costs import XCosts
from monitor.config.oauth import OAuth2ClientSettings


def _first_poll(value: object) -> object:
    """``now``, ``all`` or an ISO date (YAML may already have parsed it as a date)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value not in ("now", "all"):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise ValueError("first_poll: now, all, or a date like 2026-11-01") from None
    return value


class FirstPoll(Section):
    """What the first poll of a source (no cursor yet) takes onto the queue."""

    # now: start from now, with the last `backlog_hours` of traffic (so the complaint sent
    #      the evening before the install is not lost); all: everything the account has;
    #      or a date (UTC, YYYY-MM-DD): everything since that day.
    start: str = "now"
    backlog_hours: int = Field(default=24, ge=0, le=24 * 31)

    _check = field_validator("start", mode="before")(_first_poll)


class TwitterSourceSettings(Section):
    enabled: bool = False
    user_id: str = ""
    bearer_token_env: str = "X_BEARER_TOKEN"
    # OAuth 1.0a user context: needed for DMs and for replying.
    consumer_key_env: str | None = None
    consumer_secret_env: str | None = None
    access_token_env: str | None = None
    access_token_secret_env: str | None = None
    poll_seconds: int = Field(default=60, ge=5)
    poll_dms: bool = False
    api_base_url: str = "https://api.x.com"
    timeout_seconds: float = Field(default=15.0, gt=0)
    max_pages: int = Field(default=10, ge=1)
    # bearer: the app-only token (bearer_token_env) reads mentions, OAuth 1.0a keys DMs;
    # oauth2: the brand account's own OAuth 2.0 grant (`complaint-monitor connect x`) reads
    # both, at X's lower price for an account's own data.
    auth: Literal["bearer", "oauth2"] = "bearer"
    oauth2: OAuth2ClientSettings = OAuth2ClientSettings(provider="x")
    first_poll: FirstPoll = FirstPoll()
    # Alert admins when this source, which normally gets traffic, has received nothing
    # for this many hours (0 = off). A broken token or webhook often looks like a quiet day.
    silence_alarm_hours: int = Field(default=0, ge=0)
    costs: XCosts = XCosts()


class EmailSourceSettings(Section):
    enabled: bool = False
    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    # PEM file of the CA (or self-signed certificate) to trust; default: the system store
    ca_file: str | None = None
    username: str = ""
    password_env: str = "IMAP_PASSWORD"
    folders: tuple[str, ...] = ("INBOX",)
    poll_seconds: int = Field(default=60, ge=5)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Addresses that belong to us (never treated as customers), e.g. support@example.com
    own_addresses: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # password: IMAP LOGIN with password_env; oauth2: SASL XOAUTH2 with the grant stored by
    # `complaint-monitor connect email` (Google Workspace, Microsoft 365).
    auth: Literal["password", "oauth2"] = "password"
    oauth2: OAuth2ClientSettings = OAuth2ClientSettings()
    first_poll: FirstPoll = FirstPoll()
    silence_alarm_hours: int = Field(default=0, ge=0)


class SourcesSettings(Section):
    # Alert the admins once a source has failed this many polls in a row (0 = never).
    alert_after_failures: int = Field(default=5, ge=0)
    twitter: TwitterSourceSettings = TwitterSourceSettings()
    email: EmailSourceSettings = EmailSourceSettings()
