"""Direct messages to the brand: ``GET /2/dm_events`` (user context: OAuth 2.0 or 1.0a).

Cursor ``x:dms``: ``{"newest_id": E}``. ``/2/dm_events`` has no ``since_id``: pages are
read newest-first until an event with id <= E. If the poll stops early the cursor keeps
E and adds ``"pagination_token"`` (where to resume) and ``"pending_newest_id"``; if X
later rejects that token (400) the poll restarts from the top down to E, which re-reads
but never skips.

Not buying the same events again: X bills every DM event returned, once per UTC day. In
steady state the first page asks for only :data:`STEADY_FIRST_PAGE` events (more pages
follow only if they are all new), so a quiet poll re-reads at most that many known
events; those were already bought today, except on the first poll after 00:00 UTC.
Before, every poll re-read up to 100 events.

The first poll (no cursor) stops at events older than the ``first_poll`` rule's start.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import tweepy

from monitor.sources.base import Batch, Cursor, PermanentSourceError
from monitor.sources.twitter.parsing import (
    USER_FIELDS,
    Collector,
    Page,
    add_item,
    cursor_id,
    int_id,
    item_id,
    parse_created,
)
from monitor.sources.twitter.source import XSource
from responders.x_client import OAuth1Keys

DM_EVENT_FIELDS = "id,text,event_type,created_at,sender_id,dm_conversation_id"
STEADY_FIRST_PAGE = 5


class XDirectMessagesSource(XSource):
    name = "x:dms"
    endpoint = "GET /2/dm_events"
    data_kind = "dm_event"

    def __init__(self, *, oauth1: OAuth1Keys | None, **kwargs: Any) -> None:
        if oauth1 is None and kwargs.get("tokens") is None:
            raise ValueError("x:dms: reading DMs needs the OAuth 2.0 grant or the OAuth 1.0a keys")
        super().__init__(oauth1=oauth1, **{**kwargs, "bearer_token": None})

    def _page(self, token: str | None, size: int) -> Any:
        return self.client.get_direct_message_events(
            pagination_token=token,
            max_results=size,
            dm_event_fields=DM_EVENT_FIELDS,
            event_types="MessageCreate",
            expansions="sender_id",
            user_fields=USER_FIELDS,
            user_auth=self.user_auth,
        )

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        stop = cursor_id(cursor, "newest_id")
        pending = cursor_id(cursor, "pending_newest_id")
        saved = (cursor or {}).get("pagination_token")
        token = saved if isinstance(saved, str) and saved and pending else None
        oldest = self.first_poll.since(now) if not cursor else None
        c = Collector(self.name)
        complete = False
        for number in range(self.max_pages):
            small = number == 0 and token is None and stop is not None
            size = min(self.page_size, STEADY_FIRST_PAGE) if small else self.page_size
            try:
                response = self.request(self._page, token, size, now=now)
            except PermanentSourceError as exc:
                if number or token is None or not isinstance(exc.__cause__, tweepy.BadRequest):
                    raise
                token, pending = None, None  # stale resume token: re-read from the top
                response = self.request(self._page, None, self.page_size, now=now)
            page = self.read(c, response, now=now)
            if page.error:
                c.quarantine(page.error, page.raw)
                break
            if pending is None and page.ids():
                pending = str(max(page.ids()))
            complete = self._collect(page, stop, oldest, c)
            token = page.next_token
            if complete or token is None:
                complete = True
                break
        if complete:
            newest = pending or stop
            return c.batch({"newest_id": newest} if newest else {})
        if pending is not None and token is not None:
            resume = {"pending_newest_id": pending, "pagination_token": token}
            return c.batch({**({"newest_id": stop} if stop else {}), **resume})
        return c.batch(dict(cursor or {}))

    def _collect(self, page: Page, stop: str | None, oldest: datetime | None, c: Collector) -> bool:
        """Add the page's new events; True once the known newest (or too old) is reached."""
        for item in page.items:
            event_id = int_id(item.get("id")) if isinstance(item, dict) else None
            if stop is not None and event_id is not None and event_id <= int(stop):
                return True
            if oldest is not None and _created(item) < oldest:
                return True
            if not (found := item_id(item, page, c)):
                continue
            if item.get("event_type", "MessageCreate") != "MessageCreate":
                continue
            if item.get("sender_id") == self.user_id:
                continue  # our own outgoing message
            add_item(page, item, found, "sender_id", c)
        return False


def _created(item: Any) -> datetime:
    try:
        return parse_created(item.get("created_at") if isinstance(item, dict) else None)
    except ValueError:
        return datetime.max.replace(tzinfo=UTC)  # undated: never the reason to stop
