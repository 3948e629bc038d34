"""``sources``: where complaints come from (X, IMAP)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.config.base import Section


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


class SourcesSettings(Section):
    twitter: TwitterSourceSettings = TwitterSourceSettings()
    email: EmailSourceSettings = EmailSourceSettings()
