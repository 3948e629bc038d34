"""The fake X API answers in the shapes X's OpenAPI spec describes, errors included."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

import pytest
import requests
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from monitor.sources.twitter import OAuth1Keys, make_client
from tests.fakes.x_api import XApiState
from tests.paths import SPECS
from tests.support import missing_service

SPEC_PATH = SPECS / "x-api-v2-openapi.json"
SPEC_URI = "urn:x-api-v2-openapi"
# Live X (and tweepy) names the spec (v2.167) spells differently; the fake uses the live ones.
LIVE_NAMES = {"referenced_tweets", "edit_history_tweet_ids", "retweet_count", "tweet_count"}


@cache
def load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return spec


@pytest.fixture
def spec() -> dict[str, Any]:
    if not SPEC_PATH.exists():
        missing_service(f"X API spec not found at {SPEC_PATH}")
    return load_spec()


def validator(spec: dict[str, Any], ref: str) -> Draft7Validator:
    resource = Resource.from_contents(spec, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return Draft7Validator({"$ref": SPEC_URI + ref}, registry=registry)


def check(spec: dict[str, Any], template: str, method: str, response: Any) -> Any:
    """Validate a live response against the spec's schema for its status and media type."""
    responses = spec["paths"][template][method]["responses"]
    entry = responses.get(str(response.status_code)) or responses["default"]
    media = response.headers["content-type"].split(";")[0]
    ref = entry["content"][media]["schema"]["$ref"]
    body = response.json()
    errors = sorted(validator(spec, ref).iter_errors(body), key=str)
    assert not errors, f"{template} {response.status_code}: {errors[0].message}"
    for name in ("limit", "remaining", "reset"):
        assert response.headers[f"x-rate-limit-{name}"].isdigit()
    return body


def undeclared(spec: dict[str, Any], schema: str, obj: dict[str, Any]) -> set[str]:
    declared = spec["components"]["schemas"][schema]["properties"]
    return set(obj) - set(declared) - LIVE_NAMES


