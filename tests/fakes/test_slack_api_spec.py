"""The fake Slack API answers as the Slack Web API OpenAPI spec says (where it has the method).

The spec (2021, Swagger 2.0) lacks ``conversations.inviteShared`` and
``conversations.listConnectInvites``; those follow Slack's method documentation and
are checked here for the fields slack-sdk and our responder read. The spec has no 429
response, so the rate-limit answer is checked against Slack's documented form.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest

from tests.fakes.slack_api import SlackState
from tests.fixtures.slack_server import *  # noqa: F403
from tests.paths import SPECS
from tests.support import missing_service

SPEC = SPECS / "slack-web-api-openapi.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.exists():
        missing_service(f"Slack Web API spec not found at {SPEC}")
    return json.loads(SPEC.read_text())


def check(spec: dict[str, Any], method: str, verb: str, body: dict[str, Any]) -> None:
    responses = spec["paths"][f"/{method}"][verb]["responses"]
    schema = dict(responses["200"]["schema"] if body.get("ok") else responses["default"]["schema"])
    schema["definitions"] = spec["definitions"]
    jsonschema.Draft4Validator(schema).validate(body)


def call(state: SlackState, url: str, method: str, **args: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {state.token}"}
    return httpx.post(url + method, data=args, headers=headers, timeout=5)


def test_answers_validate_against_the_spec(
    spec: dict[str, Any], slack_api: SlackState, slack_api_url: str
) -> None:
    uid = slack_api.add_user("dan@example.org", "dan")
    chan = slack_api.add_channel()
    cases = [
        ("users.lookupByEmail", "get", {"email": "dan@example.org"}),
        ("users.lookupByEmail", "get", {"email": "nobody@example.org"}),
        ("conversations.invite", "post", {"channel": chan, "users": uid}),
        ("conversations.invite", "post", {"channel": chan, "users": uid}),  # already_in_channel
        ("conversations.invite", "post", {"channel": "C999999999", "users": uid}),
        ("conversations.members", "get", {"channel": chan}),
        ("conversations.members", "get", {"channel": "C999999999"}),
        ("chat.postMessage", "post", {"channel": chan, "text": "hello"}),
        ("chat.postMessage", "post", {"channel": uid, "text": "hello"}),
        ("chat.postMessage", "post", {"channel": "C999999999", "text": "hello"}),
    ]
    seen = set()
    for method, verb, args in cases:
        resp = call(slack_api, slack_api_url, method, **args)
        assert resp.status_code == 200
        body = resp.json()
        seen.add(body.get("error", "ok"))
        check(spec, method, verb, body)
    assert {"ok", "users_not_found", "already_in_channel", "channel_not_found"} <= seen


def test_connect_methods_follow_the_method_docs(slack_api: SlackState, slack_api_url: str) -> None:
    chan = slack_api.add_channel()
    sent = call(
        slack_api,
        slack_api_url,
        "conversations.inviteShared",
        channel=chan,
        emails="ext@example.org",
    ).json()
    assert sent["ok"] is True and isinstance(sent["invite_id"], str)
    assert sent["is_legacy_shared_channel"] is False
    slack_api.accept_invite(sent["invite_id"])
    listed = call(slack_api, slack_api_url, "conversations.listConnectInvites").json()
    invite = listed["invites"][0]
    assert invite["invite"]["id"] == sent["invite_id"]
    assert invite["acceptances"][0]["approval_status"] == "approved"
    assert "next_cursor" in listed["response_metadata"]


def test_rate_limit_and_auth_answers(slack_api: SlackState, slack_api_url: str) -> None:
    slack_api.fail_next("chat.postMessage", error="ratelimited", retry_after=7)
    resp = call(slack_api, slack_api_url, "chat.postMessage", channel="C1", text="x")
    assert resp.status_code == 429 and resp.headers["retry-after"] == "7"
    assert resp.json() == {"ok": False, "error": "ratelimited"}
    bad = httpx.post(slack_api_url + "chat.postMessage", data={"channel": "C1", "text": "x"})
    assert bad.json() == {"ok": False, "error": "invalid_auth"}
