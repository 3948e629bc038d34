"""Turning X API v2 response bodies into mentions (shared by polling and ``import``).

A malformed item or page becomes a ``Quarantined`` entry with the raw bytes and never
blocks the items beside it; within one batch no id appears twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.sources.base import Batch, Cursor, PermanentSourceError, Quarantined
from monitor.sources.twitter.transport import rate_headers

# Only what the desk uses: expansions are billed as extra reads (a user per author), so
# referenced posts are not expanded and no post metrics are asked for. public_metrics
# on users gives the follower count the priority uses for reach.
TWEET_FIELDS = "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,author_id"
USER_FIELDS = "username,name,public_metrics"
DM_EVENT_FIELDS = "id,text,event_type,created_at,sender_id,dm_conversation_id"
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,50})+\s*")

JSONObj = dict[str, Any]


def int_id(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def cursor_id(cursor: Cursor | None, key: str) -> str | None:
    value = (cursor or {}).get(key)
    if value is None:
        return None
    if int_id(value) is None:
        raise PermanentSourceError(f"corrupt cursor: {key}={value!r} is not a numeric id")
    return str(value)


def parse_created(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("created_at is missing")
    created = datetime.fromisoformat(value)
    return (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC)


def _loads(raw: bytes) -> Any:
    """orjson is several times faster; the standard library also reads what orjson
    refuses but a vendor might still send (NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def _dump(item: Any, includes: JSONObj) -> bytes:
    payload: JSONObj = {"data": item}
    if includes:
        payload["includes"] = includes
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # An integer beyond 64 bits, or a lone surrogate ("\ud800" is valid JSON but not
        # UTF-8): the standard library writes both, the surrogate kept as its escape.
        return json.dumps(payload, sort_keys=True).encode()


class Page:
    """One response body, or the reason it is not a usable page."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.items: list[Any] = []
        self.users: dict[str, JSONObj] = {}
        self.tweets: dict[str, JSONObj] = {}
        self.meta: JSONObj = {}
        self.error: str | None = None
        self.body: Any = None
        try:
            self.body = body = _loads(self.raw)
        except ValueError as exc:
            self.error = f"page is not JSON: {exc}"
            return
        if isinstance(body, dict) and body.get("errors") and not {"data", "meta"} & body.keys():
            raise PermanentSourceError(f"X answered only errors: {body['errors']!r:.300}")
        data = body.get("data", []) if isinstance(body, dict) else None
        if not isinstance(data, list):
            self.error = "page is not an object with a 'data' list"
            return
        self.items = data
        meta, includes = body.get("meta"), body.get("includes")
        self.meta = meta if isinstance(meta, dict) else {}
        if isinstance(includes, dict):
            for key, into in (("users", self.users), ("tweets", self.tweets)):
                for obj in includes.get(key) or ():
                    if isinstance(obj, dict) and isinstance(obj.get("id"), str):
                        into[obj["id"]] = obj

    @property
    def next_token(self) -> str | None:
        token = self.meta.get("next_token")
        return token if isinstance(token, str) and token else None

    def ids(self) -> list[int]:
        found = [int_id(i.get("id")) for i in self.items if isinstance(i, dict)]
        return [i for i in found if i is not None]

    def author(self, user_id: str) -> Author:
        user = self.users.get(user_id, {})
        metrics = user.get("public_metrics")
        followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
        return Author(
            kind=IdentityKind.X,
            handle=user_id,
            username=user.get("username"),
            name=user.get("name"),
            followers=followers if isinstance(followers, int) else None,
        )


class Collector:
    """Accumulates one batch: mentions, quarantine and de-duplication by id."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.mentions: dict[str, MentionIn] = {}
        self.quarantined: list[Quarantined] = []
        self._seen: set[str] = set()
        self.remaining: int | None = None
        self.reset_at: datetime | None = None

    def note_response(self, headers: Mapping[str, str]) -> None:
        self.remaining, self.reset_at = rate_headers(headers)

    def first_time(self, item_id: str) -> bool:
        if item_id in self._seen:
            return False
        self._seen.add(item_id)
        return True

    def quarantine(self, reason: str, raw: bytes, external_id: str | None = None) -> None:
        self.quarantined.append(Quarantined(self.source, reason, raw, external_id))

    def batch(self, cursor: dict[str, Any]) -> Batch:
        ordered = sorted(self.mentions.values(), key=lambda m: int(m.external_id))
        return Batch(ordered, cursor, self.quarantined, self.remaining, self.reset_at)


def item_id(item: Any, page: Page, collector: Collector) -> str | None:
    """The item's id if it is new and well-formed; quarantines it otherwise."""
    if not isinstance(item, dict):
        collector.quarantine("item is not a JSON object", json.dumps(item).encode())
        return None
    item_id = item.get("id")
    if int_id(item_id) is None:
        collector.quarantine("item has no numeric id", _dump(item, {}))
        return None
    return str(item_id) if collector.first_time(str(item_id)) else None


def build_mention(page: Page, item: JSONObj, author_key: str, channel: Channel) -> MentionIn:
    """Turn one tweet or DM event into a mention; ValueError says what is wrong."""
    text, author_id = item.get("text"), item.get(author_key)
    if not isinstance(text, str):
        raise ValueError("text is missing")
    if not isinstance(author_id, str) or not author_id:
        raise ValueError(f"{author_key} is missing")
    created_at = parse_created(item.get("created_at"))
    includes: JSONObj = {}
    if author_id in page.users:
        includes["users"] = [page.users[author_id]]
    refs = item.get("referenced_tweets") or item.get("referenced_posts") or []
    refs = [r for r in refs if isinstance(r, dict)] if isinstance(refs, list) else []
    if ref_tweets := [page.tweets[r["id"]] for r in refs if r.get("id") in page.tweets]:
        includes["tweets"] = ref_tweets
    replied = [str(r.get("id")) for r in refs if r.get("type") == "replied_to" and r.get("id")]
    thread = item.get("conversation_id") or item.get("dm_conversation_id")
    reply_user = item.get("in_reply_to_user_id")
    extra = {"in_reply_to_user_id": str(reply_user)} if reply_user else {}
    return MentionIn(
        channel=channel,
        external_id=str(item["id"]),
        author=page.author(author_id),
        text=text,
        created_at=created_at,
        raw=_dump(item, includes),
        text_for_scoring=_LEADING_MENTIONS.sub("", text).strip(),
        public=channel is Channel.X,
        in_reply_to=replied[0] if replied else None,
        thread_refs=(str(thread),) if thread else (),
        extra=extra,
    )


def add_item(page: Page, item: JSONObj, item_id: str, author_key: str, c: Collector) -> None:
    channel = Channel.X if author_key == "author_id" else Channel.X_DM
    try:
        c.mentions[item_id] = build_mention(page, item, author_key, channel)
    except (ValueError, TypeError) as exc:
        c.quarantine(f"malformed item: {exc}", _dump(item, {}), item_id)


def mentions_from_page(raw: bytes, *, source: str) -> tuple[list[MentionIn], list[Quarantined]]:
    """Parse one saved X API v2 response body (mentions, a timeline or DM events).

    Used by ``complaint-monitor import`` to backfill from API dumps; the same parsing
    and quarantine rules as polling apply.
    """
    c = Collector(source)
    try:
        page = Page(raw)
    except PermanentSourceError as exc:
        return [], [Quarantined(source, str(exc), raw)]
    if page.error:
        return [], [Quarantined(source, page.error, raw)]
    for item in page.items:
        if found := item_id(item, page, c):
            dm = isinstance(item, dict) and "sender_id" in item and "author_id" not in item
            add_item(page, item, found, "sender_id" if dm else "author_id", c)
    return sorted(c.mentions.values(), key=lambda m: int(m.external_id)), c.quarantined
