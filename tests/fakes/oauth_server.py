"""A fake OAuth 2.0 authorization server, as the RFCs say, with state tests can drive.

Endpoints
    ``POST /device/code``   RFC 8628 section 3.1-3.2 device authorization request.
    ``GET  /authorize``     RFC 6749 section 4.1 with PKCE (RFC 7636, S256 only). The fake
                            plays the admin who signs in and approves: it redirects at once
                            to ``redirect_uri`` with a code for ``state.authorize_as``
                            (or ``error=access_denied`` when that is None).
    ``POST /token``         grant types ``urn:ietf:params:oauth:grant-type:device_code``,
                            ``authorization_code`` and ``refresh_token``; errors as in
                            RFC 6749 section 5.2 and RFC 8628 section 3.5
                            (``authorization_pending``, ``slow_down``, ``expired_token``,
                            ``access_denied``, ``invalid_grant``, ``invalid_client``).
    ``POST /introspect``    RFC 7662 token introspection (what Dovecot's oauth2 passdb
                            asks with ``introspection_mode = post``).

A device code answers what ``state.device_script`` says, one entry per poll
(``"pending"``, ``"slow_down"``, ``"expired"``, ``"denied"``), then succeeds once
approved (:meth:`OAuthState.approve`). Refresh tokens rotate (the old one dies when a new
one is issued), as Microsoft and X do; :meth:`OAuthState.revoke` kills a grant.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class _Device:
    client_id: str
    scope: str
    user_code: str
    script: list[str]
    username: str | None = None
    done: bool = False


@dataclass
class _Token:
    username: str
    scope: str
    client_id: str
    expires_at: float
    active: bool = True


@dataclass
class OAuthState:
    clients: dict[str, str | None] = field(default_factory=dict)  # client_id -> secret
    interval: int = 1
    access_lifetime: int = 3600
    device_script: list[str] = field(default_factory=list)
    authorize_as: str | None = "admin@example.com"
    devices: dict[str, _Device] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    access: dict[str, _Token] = field(default_factory=dict)
    refresh: dict[str, _Token] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    introspections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def reset(self) -> None:
        with self.lock:
            self.clients = {"desk-client": None, "desk-confidential": "client-secret-1"}
            self.interval, self.access_lifetime = 1, 3600
            self.device_script, self.authorize_as = [], "admin@example.com"
            self.devices.clear()
            self.codes.clear()
            self.access.clear()
            self.refresh.clear()
            self.token_requests.clear()
            self.introspections = 0

    # ------------------------------------------------------------- test controls

    def approve(self, user_code: str, username: str) -> None:
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code:
                    device.username = username
                    return
        raise KeyError(user_code)

    def pending_user_codes(self) -> list[str]:
        with self.lock:
            return [d.user_code for d in self.devices.values() if not d.done]

    def revoke(self, username: str) -> None:
        """The admin (or the provider) revoked the grant: every token of ``username`` dies."""
        with self.lock:
            for token in [*self.access.values(), *self.refresh.values()]:
                if token.username == username:
                    token.active = False

    def expire_access_tokens(self) -> None:
        with self.lock:
            for token in self.access.values():
                token.expires_at = 0

    def issue(self, username: str, scope: str, client_id: str = "desk-client") -> dict[str, Any]:
        """Tokens as if a flow had completed (for tests of what comes after)."""
        with self.lock:
            return self._issue(username, scope, client_id)

    def grant_types(self) -> list[str]:
        return [r.get("grant_type", "") for r in self.token_requests]

    # ------------------------------------------------------------------ internals

    def _issue(self, username: str, scope: str, client_id: str) -> dict[str, Any]:
        now = time.time()
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access[access] = _Token(username, scope, client_id, now + self.access_lifetime)
        self.refresh[refresh] = _Token(username, scope, client_id, now + 90 * 86400)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime,
            "refresh_token": refresh,
            "scope": scope,
        }


def _error(code: str, description: str = "", status: int = 400) -> JSONResponse:
    body = {"error": code, **({"error_description": description} if description else {})}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _client(state: OAuthState, request: Request, form: dict[str, str]) -> str | None:
    """The authenticated client id (basic or post), or None when it fails."""
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
    if client_id not in state.clients:
        return None
    expected = state.clients[client_id]
    return client_id if expected is None or secret == expected else None


def create_app(state: OAuthState) -> FastAPI:
    app = FastAPI(title="fake OAuth 2.0 authorization server")

    @app.post("/device/code")
    async def device_code(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id = _client(state, request, form)
        if client_id is None:
            return _error("invalid_client", status=401)
        code = secrets.token_urlsafe(16)
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        with state.lock:
            state.devices[code] = _Device(
                client_id, form.get("scope", ""), user_code, list(state.device_script)
            )
        return JSONResponse({
            "device_code": code,
            "user_code": user_code,
            "verification_uri": f"{state.base_url}/device",
            "verification_uri_complete": f"{state.base_url}/device?user_code={user_code}",
            "expires_in": 900,
            "interval": state.interval,
        })  # fmt: skip

    @app.get("/authorize")
    def authorize(request: Request) -> Response:
        return authorize_response(state, request)

    @app.post("/token")
    async def token(request: Request) -> Response:
        return await token_response(state, request)

    @app.post("/introspect")
    async def introspect(request: Request) -> Response:
        form = await request.form()
        with state.lock:
            state.introspections += 1
            found = state.access.get(str(form.get("token", "")))
            if found is None or not found.active or found.expires_at < time.time():
                return JSONResponse({"active": False})
            return JSONResponse({
                "active": True, "username": found.username, "scope": found.scope,
                "client_id": found.client_id, "exp": int(found.expires_at),
            })  # fmt: skip

    return app


def authorize_response(state: OAuthState, request: Request) -> Response:
    """RFC 6749 4.1.1-4.1.2: the admin approves at once (or denies: authorize_as None)."""
    q = request.query_params
    redirect = q.get("redirect_uri", "")
    if q.get("client_id") not in state.clients or not redirect:
        return _error("invalid_request", "unknown client or no redirect_uri")
    back: dict[str, str] = {"state": q.get("state", "")}
    if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
        back["error"] = "invalid_request"
    elif state.authorize_as is None:
        back["error"] = "access_denied"
    else:
        code = secrets.token_urlsafe(16)
        with state.lock:
            state.codes[code] = {
                "client_id": q["client_id"],
                "redirect_uri": redirect,
                "challenge": q["code_challenge"],
                "scope": q.get("scope", ""),
                "username": state.authorize_as,
            }
        back["code"] = code
    return RedirectResponse(f"{redirect}?{urlencode(back)}", status_code=302)


async def token_response(state: OAuthState, request: Request) -> Response:
    """RFC 6749 section 3.2 token endpoint."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    with state.lock:
        state.token_requests.append(form)
    client_id = _client(state, request, form)
    if client_id is None:
        return _error("invalid_client", status=401)
    with state.lock:
        return _grant(state, form, client_id)


