"""X (Twitter) sources: the brand's mentions and its direct messages, via ``tweepy.Client``.

Transport
    :func:`responders.x_client.make_client` (shared with the X responder): tweepy with a
    transport adapter that rewrites its hard-coded host to ``api_base_url``. Rate-limit
    headers are read from the raw ``requests.Response``; nothing sleeps.

Cursors (JSON objects; ids are decimal strings and compared as integers)
    ``x:mentions``  ``{"since_id": S}`` in steady state. X pages newest-first, so the
        cursor only moves to the FIRST page's ``newest_id`` once every page down to
        ``since_id`` has been read. If a poll stops early (``max_pages`` reached, a page
        that is not JSON, a repeated ``next_token``) the tweets between ``since_id`` and
        the oldest id fetched are still unread, so the cursor becomes
        ``{"since_id": S, "until_id": oldest fetched, "newest_id": first page's newest}``
        and the next polls ask for ``since_id < id < until_id`` (``until_id`` never
        expires, unlike pagination tokens) until that gap is drained; only then does
        ``since_id`` jump to the remembered ``newest_id``. Newer mentions wait for the
        gap to close and are fetched by the poll after it. No id is ever skipped.
    ``x:dms``  ``{"newest_id": E}``. ``/2/dm_events`` has no ``since_id``: pages are read
        newest-first until an event with id <= E. If the poll stops early the cursor
        keeps E and adds ``"pagination_token"`` (where to resume) and
        ``"pending_newest_id"``; if X later rejects that token (400) the poll restarts
        from the top down to E, which re-reads but never skips.
    Re-delivery is harmless (mentions are unique on channel + external id); a poll that
    learns nothing returns its cursor unchanged. Within one batch no id appears twice.

Errors (see :mod:`monitor.sources.base`)
    429 -> RateLimited(reset_at from ``x-rate-limit-reset``); 5xx, other HTTP errors,
    timeouts and connection errors -> TransientSourceError; 400/401/403/404 ->
    PermanentSourceError. A malformed item or page becomes a ``Quarantined`` entry with
    the raw bytes and never blocks the items beside it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

import orjson
import requests
import tweepy

from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.sources.base import (
    Batch,
    Cursor,
    PermanentSourceError,
    Quarantined,
    RateLimited,
    TransientSourceError,
)
from responders.x_client import (  # re-exported: the sources' public transport names
    DEFAULT_API_BASE_URL,
    TWEEPY_HOSTS,
    BaseUrlAdapter,
    OAuth1Keys,
    make_client,
)

__all__ = [
    "DEFAULT_API_BASE_URL",
    "TWEEPY_HOSTS",
    "BaseUrlAdapter",
    "OAuth1Keys",
    "XDirectMessagesSource",
    "XMentionsSource",
    "make_client",
]

if TYPE_CHECKING:
    from monitor.config import TwitterSourceSettings

TWEET_FIELDS = (
    "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,public_metrics,author_id"
)
USER_FIELDS = "username,name,public_metrics"
DM_EVENT_FIELDS = "id,text,event_type,created_at,sender_id,dm_conversation_id"
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,50})+\s*")

JSONObj = dict[str, Any]


def _rate_headers(headers: Mapping[str, str]) -> tuple[int | None, datetime | None]:
    remaining = headers.get("x-rate-limit-remaining", "")
    reset = headers.get("x-rate-limit-reset", "")
    return (
        int(remaining) if remaining.strip().isdigit() else None,
        datetime.fromtimestamp(int(reset), UTC) if reset.strip().isdigit() else None,
    )


def _call(label: str, request: Callable[..., Any], *args: Any) -> requests.Response:
    """Run one tweepy request, translating vendor errors to the source hierarchy."""
    try:
        response: requests.Response = request(*args)
        return response
    except tweepy.TooManyRequests as exc:
        _, reset_at = _rate_headers(exc.response.headers)
        raise RateLimited(f"{label}: X rate limit reached ({exc})", reset_at=reset_at) from exc
    except (tweepy.BadRequest, tweepy.Unauthorized, tweepy.Forbidden, tweepy.NotFound) as exc:
        raise PermanentSourceError(f"{label}: X refused the request: {exc}") from exc
    except tweepy.HTTPException as exc:  # TwitterServerError and anything unexpected
        raise TransientSourceError(f"{label}: X answered {exc}") from exc
    except requests.RequestException as exc:  # timeouts, connection errors
        raise TransientSourceError(f"{label}: {type(exc).__name__}: {exc}") from exc


def _int_id(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _cursor_id(cursor: Cursor | None, key: str) -> str | None:
    value = (cursor or {}).get(key)
    if value is None:
        return None
    if _int_id(value) is None:
        raise PermanentSourceError(f"corrupt cursor: {key}={value!r} is not a numeric id")
    return str(value)


def _parse_created(value: Any) -> datetime:
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
    except TypeError:  # an integer beyond 64 bits: the standard library can write it
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()


class _Page:
    """One response body, or the reason it is not a usable page."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.items: list[Any] = []
        self.users: dict[str, JSONObj] = {}
        self.tweets: dict[str, JSONObj] = {}
        self.meta: JSONObj = {}
        self.error: str | None = None
        try:
            body = _loads(self.raw)
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
        found = [_int_id(i.get("id")) for i in self.items if isinstance(i, dict)]
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


