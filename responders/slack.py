"""Slack: invite a customer to our channel, check the invite took, and post alerts.

Built on slack-sdk's ``WebClient`` with ``base_url`` from config (tests point it at a
fake). Two invite modes:

- ``member``: the customer is a member of our workspace: ``users.lookupByEmail`` then
  ``conversations.invite``; ``already_in_channel`` counts as success. Verified by
  finding the user in ``conversations.members``.
- ``connect``: an external customer is invited by email through Slack Connect
  (``conversations.inviteShared``, which answers with an ``invite_id``). The invite is
  only *sent*; whether it was accepted is read from ``conversations.listConnectInvites``
  (the invite's acceptances and their approval status), and once the accepting user
  is known, confirmed in ``conversations.members``.

Rate limits: slack-sdk's retry handlers are switched off (``retry_handlers=[]``) so a
scheduled job never sleeps; HTTP 429 becomes :class:`TransientError` carrying the
``Retry-After`` seconds, and the caller reschedules. Every vendor error is mapped at
this boundary: rate limits, Slack's own transient errors, 5xx and network failures
are transient; everything else (``users_not_found``, ``channel_not_found``,
``not_in_channel``, bad token …) is permanent.

This package imports nothing from ``monitor``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.slack_response import SlackResponse

from responders.base import PermanentError, TransientError

TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "request_timeout",
        "service_unavailable",
        "team_added_to_org",
    }
)
ALREADY = frozenset({"already_in_channel"})
DECLINED = frozenset({"revoked", "declined", "expired", "cancelled", "denied", "rejected"})
Mode = Literal["member", "connect"]


@dataclass(frozen=True)
class InviteResult:
    """Where an invite stands. ``state``: member (verified in the channel), invited
    (sent, not accepted yet), declined (revoked, expired or rejected)."""

    state: Literal["member", "invited", "declined"]
    channel: str
    mode: Mode
    email: str
    user_id: str | None = None
    invite_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.state == "member"

    def as_evidence(self) -> dict[str, Any]:
        return {
            "slack_state": self.state,
            "channel": self.channel,
            "mode": self.mode,
            "email": self.email,
            "user_id": self.user_id,
            "invite_id": self.invite_id,
            **self.detail,
        }


class HasMessage(Protocol):
    @property
    def target(self) -> str: ...
    @property
    def message(self) -> str: ...


def _retry_after(response: SlackResponse | None) -> float | None:
    if response is None:
        return None
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def map_error(method: str, exc: Exception) -> TransientError | PermanentError:
    """The responder error for a slack-sdk failure."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", 200)
        code = str(resp.get("error", "")) if resp is not None else ""
        if status == 429 or code in TRANSIENT_ERRORS or status >= 500:
            wait = _retry_after(resp)
            return TransientError(f"slack {method}: {code or status}", retry_after=wait)
        return PermanentError(f"slack {method}: {code or status}")
    if isinstance(exc, URLError | TimeoutError | ConnectionError | OSError):
        return TransientError(f"slack {method}: {exc}")
    return PermanentError(f"slack {method}: {exc}")


