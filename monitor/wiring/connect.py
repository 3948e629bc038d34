"""``complaint-monitor connect email|x``: run a sign-in in the terminal and store the grant.

Device flow (Microsoft 365, any RFC 8628 provider): print the verification URL and the
code, poll every ``interval`` (+5 s per ``slow_down``), stop with one line on
``expired_token`` / ``access_denied``. Code flow with PKCE (Google, X): print the
authorization URL and either listen once on the loopback ``redirect_uri`` or read the
URL the browser was sent to from stdin (``--paste``). Either way the grant is stored
sealed and no token is ever printed.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine

from monitor.config import LoadedConfig
from monitor.connections.clients import connection, oauth_session, secret_box
from monitor.connections.flows import FlowFailed, wait_for_device_grant
from monitor.connections.tokens import store_grant
from monitor.db import make_sessionmaker, utcnow
from monitor.sources.base import SourceError
from monitor.sources.oauth import (
    OAuthRefused,
    OAuthSession,
    OAuthUnavailable,
    TokenSet,
    new_code_verifier,
)

CALLBACK_WAIT_SECONDS = 15 * 60


def describe_account(
    loaded: LoadedConfig, name: str
) -> Callable[[OAuthSession, TokenSet], tuple[str, str]] | None:
    """How to learn which account a fresh grant is for (X: ask ``/2/users/me``)."""
    if name != "x":
        return None
    from monitor.sources.twitter.account import who_am_i

    base_url = loaded.settings.sources.twitter.api_base_url
    timeout = loaded.settings.sources.twitter.timeout_seconds

    def describe(session: OAuthSession, tokens: TokenSet) -> tuple[str, str]:
        try:
            return who_am_i(base_url, tokens.access_token, timeout=timeout, now=utcnow())
        except (SourceError, ValueError) as exc:
            raise FlowFailed(f"signed in, but X did not say which account: {exc}") from None

    return describe


def run_connect(
    loaded: LoadedConfig,
    engine: Engine,
    name: str,
    *,
    out: IO[str],
    paste: IO[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    describe: Callable[[OAuthSession, TokenSet], tuple[str, str]] | None = None,
) -> str:
    """Run the flow; returns the one line to print. ``describe`` names the account
    from its first token (X: ``/2/users/me``) as (account, account_id)."""
    conn = connection(loaded, name)
    session = oauth_session(loaded, conn)
    box = secret_box(loaded)
    try:
        if session.client.flow == "device":
            tokens = _device(session, out, sleep)
        else:
            tokens = _code(session, out, paste)
        account, account_id = describe(session, tokens) if describe else (conn.account, "")
    except (OAuthRefused, OAuthUnavailable) as exc:
        raise FlowFailed(f"the provider refused the sign-in: {exc}") from None
    with make_sessionmaker(engine).begin() as s:
        try:
            store_grant(
                s, box, name=name, provider=conn.settings.provider, tokens=tokens,
                account=account, account_id=account_id, now=utcnow(),
                connected_by=f"cli:{os.environ.get('USER', '?')}",
            )  # fmt: skip
        except ValueError as exc:
            raise FlowFailed(str(exc)) from None
    return f"{name} connected as {account or 'the account'}; the grant is stored sealed"


def _device(session: OAuthSession, out: IO[str], sleep: Callable[[float], None]) -> TokenSet:
    device = session.start_device(now=utcnow())
    print(f"Open {device.verification_uri} and enter the code {device.user_code}", file=out)
    if device.verification_uri_complete:
        print(f"(or open {device.verification_uri_complete})", file=out)
    print("Waiting for the sign-in to be approved...", file=out, flush=True)
    return wait_for_device_grant(session, device, clock=utcnow, sleep=sleep)


def _code(session: OAuthSession, out: IO[str], paste: IO[str] | None) -> TokenSet:
    verifier, state = new_code_verifier(), new_code_verifier()[:32]
    url = session.authorization_url(state=state, code_verifier=verifier)
    print(f"Open this URL, sign in as the account to connect and approve:\n{url}", file=out)
    if paste is not None:
        print("Then paste the address the browser was sent to:", file=out, flush=True)
        query = parse_qs(urlsplit(paste.readline().strip()).query)
    else:
        listener = _LoopbackListener(session.client.redirect_uri)  # bound before we say so
        print(f"Waiting for the provider to send the browser to {session.client.redirect_uri}",
              file=out, flush=True)  # fmt: skip
        query = listener.wait()
    if query.get("state", [""])[0] != state:
        raise FlowFailed("the answer does not belong to this sign-in (state mismatch)")
    if "error" in query or "code" not in query:
        raise FlowFailed(f"the provider did not grant access ({query.get('error', ['?'])[0]})")
    return session.exchange_code(code=query["code"][0], code_verifier=verifier, now=utcnow())


class _LoopbackListener:
    """A one-shot HTTP listener on the loopback ``redirect_uri``, bound on construction so
    the browser can never arrive before it listens."""

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise FlowFailed(f"redirect_uri {redirect_uri} is not a loopback address: use --paste")
        self.got: dict[str, list[str]] = {}
        self.done = threading.Event()
        handler = _callback_handler(parts.path or "/", self.got, self.done)
        try:
            self.server = HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), handler)
        except OSError as exc:
            raise FlowFailed(
                f"cannot listen on {redirect_uri}: {exc.strerror}; use --paste"
            ) from None

    def wait(self) -> dict[str, list[str]]:
        """Serve until the browser brings the answer (or 15 minutes pass); returns its query."""
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            if not self.done.wait(CALLBACK_WAIT_SECONDS):
                raise FlowFailed("no answer from the browser within 15 minutes: start again")
        finally:
            self.server.shutdown()
            self.server.server_close()
        return self.got


def _callback_handler(
    path: str, got: dict[str, list[str]], done: threading.Event
) -> type[BaseHTTPRequestHandler]:
    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            request = urlsplit(self.path)
            if request.path != path:
                self.send_error(404)
                return
            got.update(parse_qs(request.query))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"Signed in: you can close this tab and go back to the terminal.\n")
            done.set()

        def log_message(self, format: str, *args: Any) -> None:  # the query holds the code
            return

    return Callback
