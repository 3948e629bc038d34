"""Replies on X: a public reply (``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``)
or a direct message (``POST /2/dm_conversations/with/:participant_id/messages``), with
tweepy, through :mod:`responders.x_client`, as the brand account: OAuth 1.0a user keys,
or the account's OAuth 2.0 user token (``bearer``: called before every request).

Cost
    X bills each post created (more when it contains a URL), each DM sent, and each post
    or DM event read while reconciling. ``record(endpoint, [(resource, id), ...])`` is
    told about each, so the desk's cost meter counts what X bills.

Errors
    429 -> TransientError(retry_after from ``x-rate-limit-reset``); 5xx, timeouts and
    lost connections -> TransientError(maybe_sent=True); 403 "duplicate content" ->
    DuplicateContent (X refuses a tweet identical to one of ours: it may be this very
    reply, sent before a crash; the outbox reconciles rather than calling it success);
    other 400/401/403/404 -> PermanentError.

Reconciliation (:meth:`XResponder.find_sent`)
    A public reply is looked for in our own recent timeline (``GET /2/users/:id/tweets``):
    same text (URLs, HTML entities and leading @mentions normalised, because X rewrites
    them) replying to the same tweet. A DM is looked for in ``GET /2/dm_events``: sent by
    us, same text, in the conversation with the recipient.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from responders.base import (
    Delivery,
    DuplicateContent,
    Outbound,
    PermanentError,
    TransientError,
)
from responders.x_client import DEFAULT_API_BASE_URL, OAuth1Keys, make_client

CHANNELS = ("x", "x_dm")
Record = Callable[[str, list[tuple[str, str]]], None]
_URL = re.compile(r"https?://\S+")
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,50})+\s*")
_SPACE = re.compile(r"\s+")


def comparable(text: str) -> str:
    """Text as X would echo it back, reduced to what survives X's rewriting."""
    text = html.unescape(text)
    text = _LEADING_MENTIONS.sub("", text)
    text = _URL.sub("<url>", text)
    return _SPACE.sub(" ", text).strip()


def _retry_after(response: Any) -> float | None:
    reset = getattr(response, "headers", {}).get("x-rate-limit-reset", "")
    if not str(reset).strip().isdigit():
        return None
    return max(0.0, float(reset) - time.time())


def _call(label: str, request: Callable[..., Any], **kwargs: Any) -> requests.Response:
    """Run one tweepy request, translating vendor errors to the responder hierarchy."""
    try:
        response: requests.Response = request(**kwargs)
        return response
    except tweepy.TooManyRequests as exc:
        raise TransientError(
            f"{label}: X rate limit reached", retry_after=_retry_after(exc.response)
        ) from exc
    except tweepy.Forbidden as exc:
        if "duplicate" in str(exc).lower():
            raise DuplicateContent(f"{label}: X refused a duplicate post: {exc}") from exc
        raise PermanentError(f"{label}: X refused the request: {exc}") from exc
    except (tweepy.BadRequest, tweepy.Unauthorized, tweepy.NotFound) as exc:
        raise PermanentError(f"{label}: X refused the request: {exc}") from exc
    except tweepy.HTTPException as exc:  # 5xx and anything unexpected: it may have happened
        raise TransientError(f"{label}: X answered {exc}", maybe_sent=True) from exc
    except requests.ConnectTimeout as exc:  # never connected: certainly not sent
        raise TransientError(f"{label}: cannot reach X: {exc}") from exc
    except requests.RequestException as exc:  # timeout or connection lost mid-request
        raise TransientError(f"{label}: {type(exc).__name__}: {exc}", maybe_sent=True) from exc


