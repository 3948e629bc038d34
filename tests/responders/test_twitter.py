"""The X responder: real tweepy against the fake X API (reply, DM, errors, look-up)."""

from __future__ import annotations

import time

import pytest

from responders.base import DuplicateContent, Outbound, PermanentError, TransientError
from responders.twitter import XResponder, comparable
from responders.x_client import OAuth1Keys
from tests.fakes.x_api import XApiState


def responder(x_api: XApiState, **kw: object) -> XResponder:
    keys = OAuth1Keys(
        x_api.consumer_key, x_api.consumer_secret, x_api.access_token, x_api.access_token_secret
    )
    return XResponder(
        user_id=x_api.brand_id, oauth1=keys, api_base_url=x_api.base_url, timeout=5, **kw
    )


def reply_to(x_api: XApiState, text: str = "Dan, your order 4411 ships today.") -> Outbound:
    dan = x_api.add_user("devdan")
    tweet = x_api.mention(dan, "@brand order 4411 never arrived")
    return Outbound(channel="x", body=text, recipient=dan, in_reply_to=tweet, idempotency_key="k1")


def test_public_reply_threads_under_the_customer_post(x_api: XApiState) -> None:
    out = reply_to(x_api)
    delivery = responder(x_api).send(out)
    assert [t["id"] for t in x_api.posted_tweets] == [delivery.external_id]
    posted = x_api.posted_tweets[0]
    expected = {"text": out.body, "reply": {"in_reply_to_tweet_id": out.in_reply_to}}
    assert posted["request"] == expected
    assert posted["referenced_tweets"] == [{"type": "replied_to", "id": out.in_reply_to}]
    auth = x_api.requests_to("create_tweet")[0].headers["authorization"]
    assert auth.startswith("OAuth ")  # user context, as X requires for posting


def test_dm_goes_to_the_participant(x_api: XApiState) -> None:
    dan = x_api.add_user("devdan")
    out = Outbound(
        channel="x_dm", body="Dan, here is the refund link.", recipient=dan, idempotency_key="k2"
    )
    delivery = responder(x_api).send(out)
    assert x_api.sent_dms[0]["participant_id"] == dan
    assert x_api.sent_dms[0]["id"] == delivery.external_id
    assert x_api.requests_to("create_dm")[0].path == f"/2/dm_conversations/with/{dan}/messages"


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limit_and_outage_are_transient(x_api: XApiState, status: int) -> None:
    out = reply_to(x_api)
    x_api.fail_next(status, endpoint="create_tweet", reset_at=int(time.time()) + 120)
    with pytest.raises(TransientError) as info:
        responder(x_api).send(out)
    if status == 429:
        assert info.value.retry_after is not None and 100 < info.value.retry_after <= 121
        assert not info.value.maybe_sent
    else:
        assert info.value.maybe_sent  # a 5xx may have posted it
    assert responder(x_api).send(out).external_id  # and the next try goes through


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_refusals_are_permanent(x_api: XApiState, status: int) -> None:
    out = reply_to(x_api)
    x_api.fail_next(status, endpoint="create_tweet")
    with pytest.raises(PermanentError):
        responder(x_api).send(out)


def test_duplicate_content_is_a_hint_and_find_sent_finds_the_reply(x_api: XApiState) -> None:
    out = reply_to(x_api, "Dan, order 4411 ships today: https://example.com/track?id=4411")
    r = responder(x_api)
    first = r.send(out)
    with pytest.raises(DuplicateContent):
        r.send(out)
    found = r.find_sent(out)
    assert found is not None and found.external_id == first.external_id
    other = Outbound(
        channel="x", body=out.body, recipient=out.recipient, in_reply_to="1", idempotency_key="k3"
    )
    assert r.find_sent(other) is None  # same text, different target: not ours


def test_find_sent_dm(x_api: XApiState) -> None:
    dan = x_api.add_user("devdan")
    out = Outbound(
        channel="x_dm", body="Sorry Dan, refund is on its way.", recipient=dan, idempotency_key="k4"
    )
    r = responder(x_api)
    assert r.find_sent(out) is None
    sent = r.send(out)
    found = r.find_sent(out)
    assert found is not None and found.external_id == sent.external_id


def test_comparable_ignores_what_x_rewrites() -> None:
    assert comparable("@devdan Fish &amp; chips https://t.co/abc") == comparable(
        "Fish & chips https://example.com/long"
    )