def get(x_api: XApiState, path: str, auth: str | None = "bearer", **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {x_api.bearer_token}"} if auth == "bearer" else {}
    return requests.get(x_api.base_url + path, params=params, headers=headers, timeout=5)


MENTION_QUERY = {
    "expansions": "author_id,referenced_tweets.id",
    "tweet.fields": "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,"
    "public_metrics,author_id",
    "user.fields": "username,name,public_metrics",
}


def seed(x_api: XApiState) -> tuple[str, list[str]]:
    kim = x_api.add_user("kim", followers=42)
    root = x_api.mention(kim, "@brand hello")
    return kim, [root] + [
        x_api.mention(kim, f"@brand again {i}", in_reply_to=root) for i in range(7)
    ]


def test_mentions_pages_match_the_spec(x_api: XApiState, spec: dict[str, Any]) -> None:
    _, posted = seed(x_api)
    template = "/2/users/{id}/mentions"
    path = f"/2/users/{x_api.brand_id}/mentions"

    first = check(spec, template, "get", get(x_api, path, max_results=5, **MENTION_QUERY))
    token = first["meta"]["next_token"]
    last = check(
        spec,
        template,
        "get",
        get(x_api, path, max_results=5, pagination_token=token, **MENTION_QUERY),
    )
    empty = check(spec, template, "get", get(x_api, path, since_id=posted[-1]))

    assert first["meta"] == {
        "result_count": 5,
        "newest_id": posted[-1],
        "oldest_id": posted[-5],
        "next_token": token,
    }
    assert "next_token" not in last["meta"] and last["meta"]["result_count"] == 3
    assert empty == {"meta": {"result_count": 0}}
    for tweet in first["data"]:
        assert undeclared(spec, "Post", tweet) == set()
    for user in first["includes"]["users"]:
        assert undeclared(spec, "User", user) == set()
    plain = get(x_api, path, max_results=5).json()["data"][0]
    assert set(plain) == {"id", "text", "edit_history_tweet_ids"}  # only requested fields


def test_user_tweets_and_dm_events_match_the_spec(x_api: XApiState, spec: dict[str, Any]) -> None:
    kim, _ = seed(x_api)
    x_api.dm(kim, "a private complaint")
    client = make_client(
        bearer_token=None,
        oauth1=OAuth1Keys(
            x_api.consumer_key, x_api.consumer_secret, x_api.access_token, x_api.access_token_secret
        ),
        api_base_url=x_api.base_url,
        timeout=5,
    )

    tweets = get(x_api, f"/2/users/{kim}/tweets", max_results=5)
    body = check(spec, "/2/users/{id}/tweets", "get", tweets)
    assert body["meta"]["result_count"] == 5
    events = client.get_direct_message_events(
        dm_event_fields="id,text,event_type,created_at,sender_id,dm_conversation_id",
        event_types="MessageCreate",
        expansions="sender_id",
        user_fields="username,name,public_metrics",
        user_auth=True,
    )
    dm_body = check(spec, "/2/dm_events", "get", events)
    assert dm_body["data"][0]["sender_id"] == kim
    assert undeclared(spec, "DmEvent", dm_body["data"][0]) == set()


def test_posting_replies_and_dms_match_the_spec(x_api: XApiState, spec: dict[str, Any]) -> None:
    kim, posted = seed(x_api)
    keys = OAuth1Keys(
        x_api.consumer_key, x_api.consumer_secret, x_api.access_token, x_api.access_token_secret
    )
    client = make_client(bearer_token=None, oauth1=keys, api_base_url=x_api.base_url, timeout=5)

    reply = client.create_tweet(text="Sorry Kim, fixing it today", in_reply_to_tweet_id=posted[0])
    dm = client.create_direct_message(participant_id=kim, text="Here is your refund link")

    tweet = check(spec, "/2/tweets", "post", reply)["data"]
    check(spec, "/2/dm_conversations/with/{participant_id}/messages", "post", dm)
    assert x_api.posted_tweets[0]["id"] == tweet["id"]
    assert x_api.posted_tweets[0]["referenced_tweets"] == [{"type": "replied_to", "id": posted[0]}]
    assert x_api.sent_dms[0]["participant_id"] == kim
    timeline = get(x_api, f"/2/users/{x_api.brand_id}/tweets", max_results=5).json()
    assert timeline["data"][0]["id"] == tweet["id"]
    for call, schema in (
        (x_api.requests_to("create_tweet")[0], "CreatePostsRequest"),
        (x_api.requests_to("create_dm")[0], "CreateDirectMessagesByParticipantIdRequest"),
    ):
        request_errors = list(
            validator(spec, f"#/components/schemas/{schema}").iter_errors(json.loads(call.body))
        )
        assert not request_errors, request_errors[0].message


@pytest.mark.parametrize(
    ("setup", "path", "auth", "status"),
    [
        (None, "/2/users/1000/mentions", None, 401),
        (None, "/2/users/1000/mentions", "bad", 401),
        (None, "/2/dm_events", "bearer", 403),
        (None, "/2/users/1000/mentions?max_results=500", "bearer", 400),
        ((429,), "/2/users/1000/mentions", "bearer", 429),
        ((500,), "/2/users/1000/mentions", "bearer", 500),
        ((503,), "/2/dm_events", "bearer", 503),
    ],
)
def test_errors_are_problems_from_the_spec(
    x_api: XApiState,
    spec: dict[str, Any],
    setup: tuple[int] | None,
    path: str,
    auth: str | None,
    status: int,
) -> None:
    if setup:
        x_api.fail_next(setup[0], reset_at=int(time.time()) + 60)
    headers = {"Authorization": "Bearer nope"} if auth == "bad" else {}
    if auth == "bearer":
        headers = {"Authorization": f"Bearer {x_api.bearer_token}"}
    response = requests.get(x_api.base_url + path, headers=headers, timeout=5)

    template = "/2/dm_events" if path.startswith("/2/dm_events") else "/2/users/{id}/mentions"
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body = check(spec, template, "get", response)
    assert body["status"] == status and body["title"]


def test_unknown_user_is_a_resource_not_found_error(x_api: XApiState, spec: dict[str, Any]) -> None:
    body = check(spec, "/2/users/{id}/mentions", "get", get(x_api, "/2/users/999/mentions"))
    assert "data" not in body
    assert body["errors"][0]["type"].endswith("/resource-not-found")


def test_the_monthly_cap_answer_is_a_spec_problem_distinct_from_a_rate_limit(
    x_api: XApiState, spec: dict[str, Any]
) -> None:
    """The spec (v2.167) declares no problem type for the usage cap, so this answer cannot
    validate against its Problem union; the fake sends what X was seen sending
    (xdevplatform/xdk issue 25): an RFC 7807 problem, not the spec's rate-limit one."""
    x_api.fail_next(429, reset_at=int(time.time()) + 60, usage_capped=True)
    response = get(x_api, f"/2/users/{x_api.brand_id}/mentions")
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/problems/usage-capped") and body["title"] == "UsageCapExceeded"
    assert all(isinstance(body[k], str) for k in ("type", "title", "detail"))
    declared = spec["components"]["schemas"]["Problem"]["discriminator"]["mapping"]
    assert not any(k.endswith("/usage-capped") for k in declared)  # the gap this covers
    x_api.fail_next(429, reset_at=int(time.time()) + 60)
    limited = check(spec, "/2/users/{id}/mentions", "get", get(x_api, "/2/users/1000/mentions"))
    assert limited["type"].endswith("/resource-unavailable")  # a plain rate limit


def oauth2_token(x_api: XApiState) -> str:
    token: str = x_api.oauth.issue(x_api.brand_id, "tweet.read users.read")["access_token"]
    return token


def test_users_me_and_start_time_match_the_spec(x_api: XApiState, spec: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {oauth2_token(x_api)}"}
    me = requests.get(x_api.base_url + "/2/users/me", headers=headers, timeout=5)
    assert check(spec, "/2/users/me", "get", me)["data"]["id"] == x_api.brand_id
    app_only = get(x_api, "/2/users/me")
    assert app_only.status_code == 403  # /2/users/me needs user context

    _, posted = seed(x_api)
    start = x_api.tweets[posted[3]]["created_at"]
    path = f"/2/users/{x_api.brand_id}/mentions"
    since = requests.get(
        x_api.base_url + path,
        params={"start_time": start, "max_results": 100},
        headers=headers,
        timeout=5,
    )
    body = check(spec, "/2/users/{id}/mentions", "get", since)
    assert [t["id"] for t in body["data"]] == posted[3:][::-1]