class _Collector:
    """Accumulates one batch: mentions, quarantine and de-duplication by id."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.mentions: dict[str, MentionIn] = {}
        self.quarantined: list[Quarantined] = []
        self._seen: set[str] = set()
        self.remaining: int | None = None
        self.reset_at: datetime | None = None

    def note_response(self, response: requests.Response) -> None:
        self.remaining, self.reset_at = _rate_headers(response.headers)

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


def _item_id(item: Any, page: _Page, collector: _Collector) -> str | None:
    """The item's id if it is new and well-formed; quarantines it otherwise."""
    if not isinstance(item, dict):
        collector.quarantine("item is not a JSON object", json.dumps(item).encode())
        return None
    item_id = item.get("id")
    if _int_id(item_id) is None:
        collector.quarantine("item has no numeric id", _dump(item, {}))
        return None
    return str(item_id) if collector.first_time(str(item_id)) else None


def _build(page: _Page, item: JSONObj, author_key: str, channel: Channel) -> MentionIn:
    """Turn one tweet or DM event into a mention; ValueError says what is wrong."""
    text, author_id = item.get("text"), item.get(author_key)
    if not isinstance(text, str):
        raise ValueError("text is missing")
    if not isinstance(author_id, str) or not author_id:
        raise ValueError(f"{author_key} is missing")
    created_at = _parse_created(item.get("created_at"))
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


def _add(page: _Page, item: JSONObj, item_id: str, author_key: str, c: _Collector) -> None:
    channel = Channel.X if author_key == "author_id" else Channel.X_DM
    try:
        c.mentions[item_id] = _build(page, item, author_key, channel)
    except (ValueError, TypeError) as exc:
        c.quarantine(f"malformed item: {exc}", _dump(item, {}), item_id)


def mentions_from_page(raw: bytes, *, source: str) -> tuple[list[MentionIn], list[Quarantined]]:
    """Parse one saved X API v2 response body (mentions, a timeline or DM events).

    Used by ``complaint-monitor import`` to backfill from API dumps; the same parsing
    and quarantine rules as polling apply.
    """
    c = _Collector(source)
    try:
        page = _Page(raw)
    except PermanentSourceError as exc:
        return [], [Quarantined(source, str(exc), raw)]
    if page.error:
        return [], [Quarantined(source, page.error, raw)]
    for item in page.items:
        if item_id := _item_id(item, page, c):
            dm = isinstance(item, dict) and "sender_id" in item and "author_id" not in item
            _add(page, item, item_id, "sender_id" if dm else "author_id", c)
    return sorted(c.mentions.values(), key=lambda m: int(m.external_id)), c.quarantined


class _XSource:
    """Shared construction: credentials, client, paging limits."""

    name = "x"
    min_page = 1

    def __init__(
        self,
        *,
        user_id: str,
        bearer_token: str | None = None,
        oauth1: OAuth1Keys | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 15.0,
        max_pages: int = 10,
        page_size: int = 100,
    ) -> None:
        if not user_id.isdigit():
            raise ValueError(f"{self.name}: user_id must be the numeric X user id")
        if not bearer_token and oauth1 is None:
            raise ValueError(f"{self.name}: needs a bearer token or OAuth 1.0a keys")
        if max_pages < 1 or not self.min_page <= page_size <= 100:
            raise ValueError(f"{self.name}: max_pages >= 1, page_size {self.min_page}..100")
        self.user_id, self.max_pages, self.page_size = user_id, max_pages, page_size
        self.user_auth = not bearer_token
        self.client = make_client(
            bearer_token=bearer_token, oauth1=oauth1, api_base_url=api_base_url, timeout=timeout
        )

    @classmethod
    def from_settings(
        cls, settings: TwitterSourceSettings, secret: Callable[[str | None], str | None]
    ) -> Self:
        """Build from ``sources.twitter``; ``secret`` maps an env var name to its value."""
        names = (
            settings.consumer_key_env,
            settings.consumer_secret_env,
            settings.access_token_env,
            settings.access_token_secret_env,
        )
        keys = [secret(name) or "" for name in names]
        return cls(
            user_id=settings.user_id,
            bearer_token=secret(settings.bearer_token_env),
            oauth1=OAuth1Keys(*keys) if all(keys) else None,
            api_base_url=settings.api_base_url,
            timeout=settings.timeout_seconds,
            max_pages=settings.max_pages,
        )


