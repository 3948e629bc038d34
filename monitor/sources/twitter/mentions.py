"""Posts that mention the brand account: ``GET /2/users/:id/mentions``.

Cursor ``x:mentions``: ``{"since_id": S}`` in steady state. X pages newest-first, so the
cursor only moves to the FIRST page's ``newest_id`` once every page down to ``since_id``
has been read. If a poll stops early (``max_pages`` reached, a page that is not JSON, a
repeated ``next_token``) the posts between ``since_id`` and the oldest id fetched are
still unread, so the cursor becomes ``{"since_id": S, "until_id": oldest fetched,
"newest_id": first page's newest}`` and the next polls ask for ``since_id < id <
until_id`` (``until_id`` never expires, unlike pagination tokens) until that gap is
drained; only then does ``since_id`` jump to the remembered ``newest_id``. No id is ever
skipped; re-delivery is harmless (mentions are unique on channel + external id).

The first poll (no cursor) asks only for posts since the ``first_poll`` rule's start
(``start_time``), so a new install does not put months of old mentions on the queue.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.sources.base import Batch, Cursor
from monitor.sources.twitter.parsing import (
    TWEET_FIELDS,
    USER_FIELDS,
    Collector,
    add_item,
    cursor_id,
    int_id,
    item_id,
)
from monitor.sources.twitter.source import XSource


class XMentionsSource(XSource):
    name = "x:mentions"
    endpoint = "GET /2/users/:id/mentions"
    min_page = 5

    def _page(
        self, since: str | None, until: str | None, token: str | None, start: str | None
    ) -> Any:
        return self.client.get_users_mentions(
            self.user_id,
            since_id=since,
            until_id=until,
            start_time=start,
            pagination_token=token,
            max_results=self.page_size,
            expansions="author_id",
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
            user_auth=self.user_auth,
        )

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        since = cursor_id(cursor, "since_id")
        until = cursor_id(cursor, "until_id")
        pending = (cursor_id(cursor, "newest_id") or until) if until else None
        first = self.first_poll.since(now) if not cursor else None
        start = first.strftime("%Y-%m-%dT%H:%M:%SZ") if first else None
        c = Collector(self.name)
        token: str | None = None
        tokens: set[str] = set()
        oldest: int | None = None
        complete = False
        for number in range(self.max_pages):
            response = self.request(self._page, since, until, token, start, now=now)
            page = self.read(c, response, now=now)
            if page.error:
                c.quarantine(page.error, page.raw)
                break
            candidates = [*page.ids(), int_id(page.meta.get("oldest_id")), oldest]
            oldest = min((i for i in candidates if i is not None), default=None)
            if number == 0 and until is None:
                newest = int_id(page.meta.get("newest_id")) or max(page.ids(), default=None)
                pending = str(newest) if newest else None
            for item in page.items:
                if found := item_id(item, page, c):
                    add_item(page, item, found, "author_id", c)
            token = page.next_token
            if token is None:
                complete = True
                break
            if token in tokens:  # the API is looping: resume below the oldest id next time
                break
            tokens.add(token)
        if complete:
            next_cursor = {"since_id": pending or since} if pending or since else {}
        elif oldest is not None and pending is not None:
            next_cursor = {"until_id": str(oldest), "newest_id": pending}
            next_cursor.update({"since_id": since} if since else {})
        else:
            next_cursor = dict(cursor or {})
        return c.batch(next_cursor)
