"""The console's reports page: every report for a period and filters, each table with
its chart (inline SVG) beside it and a CSV download of exactly its cells."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from monitor.models import Role
from monitor.reports import figures
from monitor.staff import accounts
from monitor.web.api.reports import Ask, compute, csv_response
from monitor.web.auth import CurrentStaff
from monitor.web.console import charts
from monitor.web.console.pages import CHANNELS, render
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    ask: Ask,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    report: str = "volume",
) -> HTMLResponse:
    if report not in figures.REPORTS:
        report = "volume"
    tables = compute(session, report, ask, cfg, now)
    query = urlencode(ask.query())
    team = accounts.active_staff(session)
    return render(
        request,
        "reports.html",
        staff=staff,
        report=report,
        reports=[(k, t) for k, (t, _) in figures.REPORTS.items()],
        tables=[(t, charts.chart(t)) for t in tables],
        ask=ask,
        query=query,
        channels=CHANNELS,
        causes=cfg.settings.reports.causes,
        agents=team,
        leads=[s for s in team if s.role in (Role.LEAD, Role.ADMIN)],
    )


@router.get("/reports/{name}/{table}.csv", response_class=Response)
def report_csv(
    name: str, table: str, ask: Ask, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff
) -> Response:
    found = next((t for t in compute(session, name, ask, cfg, now) if t.name == table), None)
    if found is None:
        raise HTTPException(404, detail=f"report {name!r} has no table {table!r}")
    return csv_response(found, name, ask)
