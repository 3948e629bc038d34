"""The normalised inbound message every source produces, and pure text helpers.

A source turns whatever its vendor sends into :class:`MentionIn`; everything after
that (dedupe, linking, scoring, queueing) only ever sees this shape. This module
imports no other project module.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Channel(StrEnum):
    """Where a mention arrived. The value is stored in ``mentions.channel``."""

    X = "x"  # a public post on X that mentions or replies to the brand
    X_DM = "x_dm"  # a direct message on X
    EMAIL = "email"


# Channels only the brand sees: unanswered there, a public post next is a public risk.
PRIVATE_CHANNELS = frozenset({Channel.X_DM.value, Channel.EMAIL.value})


class IdentityKind(StrEnum):
    """The namespace of an external identity (one customer may have several)."""

    X = "x"  # X user id (numeric string); DMs and public posts share it
    EMAIL = "email"  # lower-cased address


CHANNEL_IDENTITY: dict[Channel, IdentityKind] = {
    Channel.X: IdentityKind.X,
    Channel.X_DM: IdentityKind.X,
    Channel.EMAIL: IdentityKind.EMAIL,
}


@dataclass(frozen=True)
class Author:
    """Who sent a mention, as the channel knows them."""

    kind: IdentityKind
    handle: str  # stable key: X user id, or lower-cased email address
    username: str | None = None  # X @username or the email address as written
    name: str | None = None  # display name
    followers: int | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MentionIn:
    """One inbound message, normalised. Frozen: sources build it, nobody edits it.

    ``text`` is the full original (plain text, HTML already converted safely);
    ``text_for_scoring`` has quoted replies and signatures stripped. ``raw`` is the
    vendor payload exactly as received (JSON bytes for X, RFC 822 bytes for email),
    kept so nothing is ever lost to a parsing bug.
    """

    channel: Channel
    external_id: str
    author: Author
    text: str
    created_at: datetime  # aware, UTC
    raw: bytes
    text_for_scoring: str = ""
    public: bool = False
    subject: str | None = None
    in_reply_to: str | None = None  # external id of the message this answers
    thread_refs: tuple[str, ...] = ()  # conversation id / References chain
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    def scoring_text(self) -> str:
        return self.text_for_scoring or self.text


_WS = re.compile(r"\s+")


def normalise_whitespace(text: str) -> str:
    """NFC-normalise and collapse runs of whitespace to single spaces."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def normalise_email(address: str) -> str:
    return address.strip().lower()


def normalise_subject(subject: str | None) -> str:
    """Subject with reply/forward prefixes removed, for threading by subject."""
    if not subject:
        return ""
    s = normalise_whitespace(subject)
    prefix = re.compile(r"^\s*((re|fw|fwd|aw|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
    return prefix.sub("", s).strip().lower()


def first_words(text: str, limit: int = 120) -> str:
    s = normalise_whitespace(text)
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"
