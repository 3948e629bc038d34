"""A fake of the X API v2 endpoints complaint-monitor uses, with state tests can drive.

Endpoints: ``GET /2/users/{id}/mentions`` (``start_time`` honoured),
``GET /2/users/{id}/tweets``, ``GET /2/users/me``, ``GET /2/dm_events``, ``POST /2/tweets``
and ``POST /2/dm_conversations/with/{participant_id}/messages``; and X's OAuth 2.0
authorization code flow with PKCE: ``GET /i/oauth2/authorize`` (the brand's admin
approves at once) and ``POST /2/oauth2/token`` (code and refresh grants, rotating refresh
tokens), served by the fake authorization server's logic (``tests/fakes/oauth_server``)
with ``state.oauth``. Its access tokens are accepted as the brand's user context. Requests under
``/proxied/...`` are served too, so a path prefix in ``api_base_url`` can be tested.

Like X: results newest first, ``meta`` with ``result_count``/``newest_id``/``oldest_id``/
``next_token`` and no ``data`` key when empty; only the requested fields are returned
(``id``, ``text`` and ``edit_history_tweet_ids`` by default); every response carries
``x-rate-limit-limit``/``-remaining``/``-reset``; errors are ``application/problem+json``
with the spec's Problem types. Two deliberate compatibility choices, checked by
``tests/fakes/test_x_api_spec.py``: the spec (v2.167) calls references
``referenced_posts`` and metrics ``repost_count``/``post_count`` while the live API and
tweepy use ``referenced_tweets``/``retweet_count``/``tweet_count``; the fake sends the
live names and adds the spec's metric names beside them.

Faults (each consumed by the next matching request; ``endpoint`` None matches any):
``fail_next`` (status + rate-limit headers; ``usage_capped=True`` sends X's monthly-cap
problem body with the 429 instead of the rate-limit one), ``delay_next`` (answer late),
``garbage_next`` (200 with a non-JSON body), ``duplicate_pages`` (the next N paged
responses repeat the previous page's items first) and ``duplicate_items``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.fakes.oauth_server import OAuthState, authorize_response, token_response

PROBLEM = "https://api.x.com/2/problems/"
PROXY_PREFIX = "/proxied"
Json = dict[str, Any]


class ApiProblem(Exception):
    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: str) -> None:
        super().__init__(detail)
        self.status = status
        self.body: Json = {"type": PROBLEM + kind, "title": title, "detail": detail}
        self.body.update(status=status, **extra)


@dataclass
class Fault:
    kind: str  # "status" | "delay" | "garbage"
    endpoint: str | None
    status: int = 500
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    after: int = 0  # let this many matching requests through first
    usage_capped: bool = False
    release: threading.Event | None = None  # "delay": answer when set (or after ``seconds``)


@dataclass(frozen=True)
class Recorded:
    endpoint: str
    method: str
    path: str  # as received, prefix included
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class _Entry:
    key: int  # ordering id (the tweet/event id when it has one)
    item: Json
    raw: bool = False  # served exactly as stored (for malformed items)


def _token(key: int) -> str:
    return base64.b32hexencode(f"page:{key}".encode()).decode().rstrip("=").lower()


def _untoken(token: str) -> int:
    try:
        text = base64.b32hexdecode(token.upper() + "=" * (-len(token) % 8)).decode()
        return int(text.removeprefix("page:"))
    except ValueError:
        raise ApiProblem(
            400, "invalid-request", "Invalid Request", "bad pagination_token"
        ) from None


def _created(item: Json) -> datetime:
    return datetime.fromisoformat(str(item.get("created_at", "")).replace("Z", "+00:00"))


def _fields(query: dict[str, str], *names: str) -> set[str]:
    return {f for n in names for f in query.get(n, "").split(",") if f}


class XApiState:
    """Everything the fake knows; tests add users/tweets/DMs and inject faults."""

    base_url = ""  # set by the fixture once the server listens
    brand_id = "1000"
    bearer_token = "test-bearer-token"
    consumer_key, consumer_secret = "test-consumer-key", "test-consumer-secret"
    access_token, access_token_secret = "1000-test-access-token", "test-access-secret"

    oauth_client_id = "x-desk-client"

    def __init__(self) -> None:
        self.lock = threading.RLock()  # handlers call helpers that lock again
        self.oauth = OAuthState()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: dict[str, Json] = {}
            self.tweets: dict[str, Json] = {}
            self.mentions: list[_Entry] = []
            self.dm_events: list[_Entry] = []
            self.posted_tweets: list[Json] = []
            self.sent_dms: list[Json] = []
            self.requests: list[Recorded] = []
            self.faults: list[Fault] = []
            self.duplicate_pages = 0
            self.duplicate_items = False
            self.rate_limit, self.rate_used = 450, 0
            self.rate_reset = int(time.time()) + 900
            self._last_page: list[_Entry] = []
            self._id = 1_790_000_000_000_000_000
            self._clock = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        self.oauth.reset()
        self.oauth.clients[self.oauth_client_id] = None  # a public client (PKCE)
        self.oauth.authorize_as = self.brand_id
        self.add_user("brand", name="The Brand", followers=50_000, user_id=self.brand_id)

    # ----- driving the state -------------------------------------------------------------
    def next_id(self) -> str:
        with self.lock:
            self._id += 4_194_304  # snowflake-like: increasing, 19 digits
            self._clock += timedelta(minutes=1)
            return str(self._id)

    def _stamp(self) -> str:
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def add_user(
        self, username: str, *, name: str | None = None, followers: int = 10, user_id: str = ""
    ) -> str:
        user_id = user_id or self.next_id()
        metrics = {"followers_count": followers, "following_count": 3, "listed_count": 0}
        metrics.update(tweet_count=7, post_count=7, like_count=1, media_count=0)
        user = {"id": user_id, "username": username, "name": name or username.title()}
        self.users[user_id] = {**user, "public_metrics": metrics, "protected": False}
        return user_id

    def add_tweet(
        self, author_id: str, text: str, *, in_reply_to: str | None = None, mention: bool = False
    ) -> str:
        tweet_id = self.next_id()
        parent = self.tweets.get(in_reply_to or "")
        tweet: Json = {"id": tweet_id, "text": text, "author_id": author_id}
        tweet.update(edit_history_tweet_ids=[tweet_id], created_at=self._stamp(), lang="en")
        tweet["conversation_id"] = parent["conversation_id"] if parent else tweet_id
        counts = ("retweet_count", "repost_count", "reply_count", "like_count", "quote_count")
        tweet["public_metrics"] = dict.fromkeys((*counts, "bookmark_count", "impression_count"), 0)
        if in_reply_to:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": in_reply_to}]
            tweet["in_reply_to_user_id"] = parent["author_id"] if parent else self.brand_id
        with self.lock:
            self.tweets[tweet_id] = tweet
            if mention:
                self.mentions.append(_Entry(int(tweet_id), tweet))
        return tweet_id

    def mention(self, author_id: str, text: str, *, in_reply_to: str | None = None) -> str:
        """A post by ``author_id`` that mentions the brand; returns its id."""
        return self.add_tweet(author_id, text, in_reply_to=in_reply_to, mention=True)

    def mention_raw(self, item: Json, *, key: int | None = None) -> None:
        """A mention served exactly as given (to inject malformed items)."""
        with self.lock:
            self.mentions.append(_Entry(key or int(item["id"]), item, raw=True))

    def dm(self, sender_id: str, text: str, *, recipient_id: str | None = None) -> str:
        event_id = self.next_id()
        pair = sorted({sender_id, recipient_id or self.brand_id}, key=int)
        event = {"id": event_id, "event_type": "MessageCreate", "text": text}
        event.update(
            sender_id=sender_id, created_at=self._stamp(), dm_conversation_id="-".join(pair)
        )
        with self.lock:
            self.dm_events.append(_Entry(int(event_id), event))
        return event_id

    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        endpoint: str | None = None,
        after: int = 0,
        reset_at: int | None = None,
        remaining: int = 0,
        usage_capped: bool = False,
    ) -> None:
        headers = {"x-rate-limit-remaining": str(remaining)}
        if reset_at is not None:
            headers["x-rate-limit-reset"] = str(reset_at)
        fault = Fault("status", endpoint, status, headers=headers, after=after)
        self._add_faults(count, replace(fault, usage_capped=usage_capped))

    def delay_next(
        self, seconds: float, *, count: int = 1, endpoint: str | None = None, after: int = 0
    ) -> None:
        self._add_faults(count, Fault("delay", endpoint, seconds=seconds, after=after))

    def hold_next(
        self, *, endpoint: str | None = None, after: int = 0, limit: float = 60.0
    ) -> threading.Event:
        """Hold the next matching request until the returned event is set (at most ``limit``
        seconds): a test decides when it is answered, whatever the machine's speed."""
        release = threading.Event()
        self._add_faults(1, Fault("delay", endpoint, seconds=limit, after=after, release=release))
        return release

    def garbage_next(self, *, count: int = 1, endpoint: str | None = None, after: int = 0) -> None:
        self._add_faults(count, Fault("garbage", endpoint, after=after))

    def _add_faults(self, count: int, fault: Fault) -> None:
        with self.lock:
            self.faults += [
                replace(fault, after=fault.after if i == 0 else 0) for i in range(count)
            ]

    def requests_to(self, endpoint: str) -> list[Recorded]:
        return [r for r in self.requests if r.endpoint == endpoint]

    # ----- serving -----------------------------------------------------------------------
    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.endpoint in (None, endpoint):
                    if fault.after:
                        fault.after -= 1
                        return None
                    return self.faults.pop(i)
        return None

    def rate_headers(self) -> dict[str, str]:
        remaining = max(self.rate_limit - self.rate_used, 0)
        return {
            "x-rate-limit-limit": str(self.rate_limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(self.rate_reset),
        }

    def user_token(self, header: str) -> bool:
        """An OAuth 2.0 user access token issued for the brand account, still valid."""
        found = self.oauth.access.get(header[7:]) if header.startswith("Bearer ") else None
        return found is not None and found.active and found.expires_at > time.time()

    def check_auth(self, header: str, *, user_context: bool) -> None:
        if self.user_token(header):
            return
        if header.startswith("Bearer ") and header[7:] == self.bearer_token:
            if user_context:
                raise ApiProblem(
                    403,
                    "not-authorized-for-resource",
                    "Unsupported Authentication",
                    "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint. Supported: OAuth 1.0a User Context.",
                    resource_type="user",
                )
            return
        oauth = dict(re.findall(r'(\w+)="([^"]*)"', header)) if header.startswith("OAuth ") else {}
        expected = {"oauth_consumer_key": self.consumer_key, "oauth_token": self.access_token}
        if oauth and all(oauth.get(k) == v for k, v in expected.items()):
            return
        raise ApiProblem(
            401, "not-authorized-for-resource", "Unauthorized", "Unauthorized", resource_type="user"
        )

    def _render(self, entry: _Entry, wanted: set[str], default: set[str]) -> Json:
        if entry.raw:
            return entry.item
        return {k: v for k, v in entry.item.items() if k in default | wanted}

    def _user(self, user_id: str, wanted: set[str]) -> Json | None:
        user = self.users.get(user_id)
        keep = {"id", "name", "username"} | wanted
        return {k: v for k, v in user.items() if k in keep} if user else None

    def page(self, entries: list[_Entry], query: dict[str, str], *, tweets: bool) -> Json:
        """One newest-first page of ``entries`` filtered and rendered like X does."""
        low, high = (5, 100) if tweets else (1, 100)
        size = query.get("max_results", "10" if tweets else "100")
        if not size.isdigit() or not low <= int(size) <= high:
            raise ApiProblem(
                400,
                "invalid-request",
                "Invalid Request",
                f"The `max_results` query parameter value [{size}] is not between {low} and {high}",
                parameter="max_results",
                value=size,
            )
        since, until = int(query.get("since_id", "0")), int(query.get("until_id", "0")) or None
        below = _untoken(query["pagination_token"]) if "pagination_token" in query else None
        types = _fields(query, "event_types") or {"MessageCreate"}
        start = query.get("start_time")
        after = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        chosen = sorted(
            (
                e
                for e in entries
                if since < e.key
                and (until is None or e.key < until)
                and (below is None or e.key < below)
                and (tweets or e.raw or e.item.get("event_type") in types)
                and (after is None or e.raw or _created(e.item) >= after)
            ),
            key=lambda e: -e.key,
        )
        page, more = chosen[: int(size)], len(chosen) > int(size)
        served = list(page)
        if self.duplicate_pages and below is not None:
            self.duplicate_pages -= 1
            served = self._last_page + served
        if self.duplicate_items:
            served = [e for e in served for _ in (0, 1)]
        self._last_page = page
        if not served:
            return {"meta": {"result_count": 0}}
        if tweets:
            default, wanted = {"id", "text", "edit_history_tweet_ids"}, "tweet.fields"
        else:
            default, wanted = {"id", "event_type", "text"}, "dm_event.fields"
        data = [self._render(e, _fields(query, wanted, "post.fields"), default) for e in served]
        meta: Json = {"result_count": len(data)}
        if tweets:
            meta.update(newest_id=str(served[0].key), oldest_id=str(min(e.key for e in served)))
        if more:
            meta["next_token"] = _token(page[-1].key)
        body: Json = {"data": data, "meta": meta}
        body["includes"] = self._includes(served, query)
        if not body["includes"]:
            del body["includes"]
        return body

    def _includes(self, served: list[_Entry], query: dict[str, str]) -> Json:
        expansions, user_fields = _fields(query, "expansions"), _fields(query, "user.fields")
        user_ids: list[str] = []
        for key in ("author_id", "sender_id"):
            if key in expansions:
                user_ids += [str(e.item.get(key)) for e in served if e.item.get(key)]
        users = [self._user(u, user_fields) for u in dict.fromkeys(user_ids)]
        includes: Json = {"users": [u for u in users if u]} if any(users) else {}
        if {"referenced_tweets.id", "referenced_posts"} & expansions:
            refs = [r.get("id") for e in served for r in e.item.get("referenced_tweets") or ()]
            found = [self.tweets[r] for r in dict.fromkeys(refs) if r in self.tweets]
            wanted = _fields(query, "tweet.fields", "post.fields")
            default = {"id", "text", "edit_history_tweet_ids"}
            if found:
                includes["tweets"] = [self._render(_Entry(0, t), wanted, default) for t in found]
        return includes

    def create_tweet(self, body: Json) -> Json:
        text = body.get("text")
        target = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if not isinstance(text, str) or not text:
            raise ApiProblem(400, "invalid-request", "Invalid Request", "text is required")
        if target is not None and target not in self.tweets:
            raise ApiProblem(400, "invalid-request", "Invalid Request", "reply target unknown")
        if any(t["text"] == text for t in self.posted_tweets):
            detail = "You are not allowed to create a Tweet with duplicate content."
            raise ApiProblem(403, "disallowed-resource", "Forbidden", detail)
        tweet_id = self.add_tweet(self.brand_id, text, in_reply_to=target)
        self.posted_tweets.append({**self.tweets[tweet_id], "request": body})
        return {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}

    def create_dm(self, participant_id: str, body: Json) -> Json:
        text = body.get("text")
        if not isinstance(text, str) or not text or not participant_id.isdigit():
            raise ApiProblem(400, "invalid-request", "Invalid Request", "text is required")
        event_id = self.dm(self.brand_id, text, recipient_id=participant_id)
        event = next(e.item for e in self.dm_events if e.item["id"] == event_id)
        self.sent_dms.append({**event, "participant_id": participant_id})
        return {
            "data": {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event_id}
        }


def _json(body: Json, status: int, headers: dict[str, str], media: str) -> Response:
    return Response(json.dumps(body), status, headers=headers, media_type=media)


def create_app(state: XApiState) -> FastAPI:
    app = FastAPI(title="fake X API v2", openapi_url=None, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def strip_prefix(request: Request, call_next: Callable[[Request], Any]) -> Any:
        path = request.scope["path"]
        if path.startswith(PROXY_PREFIX + "/"):
            request.scope["path"] = path.removeprefix(PROXY_PREFIX)
        request.state.received_path = path
        return await call_next(request)

    async def serve(
        request: Request, endpoint: str, user_context: bool, build: Callable[[Json], Json]
    ) -> Response:
        raw = await request.body()
        query = dict(request.query_params)
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.state.received_path
        with state.lock:
            state.requests.append(Recorded(endpoint, request.method, path, query, headers, raw))
            state.rate_used += 1
        fault = state.take_fault(endpoint)
        rate = state.rate_headers()
        problem = "application/problem+json"
        if fault and fault.kind == "delay" and fault.release is not None:
            await asyncio.to_thread(fault.release.wait, fault.seconds)
        elif fault and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault and fault.kind == "garbage":
            return Response(b"<html>upstream hiccup", 200, headers=rate, media_type="text/html")
        if fault and fault.kind == "status" and fault.usage_capped:
            capped = {
                "title": "UsageCapExceeded",
                "detail": "Usage cap exceeded: Monthly product cap",
                "type": "https://api.twitter.com/2/problems/usage-capped",
                "period": "Monthly",
                "scope": "Product",
            }
            return _json(capped, 429, {**rate, **fault.headers}, problem)
        if fault and fault.kind == "status":
            titles = {429: "Too Many Requests", 503: "Service Unavailable"}
            title = titles.get(fault.status, "Internal Server Error")
            kind = "resource-unavailable" if fault.status == 429 else "internal-error"
            extra = {"resource_type": "request"} if fault.status == 429 else {}
            failed = ApiProblem(fault.status, kind, title, title, **extra)
            return _json(failed.body, failed.status, {**rate, **fault.headers}, problem)
        try:
            state.check_auth(headers.get("authorization", ""), user_context=user_context)
            with state.lock:
                body = build(json.loads(raw) if raw else {})
        except ApiProblem as err:
            return _json(err.body, err.status, rate, problem)
        except ValueError:
            bad = ApiProblem(400, "invalid-request", "Invalid Request", "body is not JSON")
            return _json(bad.body, bad.status, rate, problem)
        return _json(body, 201 if request.method == "POST" else 200, rate, "application/json")

    def not_found(user_id: str) -> Json:
        detail = f"Could not find user with id: [{user_id}]."
        error = ApiProblem(404, "resource-not-found", "Not Found Error", detail)
        error.body.update(resource_type="user", parameter="id", value=user_id)
        error.body.update(resource_id=user_id)
        del error.body["status"]
        return {"errors": [error.body]}

    @app.get("/i/oauth2/authorize")
    def authorize(request: Request) -> Response:
        return authorize_response(state.oauth, request)

    @app.post("/2/oauth2/token")
    async def token(request: Request) -> Response:
        return await token_response(state.oauth, request)

    @app.get("/2/users/me")
    async def me(request: Request) -> Response:
        def build(_: Json) -> Json:
            return {"data": state._user(state.brand_id, set())}

        return await serve(request, "me", True, build)

    @app.get("/2/users/{user_id}/mentions")
    async def mentions(user_id: str, request: Request) -> Response:
        def build(_: Json) -> Json:
            if user_id not in state.users:
                return not_found(user_id)
            return state.page(state.mentions, dict(request.query_params), tweets=True)

        return await serve(request, "mentions", False, build)

    @app.get("/2/users/{user_id}/tweets")
    async def user_tweets(user_id: str, request: Request) -> Response:
        def build(_: Json) -> Json:
            if user_id not in state.users:
                return not_found(user_id)
            own = [_Entry(int(t["id"]), t) for t in state.tweets.values()]
            own = [e for e in own if e.item["author_id"] == user_id]
            return state.page(own, dict(request.query_params), tweets=True)

        return await serve(request, "user_tweets", False, build)

    @app.get("/2/dm_events")
    async def dm_events(request: Request) -> Response:
        def build(_: Json) -> Json:
            return state.page(state.dm_events, dict(request.query_params), tweets=False)

        return await serve(request, "dm_events", True, build)

    @app.post("/2/tweets")
    async def create_tweet(request: Request) -> Response:
        return await serve(request, "create_tweet", True, state.create_tweet)

    @app.post("/2/dm_conversations/with/{participant_id}/messages")
    async def create_dm(participant_id: str, request: Request) -> Response:
        return await serve(request, "create_dm", True, lambda b: state.create_dm(participant_id, b))

    return app
