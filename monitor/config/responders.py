"""``responders``: how replies, invites and alerts go out (X, SMTP, Slack)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.config.base import Section


class SmtpResponderSettings(Section):
    enabled: bool = False
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    from_address: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0)
    # PEM file of a private CA to trust; default: the system store
    ca_file: str | None = None
    # Add a sanitised HTML alternative to the plain-text reply.
    html_alternative: bool = False
    # password: AUTH with username/password_env; oauth2: SASL XOAUTH2 as `username` with the
    # mailbox grant of sources.email (`complaint-monitor connect email`; its scopes must
    # include sending, e.g. Microsoft's SMTP.Send).
    auth: Literal["password", "oauth2"] = "password"


class SlackResponderSettings(Section):
    enabled: bool = False
    token_env: str = "SLACK_BOT_TOKEN"
    api_base_url: str = "https://slack.com/api/"
    default_channel: str = ""
    mode: Literal["member", "connect"] = "member"
    alert_channel: str = ""
    timeout_seconds: int = Field(default=15, ge=1)
    # How often an invite that was sent but not yet accepted is checked again.
    verify_minutes: int = Field(default=30, ge=1)
    # Give up performing (and leave the promise to its owner) after this many failures.
    max_attempts: int = Field(default=8, ge=1)


class TwitterResponderSettings(Section):
    # Replies and DMs use the OAuth 1.0a credentials of sources.twitter.
    enabled: bool = False
    max_chars: int = Field(default=280, ge=1)
    # Pages of our own timeline / DM events read when reconciling a reply whose
    # outcome is unknown.
    lookup_pages: int = Field(default=3, ge=1, le=20)


class RespondersSettings(Section):
    twitter: TwitterResponderSettings = TwitterResponderSettings()
    email: SmtpResponderSettings = SmtpResponderSettings()
    slack: SlackResponderSettings = SlackResponderSettings()
