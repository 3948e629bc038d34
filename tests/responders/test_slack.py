"""responders/slack.py against the fake Slack Web API, through the real slack-sdk client."""

from __future__ import annotations

import pytest

from responders.base import PermanentError, TransientError
from responders.slack import SlackResponder
from tests.fakes.slack_api import SlackState
from tests.fixtures.slack_server import *  # noqa: F403 (fixtures until conftest lists them)


def responder(state: SlackState, url: str, channel: str, mode: str = "member") -> SlackResponder:
    return SlackResponder.connect(
        token=state.token,
        base_url=url,
        channel=channel,
        mode=mode,
        timeout=5,  # type: ignore[arg-type]
    )


def test_member_invite_is_verified_in_the_channel(
    slack_api: SlackState, slack_api_url: str
) -> None:
    uid = slack_api.add_user("dan@example.org", "dan")
    chan = slack_api.add_channel("customers", members=("U000000077", "U000000078"))
    result = responder(slack_api, slack_api_url, chan).invite("dan@example.org")
    assert result.verified and result.user_id == uid
    assert uid in slack_api.members(chan)
    assert [c.method for c in slack_api.calls][:2] == [
        "users.lookupByEmail",
        "conversations.invite",
    ]
    # the members list is paginated (page size 2): the user was found on a later page
    assert len(slack_api.calls_to("conversations.members")) >= 2


def test_already_in_channel_counts_as_success(slack_api: SlackState, slack_api_url: str) -> None:
    uid = slack_api.add_user("dan@example.org")
    chan = slack_api.add_channel(members=(uid,))
    result = responder(slack_api, slack_api_url, chan).invite("dan@example.org")
    assert result.verified
    assert result.as_evidence()["already_in_channel"] is True


def test_connect_invite_stays_invited_until_accepted(
    slack_api: SlackState, slack_api_url: str
) -> None:
    chan = slack_api.add_channel()
    slack = responder(slack_api, slack_api_url, chan, mode="connect")
    sent = slack.invite("ext@customer.example")
    assert sent.state == "invited" and sent.invite_id and not sent.verified
    slack_api.add_channel("other")  # more invites/channels than one page
    assert slack.check(sent.as_evidence()).state == "invited"
    uid = slack_api.accept_invite(sent.invite_id)
    checked = slack.check(sent.as_evidence())
    assert checked.verified and checked.user_id == uid


def test_rate_limit_is_transient_with_retry_after(
    slack_api: SlackState, slack_api_url: str
) -> None:
    slack_api.add_user("dan@example.org")
    chan = slack_api.add_channel()
    slack_api.fail_next("users.lookupByEmail", error="ratelimited", retry_after=30)
    with pytest.raises(TransientError) as info:
        responder(slack_api, slack_api_url, chan).invite("dan@example.org")
    assert info.value.retry_after == 30
    assert len(slack_api.calls) == 1  # slack-sdk did not retry (and did not sleep)


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        ("internal_error", 200, TransientError),
        ("fatal_error", 500, TransientError),
        ("channel_not_found", 200, PermanentError),
        ("not_in_channel", 200, PermanentError),
    ],
)
def test_errors_are_mapped(
    slack_api: SlackState, slack_api_url: str, error: str, status: int, expected: type
) -> None:
    slack_api.add_user("dan@example.org")
    chan = slack_api.add_channel()
    slack_api.fail_next("conversations.invite", error=error, status=status)
    with pytest.raises(expected):
        responder(slack_api, slack_api_url, chan).invite("dan@example.org")


def test_unknown_user_and_bad_token_are_permanent(
    slack_api: SlackState, slack_api_url: str
) -> None:
    chan = slack_api.add_channel()
    with pytest.raises(PermanentError, match="users_not_found"):
        responder(slack_api, slack_api_url, chan).invite("nobody@example.org")
    bad = SlackResponder.connect(token="xoxb-wrong", base_url=slack_api_url, channel=chan)
    with pytest.raises(PermanentError, match="invalid_auth"):
        bad.post(chan, "hello")


def test_alerts_post_to_a_channel_or_a_person(slack_api: SlackState, slack_api_url: str) -> None:
    uid = slack_api.add_user("lead@example.com", "lead")
    chan = slack_api.add_channel("escalations")
    slack = responder(slack_api, slack_api_url, chan)
    slack.post(chan, "to the channel")
    slack.post("lead@example.com", "to the lead")
    assert [(m["to"], m["text"]) for m in slack_api.messages] == [
        (chan, "to the channel"),
        (uid, "to the lead"),
    ]
    assert slack_api.messages[1]["channel"].startswith("D")
