"""Builders for inbound messages written by the project (never taken from data sets)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.sources.base import Batch, Cursor, Quarantined
from tests.factories import T0


def tweet(
    tweet_id: str | int,
    text: str,
    *,
    user_id: str = "1001",
    username: str = "devdan",
    followers: int | None = 1200,
    at: datetime | None = None,
    in_reply_to: str | None = None,
    conversation: str | None = None,
) -> MentionIn:
    created = at or T0
    raw = json.dumps({"id": str(tweet_id), "text": text, "author_id": user_id}).encode()
    return MentionIn(
        channel=Channel.X,
        external_id=str(tweet_id),
        author=Author(
            kind=IdentityKind.X,
            handle=user_id,
            username=username,
            name=username.title(),
            followers=followers,
        ),
        text=text,
        text_for_scoring=text,
        created_at=created,
        raw=raw,
        public=True,
        in_reply_to=in_reply_to,
        thread_refs=(conversation or str(tweet_id),),
    )


def email(
    message_id: str,
    text: str,
    *,
    sender: str = "dan@example.org",
    subject: str = "Slack invite",
    at: datetime | None = None,
    in_reply_to: str | None = None,
    references: Iterable[str] = (),
) -> MentionIn:
    raw = (
        f"From: {sender}\r\nMessage-ID: <{message_id}>\r\nSubject: {subject}\r\n\r\n{text}"
    ).encode()
    refs = tuple(references) + ((in_reply_to,) if in_reply_to else ())
    return MentionIn(
        channel=Channel.EMAIL,
        external_id=message_id,
        author=Author(kind=IdentityKind.EMAIL, handle=sender.lower(), username=sender, name="Dan"),
        text=text,
        text_for_scoring=text,
        created_at=at or T0,
        raw=raw,
        public=False,
        subject=subject,
        in_reply_to=in_reply_to,
        thread_refs=refs,
    )


@dataclass
class ListSource:
    """An in-memory Source: serves its messages after the cursor's position.

    The cursor is ``{"pos": n}``; ``fail_with`` makes the next fetch raise.
    """

    name: str
    items: list[MentionIn] = field(default_factory=list)
    page_size: int = 50
    fail_with: Exception | None = None
    quarantine: list[Quarantined] = field(default_factory=list)
    fetches: int = 0

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        self.fetches += 1
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        pos = int((cursor or {}).get("pos", 0))
        page = self.items[pos : pos + self.page_size]
        q, self.quarantine = self.quarantine, []
        return Batch(mentions=list(page), next_cursor={"pos": pos + len(page)}, quarantined=q)