class XMentionsSource(_XSource):
    """Posts that mention the brand account (``GET /2/users/:id/mentions``)."""

    name = "x:mentions"
    min_page = 5

    def _page(self, since: str | None, until: str | None, token: str | None) -> Any:
        return self.client.get_users_mentions(
            self.user_id,
            since_id=since,
            until_id=until,
            pagination_token=token,
            max_results=self.page_size,
            expansions="author_id,referenced_tweets.id",
            tweet_fields=TWEET_FIELDS,
            user_fields=USER_FIELDS,
            user_auth=self.user_auth,
        )

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        since = _cursor_id(cursor, "since_id")
        until = _cursor_id(cursor, "until_id")
        pending = (_cursor_id(cursor, "newest_id") or until) if until else None
        c = _Collector(self.name)
        token: str | None = None
        tokens: set[str] = set()
        oldest: int | None = None
        complete = False
        for number in range(self.max_pages):
            response = _call(self.name, self._page, since, until, token)
            c.note_response(response)
            page = _Page(response.content)
            if page.error:
                c.quarantine(page.error, page.raw)
                break
            candidates = [*page.ids(), _int_id(page.meta.get("oldest_id")), oldest]
            oldest = min((i for i in candidates if i is not None), default=None)
            if number == 0 and until is None:
                newest = _int_id(page.meta.get("newest_id")) or max(page.ids(), default=None)
                pending = str(newest) if newest else None
            for item in page.items:
                if item_id := _item_id(item, page, c):
                    _add(page, item, item_id, "author_id", c)
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


class XDirectMessagesSource(_XSource):
    """Direct messages to the brand (``GET /2/dm_events``, OAuth 1.0a user context)."""

    name = "x:dms"

    def __init__(self, *, oauth1: OAuth1Keys | None, **kwargs: Any) -> None:
        if oauth1 is None:
            raise ValueError("x:dms: reading DMs needs the four OAuth 1.0a keys")
        super().__init__(oauth1=oauth1, **{**kwargs, "bearer_token": None})

    def _page(self, token: str | None) -> Any:
        return self.client.get_direct_message_events(
            pagination_token=token,
            max_results=self.page_size,
            dm_event_fields=DM_EVENT_FIELDS,
            event_types="MessageCreate",
            expansions="sender_id",
            user_fields=USER_FIELDS,
            user_auth=True,
        )

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        stop = _cursor_id(cursor, "newest_id")
        pending = _cursor_id(cursor, "pending_newest_id")
        saved = (cursor or {}).get("pagination_token")
        token = saved if isinstance(saved, str) and saved and pending else None
        c = _Collector(self.name)
        complete = False
        for number in range(self.max_pages):
            try:
                response = _call(self.name, self._page, token)
            except PermanentSourceError as exc:
                if number or token is None or not isinstance(exc.__cause__, tweepy.BadRequest):
                    raise
                token, pending = None, None  # stale resume token: re-read from the top
                response = _call(self.name, self._page, None)
            c.note_response(response)
            page = _Page(response.content)
            if page.error:
                c.quarantine(page.error, page.raw)
                break
            if pending is None and page.ids():
                pending = str(max(page.ids()))
            complete = self._collect(page, stop, c)
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

    def _collect(self, page: _Page, stop: str | None, c: _Collector) -> bool:
        """Add the page's new events; True once the known newest event is reached."""
        for item in page.items:
            event_id = _int_id(item.get("id")) if isinstance(item, dict) else None
            if stop is not None and event_id is not None and event_id <= int(stop):
                return True
            if not (item_id := _item_id(item, page, c)):
                continue
            if item.get("event_type", "MessageCreate") != "MessageCreate":
                continue
            if item.get("sender_id") == self.user_id:
                continue  # our own outgoing message
            _add(page, item, item_id, "sender_id", c)
        return False
