"""Console pages across cases: the promises board (/promises) and the alerts log (/alerts).

Both read only; each row links to its case, where the actions are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Alert, AlertState
from monitor.promises.board import KINDS, VIEWS, board
from monitor.web.auth import CurrentStaff
from monitor.web.console.pages import render
from monitor.web.deps import DbTx, Now
from monitor.web.viewer_zone import viewer_zone

router = APIRouter(include_in_schema=False)
ALERT_STATES = ("failed", "sent", "pending")


@router.get("/promises", response_class=HTMLResponse)
def promises_page(
    request: Request,
    session: DbTx,
    now: Now,
    staff: CurrentStaff,
    view: str = "unkept",
    mine: bool = False,
    kind: str = "",
) -> HTMLResponse:
    view = view if view in VIEWS else "unkept"
    kind = kind if kind in KINDS else ""
    rows = board(
        session,
        now=now,
        view=view,
        owner_id=staff.id if mine else None,
        kind=kind or None,
        timezone=viewer_zone(request, staff),
    )
    return render(
        request,
        "promises.html",
        staff=staff,
        now=now,
        rows=rows,
        view=view,
        views=VIEWS,
        mine=mine,
        kind=kind,
        kinds=KINDS,
    )


def alert_rows(session: Session, state: str | None, limit: int = 200) -> list[Alert]:
    stmt = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(Alert.state == state)
    return list(session.scalars(stmt))


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    session: DbTx,
    now: Now,
    staff: CurrentStaff,
    state: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    state = state if state in ALERT_STATES else ""
    return render(
        request,
        "alerts.html",
        staff=staff,
        now=now,
        alerts=alert_rows(session, state or None),
        state=state,
        states=ALERT_STATES,
        failed=AlertState.FAILED,
    )
