"""The X sources, driven through the real tweepy client against the fake X API."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.config import TwitterSourceSettings
from monitor.mentions import Channel, IdentityKind
from monitor.sources.base import (
    Batch,
    PermanentSourceError,
    RateLimited,
    Source,
    TransientSourceError,
)
from monitor.sources.twitter import (
    BaseUrlAdapter,
    OAuth1Keys,
    XDirectMessagesSource,
    XMentionsSource,
    mentions_from_page,
)
from tests.fakes.x_api import PROXY_PREFIX, XApiState

NOW = datetime(2024, 5, 2, tzinfo=UTC)


def mentions_source(x_api: XApiState, **kwargs: Any) -> XMentionsSource:
    options: dict[str, Any] = {
        "user_id": x_api.brand_id,
        "bearer_token": x_api.bearer_token,
        "api_base_url": x_api.base_url,
        "timeout": 0.5,
    }
    return XMentionsSource(**{**options, **kwargs})


def oauth1(x_api: XApiState) -> OAuth1Keys:
    return OAuth1Keys(
        x_api.consumer_key, x_api.consumer_secret, x_api.access_token, x_api.access_token_secret
    )


def dm_source(x_api: XApiState, **kwargs: Any) -> XDirectMessagesSource:
    options = {"user_id": x_api.brand_id, "oauth1": oauth1(x_api), "api_base_url": x_api.base_url}
    return XDirectMessagesSource(**{**options, "timeout": 0.5, **kwargs})


def ids(batch: Batch) -> list[str]:
    return [m.external_id for m in batch.mentions]


def customer_mentions(x_api: XApiState, count: int, username: str = "carol") -> list[str]:
    author = x_api.add_user(username)
    return [x_api.mention(author, f"@brand complaint number {i}") for i in range(count)]


def test_sources_satisfy_the_protocol(x_api: XApiState) -> None:
    sources: list[Source] = [mentions_source(x_api), dm_source(x_api)]
    assert [s.name for s in sources] == ["x:mentions", "x:dms"]


def test_pages_through_next_token_then_cursor_is_first_pages_newest_id(x_api: XApiState) -> None:
    posted = customer_mentions(x_api, 250)
    source = mentions_source(x_api)

    batch = source.fetch(None, now=NOW)

    assert ids(batch) == posted  # every page, oldest first, nothing twice
    assert batch.next_cursor == {"since_id": posted[-1]}
    calls = x_api.requests_to("mentions")
    assert len(calls) == 3
    assert "pagination_token" not in calls[0].query and "since_id" not in calls[0].query
    assert all(c.query["pagination_token"] for c in calls[1:])
    assert calls[0].query["max_results"] == "100"
    assert calls[0].query["expansions"] == "author_id"  # referenced posts would be billed
    assert batch.rate_limit_remaining == x_api.rate_limit - 3
    assert batch.rate_limit_reset_at == datetime.fromtimestamp(x_api.rate_reset, UTC)

    newer = customer_mentions(x_api, 2, "dave")
    again = source.fetch(batch.next_cursor, now=NOW)
    assert ids(again) == newer
    assert x_api.requests_to("mentions")[-1].query["since_id"] == posted[-1]
    assert again.next_cursor == {"since_id": newer[-1]}


def test_mention_is_normalised_with_author_thread_and_raw(x_api: XApiState) -> None:
    alice = x_api.add_user("alice", name="Alice A.", followers=1234)
    root = x_api.mention(alice, "@brand my order never arrived")
    reply_id = x_api.mention(alice, "@brand @support still waiting, 3rd time", in_reply_to=root)

    batch = mentions_source(x_api).fetch(None, now=NOW)

    reply = next(m for m in batch.mentions if m.external_id == reply_id)
    assert reply.channel is Channel.X and reply.public
    assert reply.author.kind is IdentityKind.X
    assert (reply.author.handle, reply.author.username) == (alice, "alice")
    assert (reply.author.name, reply.author.followers) == ("Alice A.", 1234)
    assert reply.text == "@brand @support still waiting, 3rd time"
    assert reply.text_for_scoring == "still waiting, 3rd time"
    assert reply.created_at.tzinfo is not None and reply.created_at.utcoffset() == UTC.utcoffset(
        None
    )
    assert reply.created_at == datetime(2024, 5, 1, 12, 3, tzinfo=UTC)
    assert reply.in_reply_to == root
    assert reply.thread_refs == (root,)
    raw = json.loads(reply.raw)
    assert raw["data"]["id"] == reply_id
    assert raw["includes"]["users"][0]["username"] == "alice"
    assert "tweets" not in raw["includes"]  # not expanded: each would be a billed read


def test_empty_poll_keeps_the_cursor(x_api: XApiState) -> None:
    source = mentions_source(x_api)
    assert source.fetch(None, now=NOW).next_cursor == {}

    cursor = {"since_id": "1790000000000000001"}
    batch = source.fetch(cursor, now=NOW)

    assert batch.mentions == [] and batch.quarantined == []
    assert batch.next_cursor == cursor


def test_429_is_rate_limited_until_the_reset_header(x_api: XApiState) -> None:
    customer_mentions(x_api, 3)
    reset = int(time.time()) + 600
    x_api.fail_next(429, reset_at=reset, remaining=0)

    with pytest.raises(RateLimited) as caught:
        mentions_source(x_api).fetch(None, now=NOW)

    assert caught.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert isinstance(caught.value, TransientSourceError)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(x_api: XApiState, status: int) -> None:
    customer_mentions(x_api, 3)
    x_api.fail_next(status)

    with pytest.raises(TransientSourceError) as caught:
        mentions_source(x_api).fetch(None, now=NOW)
    assert not isinstance(caught.value, RateLimited)

    assert len(mentions_source(x_api).fetch(None, now=NOW).mentions) == 3  # next poll recovers


def test_a_server_error_on_a_later_page_fails_the_whole_poll(x_api: XApiState) -> None:
    customer_mentions(x_api, 12)
    x_api.fail_next(500, endpoint="mentions", after=1)  # page 1 succeeds, page 2 fails
    source = mentions_source(x_api, page_size=5)

    with pytest.raises(TransientSourceError):
        source.fetch(None, now=NOW)

    assert len(x_api.requests_to("mentions")) == 2
    assert len(source.fetch(None, now=NOW).mentions) == 12


def test_timeout_is_transient_and_bounded_by_the_client_timeout(x_api: XApiState) -> None:
    customer_mentions(x_api, 2)
    x_api.delay_next(3.0)
    source = mentions_source(x_api, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TransientSourceError, match="Timeout"):
        source.fetch(None, now=NOW)
    assert time.monotonic() - started < 2.5

    assert len(source.fetch(None, now=NOW).mentions) == 2


def test_connection_refused_is_transient(x_api: XApiState) -> None:
    source = mentions_source(x_api, api_base_url="http://127.0.0.1:9")
    with pytest.raises(TransientSourceError):
        source.fetch(None, now=NOW)


def test_bad_credentials_are_permanent(x_api: XApiState) -> None:
    with pytest.raises(PermanentSourceError, match="401"):
        mentions_source(x_api, bearer_token="wrong").fetch(None, now=NOW)
    wrong = OAuth1Keys(x_api.consumer_key, x_api.consumer_secret, "1000-other", "s")
    with pytest.raises(PermanentSourceError, match="401"):
        dm_source(x_api, oauth1=wrong).fetch(None, now=NOW)
    x_api.fail_next(403)
    with pytest.raises(PermanentSourceError, match="403"):
        mentions_source(x_api).fetch(None, now=NOW)


def test_unknown_user_is_permanent(x_api: XApiState) -> None:
    with pytest.raises(PermanentSourceError, match="Could not find user"):
        mentions_source(x_api, user_id="999").fetch(None, now=NOW)


def test_duplicated_pages_and_items_yield_each_mention_once(x_api: XApiState) -> None:
    posted = customer_mentions(x_api, 14)
    x_api.duplicate_pages = 2  # pages 2 and 3 repeat the previous page first
    x_api.duplicate_items = True  # and every item appears twice in its page

    batch = mentions_source(x_api, page_size=5).fetch(None, now=NOW)

    assert ids(batch) == posted
    assert batch.quarantined == []
    assert batch.next_cursor == {"since_id": posted[-1]}


def test_malformed_items_are_quarantined_and_the_rest_go_through(x_api: XApiState) -> None:
    bob = x_api.add_user("bob")
    before = x_api.mention(bob, "@brand first")
    no_text, bad_date, no_author = x_api.next_id(), x_api.next_id(), x_api.next_id()
    x_api.mention_raw({"id": no_text, "author_id": bob, "created_at": "2024-05-01T12:00:00Z"})
    x_api.mention_raw(
        {"id": bad_date, "text": "@brand hi", "author_id": bob, "created_at": "yesterday"}
    )
    x_api.mention_raw({"id": no_author, "text": "@brand who am I", "created_at": "2024-05-01"})
    x_api.mention_raw({"text": "@brand I have no id"}, key=int(x_api.next_id()))
    after = x_api.mention(bob, "@brand last")

    batch = mentions_source(x_api).fetch(None, now=NOW)

    assert ids(batch) == [before, after]
    reasons = {q.external_id: q.reason for q in batch.quarantined}
    assert set(reasons) == {no_text, bad_date, no_author, None}
    assert "text" in reasons[no_text]
    assert "yesterday" in reasons[bad_date]
    assert "author_id" in reasons[no_author]
    assert "id" in reasons[None]
    for q in batch.quarantined:
        assert q.source == "x:mentions"
        assert json.loads(q.raw)["data"]["text" if q.external_id != no_text else "id"]
    assert batch.next_cursor == {"since_id": after}


def test_a_page_that_is_not_json_is_quarantined_and_nothing_is_skipped(
    x_api: XApiState,
) -> None:
    posted = customer_mentions(x_api, 12)
    source = mentions_source(x_api, page_size=5)
    x_api.garbage_next(endpoint="mentions", after=1)  # page 2 is garbage

    first = source.fetch(None, now=NOW)

    assert ids(first) == posted[-5:]
    assert [q.raw for q in first.quarantined] == [b"<html>upstream hiccup"]
    assert "not JSON" in first.quarantined[0].reason
    assert first.next_cursor == {"until_id": posted[-5], "newest_id": posted[-1]}
    second = source.fetch(first.next_cursor, now=NOW)
    assert ids(second) == posted[:-5]
    assert second.next_cursor == {"since_id": posted[-1]}

    x_api.garbage_next()  # a garbage first page: nothing learnt, cursor unchanged
    third = source.fetch(second.next_cursor, now=NOW)
    assert third.mentions == [] and len(third.quarantined) == 1
    assert third.next_cursor == second.next_cursor


def test_max_pages_continues_from_the_oldest_id_and_loses_nothing(x_api: XApiState) -> None:
    old = customer_mentions(x_api, 3, "erin")
    source = mentions_source(x_api, page_size=5, max_pages=2)
    start = source.fetch(None, now=NOW).next_cursor
    assert start == {"since_id": old[-1]}
    backlog = customer_mentions(x_api, 23, "frank")

    seen: list[str] = []
    first = source.fetch(start, now=NOW)  # 10 newest of the backlog
    seen += ids(first)
    assert ids(first) == backlog[-10:]
    assert first.next_cursor == {
        "since_id": old[-1],
        "until_id": backlog[-10],
        "newest_id": backlog[-1],
    }
    arriving = customer_mentions(x_api, 3, "gina")  # new mentions while draining
    cursor = first.next_cursor
    for _ in range(10):
        batch = source.fetch(cursor, now=NOW)
        seen += ids(batch)
        cursor = batch.next_cursor
        if not batch.mentions:
            break

    assert sorted(seen, key=int) == backlog + arriving
    assert len(seen) == len(set(seen))
    assert cursor == {"since_id": arriving[-1]}
    since_ids = [r.query.get("since_id") for r in x_api.requests_to("mentions")[1:]]
    assert set(since_ids) >= {old[-1], backlog[-1]}


def test_api_base_url_with_a_path_prefix_is_honoured(x_api: XApiState) -> None:
    customer_mentions(x_api, 1)
    source = mentions_source(x_api, api_base_url=x_api.base_url + PROXY_PREFIX + "/")

    assert len(source.fetch(None, now=NOW).mentions) == 1

    (call,) = x_api.requests_to("mentions")
    assert call.path == f"{PROXY_PREFIX}/2/users/{x_api.brand_id}/mentions"
    assert call.headers["host"] == x_api.base_url.removeprefix("http://")
    assert call.headers["authorization"] == f"Bearer {x_api.bearer_token}"


def test_adapter_rewrites_scheme_host_port_and_prefix() -> None:
    adapter = BaseUrlAdapter("http://127.0.0.1:8080/x/", timeout=1)
    assert (
        adapter.rewrite("https://api.twitter.com/2/users/1/mentions?since_id=5")
        == "http://127.0.0.1:8080/x/2/users/1/mentions?since_id=5"
    )
    with pytest.raises(ValueError):
        BaseUrlAdapter("api.x.com", timeout=1)


def test_from_settings_builds_working_sources(x_api: XApiState) -> None:
    settings = TwitterSourceSettings(
        enabled=True,
        user_id=x_api.brand_id,
        consumer_key_env="CK",
        consumer_secret_env="CS",
        access_token_env="AT",
        access_token_secret_env="ATS",
        poll_dms=True,
        api_base_url=x_api.base_url,
        timeout_seconds=0.5,
        max_pages=3,
    )
    env = {
        "X_BEARER_TOKEN": x_api.bearer_token,
        "CK": x_api.consumer_key,
        "CS": x_api.consumer_secret,
        "AT": x_api.access_token,
        "ATS": x_api.access_token_secret,
    }
    customer_mentions(x_api, 1)
    x_api.dm(x_api.add_user("hana"), "hello?")

    mentions = XMentionsSource.from_settings(settings, lambda name: env.get(name or ""))
    dms = XDirectMessagesSource.from_settings(settings, lambda name: env.get(name or ""))

    assert (mentions.max_pages, len(mentions.fetch(None, now=NOW).mentions)) == (3, 1)
    assert len(dms.fetch(None, now=NOW).mentions) == 1
    with pytest.raises(ValueError, match="OAuth"):
        XDirectMessagesSource.from_settings(settings, lambda name: env.get(name or "", "")[:0])


def test_dms_skip_our_own_messages_and_stop_at_the_known_newest(x_api: XApiState) -> None:
    ivan = x_api.add_user("ivan", followers=5)
    asked = x_api.dm(ivan, "where is my refund?")
    x_api.dm(x_api.brand_id, "Sorry Ivan, checking now", recipient_id=ivan)
    again = x_api.dm(ivan, "still nothing")
    source = dm_source(x_api)

    first = source.fetch(None, now=NOW)

    assert ids(first) == [asked, again]
    message = first.mentions[0]
    assert message.channel is Channel.X_DM and not message.public
    assert (message.author.handle, message.author.username) == (ivan, "ivan")
    assert message.thread_refs == (f"{x_api.brand_id}-{ivan}",)
    assert first.next_cursor == {"newest_id": again}
    call = x_api.requests_to("dm_events")[0]
    assert call.headers["authorization"].startswith("OAuth ")
    assert call.query["event_types"] == "MessageCreate"

    reply = x_api.dm(x_api.brand_id, "Refund issued", recipient_id=ivan)
    thanks = x_api.dm(ivan, "thanks!")
    second = source.fetch(first.next_cursor, now=NOW)
    assert ids(second) == [thanks]
    assert second.next_cursor == {"newest_id": thanks}
    assert reply not in ids(second)

    assert source.fetch(second.next_cursor, now=NOW).next_cursor == second.next_cursor


def test_dms_max_pages_resume_and_stale_token_restart(x_api: XApiState) -> None:
    jo = x_api.add_user("jo")
    known = x_api.dm(jo, "old message")
    source = dm_source(x_api, page_size=3, max_pages=2)
    cursor = source.fetch(None, now=NOW).next_cursor
    sent = [x_api.dm(jo, f"message {i}") for i in range(10)]

    first = source.fetch(cursor, now=NOW)
    assert ids(first) == sent[-6:]
    assert first.next_cursor["newest_id"] == known
    assert first.next_cursor["pending_newest_id"] == sent[-1]
    later = x_api.dm(jo, "arrived meanwhile")
    second = source.fetch(first.next_cursor, now=NOW)
    assert ids(second) == sent[:4]
    assert second.next_cursor == {"newest_id": sent[-1]}
    third = source.fetch(second.next_cursor, now=NOW)
    assert ids(third) == [later]

    stale = {"newest_id": known, "pending_newest_id": sent[-1], "pagination_token": "x" * 20}
    restarted = dm_source(x_api, max_pages=5).fetch(stale, now=NOW)
    assert ids(restarted) == [*sent, later]
    assert restarted.next_cursor == {"newest_id": later}


def test_dms_need_user_context_credentials(x_api: XApiState) -> None:
    with pytest.raises(ValueError, match="OAuth"):
        XDirectMessagesSource(user_id=x_api.brand_id, oauth1=None, api_base_url=x_api.base_url)


def test_corrupt_cursor_is_permanent(x_api: XApiState) -> None:
    with pytest.raises(PermanentSourceError, match="cursor"):
        mentions_source(x_api).fetch({"since_id": "abc"}, now=NOW)


def test_a_saved_page_with_nan_and_huge_integers_is_still_read() -> None:
    # Not strict JSON, but the standard library reads it and a vendor might send it;
    # the fast parser refuses it, so parsing must fall back rather than quarantine.
    page = (
        b'{"data": [{"id": "1860000000000000001", "author_id": "42", "text": "@acme hi",'
        b' "created_at": "2026-11-01T10:00:00.000Z", "score": NaN,'
        b' "big": 123456789012345678901234567890}],'
        b' "includes": {"users": [{"id": "42", "username": "pat", "name": "Pat"}]}}'
    )
    mentions, bad = mentions_from_page(page, source="import")
    assert bad == []
    assert [m.external_id for m in mentions] == ["1860000000000000001"]
    assert mentions[0].author.username == "pat"
    assert b"123456789012345678901234567890" in mentions[0].raw
