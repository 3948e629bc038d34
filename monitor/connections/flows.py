"""Connecting an account: the device flow (RFC 8628) and the code flow with PKCE (RFC 7636).

The CLI runs a flow start to finish in one process (:func:`wait_for_device_grant`,
or the code flow with a loopback listener in ``monitor.wiring.connect``). The console
spreads one over several requests, so the flow's secret part (the device code, or the
PKCE verifier) waits sealed in ``oauth_flows`` between them: :func:`start_console_flow`,
:func:`poll_console_flow` (the page asks every few seconds; the provider is asked no
more often than its ``interval``, plus 5 s for each ``slow_down``) and
:func:`finish_code_flow` (the provider's redirect back to the console).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session

from monitor.connections.tokens import store_grant
from monitor.models import OAuthFlow
from monitor.sources.oauth import (
    DeviceAuthorization,
    OAuthRefused,
    OAuthUnavailable,
    TokenSet,
    new_code_verifier,
)
from monitor.storage.secret_box import SecretBox

SLOW_DOWN_SECONDS = 5  # RFC 8628 3.5
CODE_FLOW_LIFETIME = timedelta(minutes=15)


class FlowFailed(Exception):
    """The sign-in cannot complete; the message is one line for the admin."""


class FlowClient(Protocol):
    def start_device(self, *, now: datetime) -> DeviceAuthorization: ...
    def poll_device(self, device_code: str, *, now: datetime) -> TokenSet: ...
    def authorization_url(self, *, state: str, code_verifier: str) -> str: ...
    def exchange_code(self, *, code: str, code_verifier: str, now: datetime) -> TokenSet: ...


def device_error(exc: OAuthRefused) -> FlowFailed | None:
    """None while the admin has not answered yet; otherwise why the flow ended."""
    if exc.error in ("authorization_pending", "slow_down"):
        return None
    if exc.error == "expired_token":
        return FlowFailed("the code expired before it was entered: start again")
    if exc.error == "access_denied":
        return FlowFailed("access was denied at the provider: nothing was stored")
    return FlowFailed(f"the provider refused the sign-in: {exc}")


def wait_for_device_grant(
    client: FlowClient,
    device: DeviceAuthorization,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> TokenSet:
    """Poll the token endpoint every ``interval`` seconds (+5 per ``slow_down``)."""
    interval = device.interval
    while True:
        if clock() >= device.expires_at:
            raise FlowFailed("the code expired before it was entered: start again")
        sleep(interval)
        try:
            return client.poll_device(device.device_code, now=clock())
        except OAuthRefused as exc:
            if exc.error == "slow_down":
                interval += SLOW_DOWN_SECONDS
            if (failed := device_error(exc)) is not None:
                raise failed from None
        except OAuthUnavailable:
            continue  # a passing failure: try again at the next interval


@dataclass(frozen=True)
class ConsoleFlow:
    id: str
    kind: str
    user_code: str = ""
    verification_uri: str = ""
    authorization_url: str = ""
    expires_at: datetime | None = None


def start_console_flow(
    session: Session,
    box: SecretBox,
    client: FlowClient,
    *,
    connection: str,
    kind: str,
    now: datetime,
    started_by: str,
) -> ConsoleFlow:
    """Begin a sign-in; the caller commits, then shows the code or redirects."""
    session.execute(delete(OAuthFlow).where(OAuthFlow.expires_at < now))
    flow_id = secrets.token_urlsafe(24)
    if kind == "device":
        try:
            device = client.start_device(now=now)
        except (OAuthRefused, OAuthUnavailable) as exc:
            raise FlowFailed(f"the provider did not start the sign-in: {exc}") from None
        row = OAuthFlow(
            id=flow_id, connection=connection, kind=kind, secret=box.seal(device.device_code),
            user_code=device.user_code,
            verification_uri=device.verification_uri_complete or device.verification_uri,
            interval_seconds=device.interval, next_poll_at=now + timedelta(seconds=device.interval),
            expires_at=device.expires_at, started_by=started_by, created_at=now,
        )  # fmt: skip
        session.add(row)
        return ConsoleFlow(
            flow_id, kind, device.user_code, row.verification_uri, "", row.expires_at
        )
    verifier = new_code_verifier()
    url = client.authorization_url(state=flow_id, code_verifier=verifier)
    session.add(
        OAuthFlow(
            id=flow_id,
            connection=connection,
            kind=kind,
            secret=box.seal(verifier),
            expires_at=now + CODE_FLOW_LIFETIME,
            started_by=started_by,
            created_at=now,
        )
    )
    return ConsoleFlow(flow_id, kind, authorization_url=url, expires_at=now + CODE_FLOW_LIFETIME)


@dataclass(frozen=True)
class FlowStatus:
    state: str  # pending | connected | failed
    message: str = ""


def poll_console_flow(
    session: Session,
    box: SecretBox,
    client: FlowClient,
    *,
    flow_id: str,
    connection: str,
    provider: str,
    account: str,
    now: datetime,
) -> FlowStatus:
    """Ask the provider once if it is time to; store the grant when it is given."""
    row = session.get(OAuthFlow, flow_id)
    if row is None or row.connection != connection or row.kind != "device":
        return FlowStatus("failed", "no such sign-in (it ended or expired): start again")
    if row.outcome is not None:
        return FlowStatus("connected" if row.outcome == "ok" else "failed", row.outcome)
    if now >= row.expires_at:
        row.outcome = "the code expired before it was entered: start again"
        return FlowStatus("failed", row.outcome)
    if row.next_poll_at is not None and now < row.next_poll_at:
        return FlowStatus("pending")
    try:
        tokens = client.poll_device(box.open(row.secret), now=now)
    except OAuthRefused as exc:
        if exc.error == "slow_down":
            row.interval_seconds += SLOW_DOWN_SECONDS
        row.next_poll_at = now + timedelta(seconds=row.interval_seconds)
        if (failed := device_error(exc)) is None:
            return FlowStatus("pending")
        row.outcome = str(failed)
        return FlowStatus("failed", row.outcome)
    except OAuthUnavailable:
        row.next_poll_at = now + timedelta(seconds=row.interval_seconds)
        return FlowStatus("pending", "the provider did not answer; trying again")
    return _connected(session, box, row, tokens, provider, account, now)


def finish_code_flow(
    session: Session,
    box: SecretBox,
    client: FlowClient,
    *,
    state: str,
    code: str | None,
    error: str | None,
    connection: str,
    provider: str,
    account: str,
    now: datetime,
) -> tuple[FlowStatus, TokenSet | None]:
    """The provider sent the admin back with ``code`` (or ``error``) for flow ``state``."""
    row = session.get(OAuthFlow, state)
    if row is None or row.connection != connection or row.kind != "authorization_code":
        return FlowStatus("failed", "unknown or finished sign-in: start again"), None
    if row.outcome is not None:  # a reload of the callback page: the code was used already
        return FlowStatus("connected" if row.outcome == "ok" else "failed", row.outcome), None
    if now >= row.expires_at:
        row.outcome = "the sign-in took too long: start again"
        return FlowStatus("failed", row.outcome), None
    if error or not code:
        row.outcome = f"the provider did not grant access ({error or 'no code'})"
        return FlowStatus("failed", row.outcome), None
    try:
        tokens = client.exchange_code(code=code, code_verifier=box.open(row.secret), now=now)
    except (OAuthRefused, OAuthUnavailable) as exc:
        row.outcome = f"the provider refused the code: {exc}"
        return FlowStatus("failed", row.outcome), None
    return _connected(session, box, row, tokens, provider, account, now), tokens


def _connected(
    session: Session,
    box: SecretBox,
    row: OAuthFlow,
    tokens: TokenSet,
    provider: str,
    account: str,
    now: datetime,
) -> FlowStatus:
    try:
        store_grant(
            session, box, name=row.connection, provider=provider, tokens=tokens,
            account=account, now=now, connected_by=row.started_by,
        )  # fmt: skip
    except ValueError as exc:
        row.outcome = str(exc)
        return FlowStatus("failed", row.outcome)
    row.outcome, row.secret = "ok", ""
    return FlowStatus("connected", f"{row.connection} connected as {account or 'the account'}")
