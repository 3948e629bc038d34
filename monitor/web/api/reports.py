"""REST: the reports, for any period and filter, as JSON or one table as CSV.

``GET /api/v1/reports`` lists them; ``GET /api/v1/reports/{name}`` computes one
(``from``/``to`` local days YYYY-MM-DD, default the last 28 days; ``tz`` an IANA zone,
default ``reports.timezone``; filters ``channel``, ``cause`` (``none`` for cases without
one), ``tag``, ``agent`` and ``team`` (staff ids)); ``GET /api/v1/reports/{name}/{table}.csv``
is one of its tables as CSV. Scope ``queue:read``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

from monitor.reports import figures
from monitor.reports.period import Filters, Period, parse_period
from monitor.reports.service import ReportsError
from monitor.reports.tables import Table, to_csv
from monitor.web.api.cases import ERRORS, Principal, scoped
from monitor.web.deps import Config, DbTx, Now

Reader = Annotated[Principal, scoped("queue:read")]


@dataclass(frozen=True)
class ReportAsk:
    period: Period
    filters: Filters

    def query(self) -> dict[str, str]:
        p = self.period
        return {
            "from": p.first.isoformat(),
            "to": p.last.isoformat(),
            "tz": p.tz,
            **self.filters.query(),
        }


def report_ask(
    cfg: Config,
    now: Now,
    from_: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD")] = None,
    to: Annotated[str | None, Query(description="YYYY-MM-DD, included")] = None,
    tz: Annotated[str | None, Query(description="IANA zone")] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
    cause: Annotated[str | None, Query(max_length=40)] = None,
    tag: Annotated[str | None, Query(max_length=40)] = None,
    agent: Annotated[str | None, Query(description="staff id", pattern=r"^\d{0,12}$")] = None,
    team: Annotated[
        str | None, Query(description="a lead's staff id", pattern=r"^\d{0,12}$")
    ] = None,
) -> ReportAsk:
    """The period and filters of a request; empty form fields mean "all"."""
    try:
        period = parse_period(
            from_ or None, to or None, tz=tz or cfg.settings.reports.timezone, now=now
        )
    except ReportsError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    filters = Filters(
        channel=channel or None,
        cause=cause or None,
        tag=tag or None,
        agent_id=int(agent) if agent else None,
        team_id=int(team) if team else None,
    )
    return ReportAsk(period, filters)


Ask = Annotated[ReportAsk, Depends(report_ask)]


class ReportInfo(BaseModel):
    name: str
    title: str


class TableOut(BaseModel):
    name: str
    title: str
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    note: str = ""


class ReportOut(BaseModel):
    report: str
    title: str
    period: dict[str, Any]
    filters: dict[str, str]
    tables: list[TableOut]


def compute(session: DbTx, name: str, ask: ReportAsk, cfg: Config, now: datetime) -> list[Table]:
    if name not in figures.REPORTS:
        raise HTTPException(404, detail=f"no report {name!r}; see /api/v1/reports")
    return figures.run(
        session, name, ask.period, ask.filters, settings=cfg.settings.reports, now=now
    )


def csv_response(table: Table, name: str, ask: ReportAsk) -> Response:
    filename = f"{name}-{table.name}-{ask.period.first}-{ask.period.last}.csv"
    return Response(
        to_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERRORS)


@router.get("", response_model=list[ReportInfo])
def list_reports(_p: Reader) -> list[ReportInfo]:
    return [ReportInfo(name=k, title=t) for k, (t, _) in figures.REPORTS.items()]


@router.get("/{name}", response_model=ReportOut)
def get_report(name: str, ask: Ask, session: DbTx, now: Now, cfg: Config, _p: Reader) -> ReportOut:
    """One report's tables for the period and filters (figures computed by SQL)."""
    tables = compute(session, name, ask, cfg, now)
    p = ask.period
    return ReportOut(
        report=name,
        title=figures.REPORTS[name][0],
        period={
            "from": p.first,
            "to": p.last,
            "tz": p.tz,
            "unit": p.unit,
            "start": p.start,
            "end": p.end,
        },
        filters=ask.filters.query(),
        tables=[
            TableOut(
                name=t.name,
                title=t.title,
                note=t.note,
                columns=[{"key": k, "heading": h} for k, h in t.columns],
                rows=t.as_dicts(),
            )
            for t in tables
        ],
    )


@router.get("/{name}/{table}.csv", response_class=Response)
def get_csv(
    name: str, table: str, ask: Ask, session: DbTx, now: Now, cfg: Config, _p: Reader
) -> Response:
    """One table of a report as CSV (the same cells the console shows)."""
    found = next((t for t in compute(session, name, ask, cfg, now) if t.name == table), None)
    if found is None:
        raise HTTPException(404, detail=f"report {name!r} has no table {table!r}")
    return csv_response(found, name, ask)