class SlackResponder:
    """Invites, verification and alert messages through one ``WebClient``."""

    def __init__(self, client: WebClient, *, channel: str, mode: Mode = "member") -> None:
        self.client = client
        self.channel = channel
        self.mode = mode

    @classmethod
    def connect(
        cls,
        *,
        token: str,
        base_url: str,
        channel: str,
        mode: Mode = "member",
        timeout: int = 15,
    ) -> SlackResponder:
        base = base_url if base_url.endswith("/") else base_url + "/"
        client = WebClient(token=token, base_url=base, timeout=timeout, retry_handlers=[])
        return cls(client, channel=channel, mode=mode)

    def _call(self, method: str, fn: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
        try:
            return fn(**kwargs)
        except (SlackApiError, SlackClientError, URLError, OSError) as exc:
            raise map_error(method, exc) from exc

    def _error_code(
        self, method: str, fn: Callable[..., SlackResponse], **kwargs: Any
    ) -> str | None:
        """Call; None on success, the Slack error code when it is one we accept."""
        try:
            fn(**kwargs)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "")) if exc.response is not None else ""
            if code in ALREADY:
                return code
            raise map_error(method, exc) from exc
        except (SlackClientError, URLError, OSError) as exc:
            raise map_error(method, exc) from exc
        return None

    def lookup(self, email: str) -> str:
        resp = self._call("users.lookupByEmail", self.client.users_lookupByEmail, email=email)
        user = resp.get("user") or {}
        return str(user["id"])

    def members(self, channel: str) -> Iterator[str]:
        cursor: str | None = None
        while True:
            resp = self._call(
                "conversations.members",
                self.client.conversations_members,
                channel=channel,
                cursor=cursor,
                limit=200,
            )
            yield from (str(m) for m in resp.get("members") or [])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return

    def is_member(self, channel: str, user_id: str) -> bool:
        return any(m == user_id for m in self.members(channel))

    def invite(self, email: str, *, channel: str | None = None) -> InviteResult:
        """Invite by email per the mode; a member invite comes back verified or raises."""
        chan = channel or self.channel
        if not chan:
            raise PermanentError(
                "slack: no channel to invite to (responders.slack.default_channel)"
            )
        if self.mode == "connect":
            resp = self._call(
                "conversations.inviteShared",
                self.client.conversations_inviteShared,
                channel=chan,
                emails=[email],
            )
            return InviteResult("invited", chan, "connect", email, invite_id=resp.get("invite_id"))
        user_id = self.lookup(email)
        code = self._error_code(
            "conversations.invite", self.client.conversations_invite, channel=chan, users=[user_id]
        )
        result = InviteResult("invited", chan, "member", email, user_id=user_id)
        if code:
            result.detail["already_in_channel"] = True
        return self.verify(result)

    def verify(self, result: InviteResult) -> InviteResult:
        """Check an invite now: member (seen in the channel), invited, or declined."""
        if result.mode == "member" or result.user_id:
            if result.user_id and self.is_member(result.channel, result.user_id):
                return _replace(result, state="member")
            if result.mode == "member":
                return result
        invite = self._find_invite(result.invite_id) if result.invite_id else None
        if invite is None:
            return result
        status = str(invite.get("status") or "").lower()
        for acc in invite.get("acceptances") or []:
            approval = str(acc.get("approval_status") or "").lower()
            user = (acc.get("accepting_user") or {}).get("id")
            if approval in DECLINED:
                return _replace(result, state="declined", detail={"status": approval})
            if approval in ("approved", "") and user:
                found = _replace(result, user_id=str(user), detail={"status": status or "accepted"})
                if self.is_member(result.channel, str(user)):
                    return _replace(found, state="member")
                return found
        if status in DECLINED:
            return _replace(result, state="declined", detail={"status": status})
        return result

    def check(self, sent: Mapping[str, Any]) -> InviteResult:
        """Verify an invite from what :meth:`InviteResult.as_evidence` recorded earlier."""
        mode: Mode = "connect" if sent.get("mode") == "connect" else "member"
        result = InviteResult(
            "invited",
            str(sent.get("channel") or self.channel),
            mode,
            str(sent.get("email") or ""),
            user_id=sent.get("user_id"),
            invite_id=sent.get("invite_id"),
        )
        return self.verify(result)

    def _find_invite(self, invite_id: str) -> dict[str, Any] | None:
        cursor: str | None = None
        while True:
            resp = self._call(
                "conversations.listConnectInvites",
                self.client.conversations_listConnectInvites,
                cursor=cursor,
            )
            for item in resp.get("invites") or []:
                if str((item.get("invite") or {}).get("id")) == invite_id:
                    return dict(item)
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    def post(self, channel: str, text: str) -> str:
        """chat.postMessage to a channel id/name, or to a person by email (as a DM)."""
        if "@" in channel:
            channel = self.lookup(channel)
        resp = self._call(
            "chat.postMessage", self.client.chat_postMessage, channel=channel, text=text
        )
        return str(resp.get("ts"))

    def send(self, alert: HasMessage) -> str | None:
        """Alert sender interface: ``target`` is a Slack channel or a staff email."""
        return self.post(alert.target, alert.message)


def _replace(result: InviteResult, **changes: Any) -> InviteResult:
    detail = {**result.detail, **changes.pop("detail", {})}
    values = {
        "state": result.state,
        "channel": result.channel,
        "mode": result.mode,
        "email": result.email,
        "user_id": result.user_id,
        "invite_id": result.invite_id,
        "detail": detail,
        **changes,
    }
    return InviteResult(**values)