def _json(response: requests.Response, label: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TransientError(f"{label}: X answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise TransientError(f"{label}: X answered an unexpected JSON value")
    return body


def _when(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


class XResponder:
    """Sends public replies and DMs as the brand account ``user_id``."""

    def __init__(
        self,
        *,
        user_id: str,
        oauth1: OAuth1Keys | None = None,
        bearer: Callable[[], str] | None = None,
        api_base_url: str = DEFAULT_API_BASE_URL,
        timeout: float = 15.0,
        lookup_pages: int = 3,
        record: Record | None = None,
    ) -> None:
        if oauth1 is None and bearer is None:
            raise ValueError("the X responder needs OAuth 1.0a keys or the OAuth 2.0 user token")
        self.user_id = user_id
        self.lookup_pages = lookup_pages
        self._bearer = bearer
        self._record: Record = record or (lambda endpoint, resources: None)
        self.user_auth = bearer is None
        self.client = make_client(
            bearer_token="(set per request)" if bearer else None,
            oauth1=None if bearer else oauth1,
            api_base_url=api_base_url,
            timeout=timeout,
        )

    def _request(self, label: str, request: Callable[..., Any], **kwargs: Any) -> Any:
        if self._bearer is not None:
            self.client.bearer_token = self._bearer()
        return _call(label, request, user_auth=self.user_auth, **kwargs)

    # --- sending ---------------------------------------------------------------------
    def send(self, outbound: Outbound) -> Delivery:
        if outbound.channel == "x":
            return self._reply(outbound)
        if outbound.channel == "x_dm":
            return self._dm(outbound)
        raise PermanentError(f"the X responder cannot send on channel {outbound.channel!r}")

    def _reply(self, outbound: Outbound) -> Delivery:
        if not outbound.in_reply_to:
            raise PermanentError("a public reply on X needs the id of the post it answers")
        response = self._request(
            "reply",
            self.client.create_tweet,
            text=outbound.body,
            in_reply_to_tweet_id=outbound.in_reply_to,
        )
        data = _json(response, "reply").get("data") or {}
        tweet_id = str(data.get("id") or "")
        if not tweet_id.isdigit():
            raise TransientError("reply: X answered without a tweet id", maybe_sent=True)
        kind = "post_create_url" if _URL.search(outbound.body) else "post_create"
        self._record("POST /2/tweets", [(kind, tweet_id)])
        return Delivery(tweet_id, datetime.now(UTC), {"kind": "tweet"})

    def _dm(self, outbound: Outbound) -> Delivery:
        if not outbound.recipient.isdigit():
            raise PermanentError(f"a DM on X needs a numeric user id, not {outbound.recipient!r}")
        response = self._request(
            "dm",
            self.client.create_direct_message,
            participant_id=outbound.recipient,
            text=outbound.body,
        )
        data = _json(response, "dm").get("data") or {}
        event_id = str(data.get("dm_event_id") or "")
        if not event_id:
            raise TransientError("dm: X answered without a DM event id", maybe_sent=True)
        self._record("POST /2/dm_conversations/with/:id/messages", [("dm_create", event_id)])
        detail = {"kind": "dm", "dm_conversation_id": str(data.get("dm_conversation_id", ""))}
        return Delivery(event_id, datetime.now(UTC), detail)

    # --- reconciliation --------------------------------------------------------------
    def find_sent(self, outbound: Outbound) -> Delivery | None:
        wanted = comparable(outbound.body)
        if outbound.channel == "x":
            for tweet in self._pages(
                "timeline",
                self.client.get_users_tweets,
                id=self.user_id,
                tweet_fields=["created_at", "referenced_tweets"],
                max_results=100,
            ):
                refs = tweet.get("referenced_tweets") or []
                answers = any(
                    r.get("type") == "replied_to" and r.get("id") == outbound.in_reply_to
                    for r in refs
                )
                if answers and comparable(str(tweet.get("text", ""))) == wanted:
                    when = _when(tweet.get("created_at"))
                    return Delivery(str(tweet["id"]), when, {"kind": "tweet", "found": "timeline"})
            return None
        if outbound.channel == "x_dm":
            for event in self._pages(
                "dm_events",
                self.client.get_direct_message_events,
                dm_event_fields=["id", "text", "created_at", "sender_id", "dm_conversation_id"],
                event_types="MessageCreate",
                max_results=100,
            ):
                conversation = str(event.get("dm_conversation_id", "")).split("-")
                if (
                    str(event.get("sender_id")) == self.user_id
                    and outbound.recipient in conversation
                    and comparable(str(event.get("text", ""))) == wanted
                ):
                    when = _when(event.get("created_at"))
                    return Delivery(str(event["id"]), when, {"kind": "dm", "found": "dm_events"})
            return None
        raise PermanentError(f"the X responder cannot look up channel {outbound.channel!r}")

    def _pages(
        self, label: str, request: Callable[..., Any], **kwargs: Any
    ) -> Iterator[dict[str, Any]]:
        token: str | None = None
        for _ in range(self.lookup_pages):
            params = dict(kwargs, pagination_token=token) if token else kwargs
            body = _json(self._request(label, request, **params), label)
            items = [i for i in body.get("data") or [] if isinstance(i, dict)]
            kind = "dm_event" if label == "dm_events" else "post"
            self._record(f"GET {label}", [(kind, str(i.get("id"))) for i in items if i.get("id")])
            yield from items
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return
