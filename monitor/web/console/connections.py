"""Admin > Connections: connect a mailbox or the X account, see their state, X's cost and
the items kept aside (quarantined).

Admins only, CSRF on every POST. The device flow shows the code and the page asks
``/admin/connections/{name}/flows/{id}`` every few seconds (static/connections.js); the
provider is asked no more often than it allows (``monitor.connections.flows``). The code
flow redirects to the provider, which sends the admin back to
``/admin/connections/{name}/callback``; register that URL with the provider (or set
``oauth2.console_redirect_uri`` when the desk is behind a proxy). Tokens never reach a
page. ``/notices.json`` (any signed-in staff) feeds the banner above the queue.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import ConfigError, LoadedConfig
from monitor.connections import flows
from monitor.connections.clients import CONNECTIONS, Connection, connection, oauth_session
from monitor.ingest.health import recent_quarantine, source_health
from monitor.ingest.notices import as_json, notices
from monitor.models import OAuthGrant, Role, Staff
from monitor.sources.base import SourceError
from monitor.sources.oauth import OAuthSession
from monitor.usage import budgets
from monitor.usage.meter import summary
from monitor.web.auth import CsrfChecked, CurrentStaff, require_role
from monitor.web.console.pages import render
from monitor.web.deps import Box, Config, DbTx, Now

AdminStaff = Annotated[Staff, require_role(Role.ADMIN)]
PREFIX = "/admin/connections"


def _client(request: Request, cfg: LoadedConfig, conn: Connection) -> OAuthSession:
    session = oauth_session(cfg, conn)
    redirect = conn.settings.console_redirect_uri or str(
        request.url_for("connection_callback", name=conn.name)
    )
    session.client = dataclasses.replace(session.client, redirect_uri=redirect)
    return session


def _describe(session: Session, cfg: LoadedConfig, name: str) -> dict[str, Any]:
    try:
        conn: Connection | None = connection(cfg, name)
        assert conn is not None
        conn.settings.client(conn.where)
        problem = None
    except ConfigError as exc:
        conn, problem = None, str(exc)
    grant = session.get(OAuthGrant, name)
    prefix = "x:" if name == "x" else f"{name}:"
    return {
        "name": name,
        "title": conn.title if conn else name,
        "in_use": conn.in_use if conn else False,
        "flow": conn.settings.client(conn.where).flow if conn else None,
        "provider": conn.settings.provider if conn else None,
        "problem": problem,
        "grant": grant,
        "sources": [h for h in source_health(session) if h["source"].startswith(prefix)],
    }


router = APIRouter(include_in_schema=False)


@router.get(PREFIX)
def connections_page(
    request: Request, session: DbTx, now: Now, cfg: Config, staff: AdminStaff,
    done: str = "", error: str = "",
) -> Response:  # fmt: skip
    costs = cfg.settings.sources.twitter.costs
    return render(
        request, "connections.html", staff=staff, done=done[:300], error=error[:300],
        connections=[_describe(session, cfg, n) for n in CONNECTIONS],
        costs=summary(session, prices=costs.prices, now=now),
        budget=budgets.evaluate(session, costs, now=now), budgets=costs.budgets,
        quarantine=recent_quarantine(session),
    )  # fmt: skip


@router.post(PREFIX + "/{name}/start", dependencies=[CsrfChecked])
def start(
    request: Request, name: str, session: DbTx, now: Now, cfg: Config, box: Box,
    staff: AdminStaff,
) -> Response:  # fmt: skip
    try:
        conn = connection(cfg, name)
        client = _client(request, cfg, conn)
        started = flows.start_console_flow(
            session, box, client, connection=name, kind=client.client.flow, now=now,
            started_by=staff.name,
        )  # fmt: skip
    except (ConfigError, flows.FlowFailed) as exc:
        return _back(error=str(exc))
    if started.kind == "authorization_code":
        return RedirectResponse(started.authorization_url, status_code=303)
    return render(request, "connections_device.html", staff=staff, conn=conn, flow=started)


@router.post(PREFIX + "/{name}/flows/{flow_id}", dependencies=[CsrfChecked])
def poll(
    request: Request, name: str, flow_id: str, session: DbTx, now: Now, cfg: Config, box: Box,
    staff: AdminStaff,
) -> Response:  # fmt: skip
    try:
        conn = connection(cfg, name)
        client = _client(request, cfg, conn)
    except ConfigError as exc:
        return JSONResponse({"state": "failed", "message": str(exc)})
    status = flows.poll_console_flow(
        session, box, client, flow_id=flow_id, connection=name,
        provider=conn.settings.provider, account=conn.account, now=now,
    )  # fmt: skip
    return JSONResponse({"state": status.state, "message": status.message})


@router.get(PREFIX + "/{name}/callback", name="connection_callback")
def callback(
    request: Request, name: str, session: DbTx, now: Now, cfg: Config, box: Box,
    staff: AdminStaff, state: str = "", code: str | None = None, error: str | None = None,
) -> Response:  # fmt: skip
    try:
        conn = connection(cfg, name)
        client = _client(request, cfg, conn)
    except ConfigError as exc:
        return _back(error=str(exc))
    status, tokens = flows.finish_code_flow(
        session, box, client, state=state, code=code, error=error, connection=name,
        provider=conn.settings.provider, account=conn.account, now=now,
    )  # fmt: skip
    if status.state != "connected":
        return _back(error=status.message)
    if name == "x" and tokens is not None:
        _name_x_account(session, cfg, tokens.access_token, now)
    return _back(done=f"{conn.title} connected")


@router.get("/notices.json")
def notices_json(session: DbTx, now: Now, cfg: Config, staff: CurrentStaff) -> Response:
    return JSONResponse(as_json(notices(session, cfg.settings, now=now)))


def _name_x_account(session: Session, cfg: LoadedConfig, token: str, now: Any) -> None:
    from monitor.sources.twitter.account import who_am_i

    tw = cfg.settings.sources.twitter
    grant = session.scalars(select(OAuthGrant).where(OAuthGrant.name == "x")).one()
    try:
        grant.account, grant.account_id = who_am_i(
            tw.api_base_url, token, timeout=tw.timeout_seconds, now=now
        )
    except (SourceError, ValueError) as exc:
        grant.last_error = f"connected, but X did not say which account: {exc}"[:2000]


def _back(**message: str) -> Response:
    from urllib.parse import urlencode

    return RedirectResponse(f"{PREFIX}?{urlencode(message)}", status_code=303)
