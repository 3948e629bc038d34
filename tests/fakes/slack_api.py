"""A fake of the Slack Web API methods complaint-monitor uses, with state tests can drive.

Methods: ``users.lookupByEmail``, ``conversations.invite``, ``conversations.members``,
``conversations.inviteShared``, ``conversations.listConnectInvites`` and
``chat.postMessage``, under ``/api/<method>``, GET or POST, arguments from the query
string, a form body or a JSON body (as slack-sdk sends them).

Like Slack: every answer is HTTP 200 with ``{"ok": true, ...}`` or
``{"ok": false, "error": "<code>"}``; a bad token is ``invalid_auth``; inviting someone
already in the channel is ``already_in_channel``; a rate limit is HTTP 429 with
``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``. ``conversations.inviteShared``
(missing from the 2021 OpenAPI spec) follows Slack's method documentation: it answers
``invite_id`` and ``is_legacy_shared_channel``; the invite only takes effect when the
recipient accepts it (``accept_invite``), after which ``conversations.listConnectInvites``
shows the acceptance and ``conversations.members`` lists the external user.
``tests/fakes/test_slack_api_spec.py`` validates the answers against the spec.

Faults: ``fail_next(method, error=..., status=..., retry_after=..., times=...)``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TEAM = "T0FAKETEAM"
Json = dict[str, Any]


@dataclass
class Fault:
    method: str | None
    error: str
    status: int = 200
    retry_after: int | None = None
    times: int = 1


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, str]
    at: float  # time.time() on arrival


@dataclass
class SlackState:
    token: str = "xoxb-test-token"
    users: dict[str, Json] = field(default_factory=dict)  # email -> user object
    channels: dict[str, Json] = field(default_factory=dict)  # id -> {"name", "members"}
    invites: dict[str, Json] = field(default_factory=dict)  # invite id -> invite element
    messages: list[Json] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    page_size: int = 2  # small, so pagination is exercised
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.users.clear()
            self.channels.clear()
            self.invites.clear()
            self.messages.clear()
            self.calls.clear()
            self.faults.clear()

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):09d}"

    def add_user(self, email: str, name: str = "customer", *, team: str = TEAM) -> str:
        uid = self._next("U")
        self.users[email.lower()] = {
            "id": uid,
            "team_id": team,
            "name": name,
            "deleted": False,
            "real_name": name.title(),
            "is_bot": False,
            "updated": 1700000000,
            "profile": {
                "real_name": name.title(),
                "display_name": name,
                "avatar_hash": "g0000000000",
                "real_name_normalized": name.title(),
                "display_name_normalized": name,
                "title": "",
                "phone": "",
                "skype": "",
                "status_text": "",
                "status_emoji": "",
                "fields": {},
                "email": email,
                "team": team,
            },
        }
        return uid

    def add_channel(self, name: str = "customers", members: tuple[str, ...] = ()) -> str:
        cid = self._next("C")
        self.channels[cid] = {"name": name, "members": ["U000BOT000", *members]}
        return cid

    def members(self, channel: str) -> list[str]:
        return list(self.channels[channel]["members"])

    def fail_next(
        self,
        method: str | None,
        *,
        error: str = "internal_error",
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            self.faults.append(Fault(method, error, status, retry_after, times))

    def accept_invite(self, invite_id: str, *, name: str = "external") -> str:
        """The recipient accepts a Slack Connect invite: they join the channel."""
        with self._lock:
            inv = self.invites[invite_id]
            uid = self._next("U")
            inv["status"] = "approved"
            inv["acceptances"] = [
                {
                    "approval_status": "approved",
                    "date_accepted": int(time.time()),
                    "accepting_user": {"id": uid, "name": name, "team_id": "T0EXTERNAL"},
                    "accepting_team": {"id": "T0EXTERNAL", "name": "Customer Co"},
                }
            ]
            self.channels[inv["channel"]["id"]]["members"].append(uid)
            return uid

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


def _error(error: str, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status, headers=headers)


def _conversation(cid: str, chan: Json) -> Json:
    return {
        "id": cid,
        "name": chan["name"],
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "created": 1700000000,
        "creator": "U000BOT000",
        "is_archived": False,
        "is_general": False,
        "unlinked": 0,
        "name_normalized": chan["name"],
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "pending_shared": [],
        "is_pending_ext_shared": False,
        "is_member": True,
        "is_private": False,
        "is_mpim": False,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "previous_names": [],
    }


def _page(items: list[Any], cursor: str, size: int) -> tuple[list[Any], str]:
    start = int(cursor) if cursor.isdigit() else 0
    chunk = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else ""
    return chunk, nxt


def create_app(state: SlackState) -> FastAPI:
    app = FastAPI(title="fake Slack Web API")

    async def args_of(request: Request) -> dict[str, str]:
        args = dict(request.query_params)
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        if body and "json" in ctype:
            args.update(
                {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(body).items()}
            )
        elif body:
            args.update(dict(parse_qsl(body.decode())))
        return args

    @app.api_route("/api/{method}", methods=["GET", "POST"])
    async def call(method: str, request: Request) -> JSONResponse:
        args = await args_of(request)
        with state._lock:
            state.calls.append(Call(method, args, time.time()))
            fault = next((f for f in state.faults if f.method in (None, method)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    state.faults.remove(fault)
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {state.token}":
            return _error("invalid_auth")
        if fault is not None:
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            )
            status = 429 if fault.error == "ratelimited" and fault.status == 200 else fault.status
            return _error(fault.error, status, headers)
        handler = HANDLERS.get(method)
        if handler is None:
            return _error("unknown_method", 404)
        with state._lock:
            return handler(state, args)

    return app


def _lookup(state: SlackState, args: dict[str, str]) -> JSONResponse:
    user = state.users.get(args.get("email", "").lower())
    return JSONResponse({"ok": True, "user": user}) if user else _error("users_not_found")


def _invite(state: SlackState, args: dict[str, str]) -> JSONResponse:
    cid, users = args.get("channel", ""), [u for u in args.get("users", "").split(",") if u]
    chan = state.channels.get(cid)
    if chan is None:
        return _error("channel_not_found")
    if not users:
        return _error("no_user")
    known = {u["id"] for u in state.users.values()}
    for uid in users:
        if uid not in known:
            return _error("user_not_found")
        if uid in chan["members"]:
            return JSONResponse(
                {
                    "ok": False,
                    "error": "already_in_channel",
                    "errors": [{"ok": False, "error": "already_in_channel", "user": uid}],
                }
            )
    chan["members"].extend(users)
    return JSONResponse({"ok": True, "channel": _conversation(cid, chan)})


def _members(state: SlackState, args: dict[str, str]) -> JSONResponse:
    chan = state.channels.get(args.get("channel", ""))
    if chan is None:
        return _error("channel_not_found")
    size = min(int(args.get("limit") or state.page_size), state.page_size)
    chunk, nxt = _page(chan["members"], args.get("cursor", ""), size)
    return JSONResponse({"ok": True, "members": chunk, "response_metadata": {"next_cursor": nxt}})


def _invite_shared(state: SlackState, args: dict[str, str]) -> JSONResponse:
    cid = args.get("channel", "")
    chan = state.channels.get(cid)
    if chan is None:
        return _error("channel_not_found")
    emails = [e for e in args.get("emails", "").split(",") if e]
    if len(emails) != 1 and not args.get("user_ids"):
        return _error("invalid_arguments")
    for inv in state.invites.values():
        same = inv["invite"]["recipient_email"] == emails[0] and inv["channel"]["id"] == cid
        if same and inv["status"] == "approved":
            return _error("already_in_channel")
    invite_id = state._next("I")
    state.invites[invite_id] = {
        "direction": "outgoing",
        "status": "pending",
        "date_last_updated": int(time.time()),
        "invite_type": "channel",
        "invite": {
            "id": invite_id,
            "date_created": int(time.time()),
            "recipient_email": emails[0],
            "link": f"https://join.slack.com/share/{invite_id}",
        },
        "channel": {"id": cid, "name": chan["name"], "is_private": False, "is_im": False},
        "acceptances": [],
    }
    return JSONResponse({"ok": True, "invite_id": invite_id, "is_legacy_shared_channel": False})


def _list_invites(state: SlackState, args: dict[str, str]) -> JSONResponse:
    items = list(state.invites.values())
    chunk, nxt = _page(items, args.get("cursor", ""), state.page_size)
    return JSONResponse({"ok": True, "invites": chunk, "response_metadata": {"next_cursor": nxt}})


def _post(state: SlackState, args: dict[str, str]) -> JSONResponse:
    target, text = args.get("channel", ""), args.get("text", "")
    if not text and not args.get("blocks"):
        return _error("no_text")
    known_users = {u["id"] for u in state.users.values()}
    if target.startswith("U") and target in known_users:
        channel = "D" + target[1:].rjust(9, "0")  # the bot's DM with that user
    elif target in state.channels or target.lstrip("#") in {
        c["name"] for c in state.channels.values()
    }:
        channel = (
            target
            if target in state.channels
            else next(cid for cid, c in state.channels.items() if c["name"] == target.lstrip("#"))
        )
    else:
        return _error("channel_not_found")
    ts = f"{time.time():.6f}"
    ts = ts.rjust(17, "0")
    state.messages.append(
        {"channel": channel, "to": target, "text": text, "ts": ts, "at": time.time()}
    )
    message = {
        "type": "message",
        "text": text,
        "ts": ts,
        "bot_id": "B000BOT000",
        "user": "U000BOT000",
    }
    return JSONResponse({"ok": True, "channel": channel, "ts": ts, "message": message})


HANDLERS = {
    "users.lookupByEmail": _lookup,
    "conversations.invite": _invite,
    "conversations.members": _members,
    "conversations.inviteShared": _invite_shared,
    "conversations.listConnectInvites": _list_invites,
    "chat.postMessage": _post,
}