def _grant(state: OAuthState, form: dict[str, str], client_id: str) -> Response:
    kind = form.get("grant_type")
    if kind == DEVICE_GRANT:
        device = state.devices.get(form.get("device_code", ""))
        if device is None or device.done or device.client_id != client_id:
            return _error("invalid_grant", "unknown device code")
        if device.script:
            step = device.script.pop(0)
            errors = {"pending": "authorization_pending", "slow_down": "slow_down",
                      "expired": "expired_token", "denied": "access_denied"}  # fmt: skip
            if step in ("expired", "denied"):
                device.done = True
            return _error(errors[step])
        if device.username is None:
            return _error("authorization_pending")
        device.done = True
        return JSONResponse(state._issue(device.username, device.scope, client_id))
    if kind == "authorization_code":
        grant = state.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if (
            grant is None
            or grant["client_id"] != client_id
            or grant["redirect_uri"] != form.get("redirect_uri")
            or grant["challenge"] != challenge.decode().rstrip("=")
        ):
            return _error("invalid_grant", "bad code, redirect_uri or code_verifier")
        return JSONResponse(state._issue(grant["username"], grant["scope"], client_id))
    if kind == "refresh_token":
        old = state.refresh.get(form.get("refresh_token", ""))
        if old is None or not old.active or old.client_id != client_id:
            return _error("invalid_grant", "the refresh token is invalid, expired or revoked")
        old.active = False  # rotation: a refresh token works once
        return JSONResponse(state._issue(old.username, old.scope, client_id))
    return _error("unsupported_grant_type")
