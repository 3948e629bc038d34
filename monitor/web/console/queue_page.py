"""The live queue: filters, the rows (``/partials/queue``, which the live refresh swaps
in) and the bulk toolbar over the rows (its buttons post to
:mod:`monitor.web.console.bulk_forms`, which come back here with a one-line notice, or
render the queue again with the refusal and the same cases still selected).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from monitor.cases.queries import QueueFilter, QueueKey, list_queue
from monitor.config import LoadedConfig
from monitor.incidents import queries as incident_queries
from monitor.models import Incident, Staff
from monitor.staff import accounts
from monitor.web.auth import CurrentStaff
from monitor.web.console.pages import CHANNELS, render
from monitor.web.deps import Config, DbTx, Now

BANDS = ("low", "medium", "high", "critical")
STATUSES = ("open", "waiting", "resolved")
# What a bulk action did, for the notice after it: ?done=resolved&n=3&of=4.
DONE = {
    "assigned": "assigned",
    "unassigned": "unassigned",
    "resolved": "resolved",
    "tagged": "tagged",
    "attached": "attached to {incident}",
}


@dataclass(frozen=True)
class QueueParams:
    """The queue page's query string (unknown values are ignored, not refused)."""

    channel: str | None = None
    status: str | None = None
    band: str | None = None
    claimed: str | None = None
    sort: str | None = None
    sla: str | None = None
    after: str | None = None

    @classmethod
    def of_url(cls, url: str) -> QueueParams:
        """The filters of a queue address (a bulk form's ``back``)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in parse_qsl(urlsplit(url).query) if k in names})


def _filters(staff: Staff, q: QueueParams, cfg: LoadedConfig) -> QueueFilter:
    return QueueFilter(
        channel=q.channel if q.channel in CHANNELS else None,
        status=q.status if q.status in STATUSES else "open",
        band=q.band if q.band in BANDS else None,
        claimed=q.claimed if q.claimed in ("mine", "unclaimed") else None,
        staff_id=staff.id,
        sort="due" if q.sort == "due" else "priority",
        sla=q.sla if q.sla in ("soon", "breached") else None,
        soon=timedelta(minutes=cfg.settings.sla.soon_minutes),
    )


def queue_context(
    session: Session, now: datetime, staff: Staff, cfg: LoadedConfig, q: QueueParams
) -> dict[str, Any]:
    f = _filters(staff, q, cfg)
    key = QueueKey.decode(q.after) if q.after else None
    page = list_queue(session, now=now, filters=f, limit=50, after=key)
    query = {
        k: v
        for k, v in (
            ("channel", f.channel),
            ("status", f.status),
            ("band", f.band),
            ("claimed", f.claimed),
            ("sort", f.sort if f.sort != "priority" else None),
            ("sla", f.sla),
        )
        if v
    }
    next_url = "/?" + urlencode({**query, "after": page.next.encode()}) if page.next else None
    return {
        "rows": page.rows,
        "filters": f,
        "now": now,
        "staff": staff,
        "next_url": next_url,
        "query": urlencode(query),
    }


def _count(value: str | None) -> int | None:
    if value and value.isascii() and value.isdigit() and len(value) < 7:
        return int(value)
    return None


def bulk_notice(session: Session, done: str | None, n: str | None, of: str | None,
                incident: str | None) -> str | None:  # fmt: skip
    """ "3 cases resolved", "2 cases attached to Login fails (1 already was)"."""
    changed, chosen = _count(n), _count(of)
    if done not in DONE or changed is None:
        return None
    inc_id = _count(incident) if done == "attached" else None
    inc = session.get(Incident, inc_id) if inc_id else None
    what = DONE[done].format(incident=inc.title if inc else "the incident")
    text = f"{changed} {'case' if changed == 1 else 'cases'} {what}"
    if chosen is not None and chosen > changed:
        rest = chosen - changed
        text += f" ({rest} already {'was' if rest == 1 else 'were'})"
    return text


def queue_view(
    request: Request,
    session: Session,
    now: datetime,
    cfg: LoadedConfig,
    staff: Staff,
    q: QueueParams,
    *,
    status_code: int = 200,
    notice: str | None = None,
    error: str | None = None,
    picked: Iterable[int] = (),
) -> HTMLResponse:
    """The queue page with its toolbar; ``picked`` rows are rendered selected."""
    ctx = queue_context(session, now, staff, cfg, q)
    return render(
        request, "queue.html", status_code, channels=CHANNELS, bands=BANDS, statuses=STATUSES,
        owners=accounts.active_staff(session), incidents=incident_queries.open_incidents(session),
        causes=cfg.settings.reports.causes, notice=notice, error=error, picked=set(picked), **ctx,
    )  # fmt: skip


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    q: Annotated[QueueParams, Depends()],
    done: str | None = None,
    n: str | None = None,
    of: str | None = None,
    incident: str | None = None,
) -> HTMLResponse:
    notice = bulk_notice(session, done, n, of, incident)
    return queue_view(request, session, now, cfg, staff, q, notice=notice)


@router.get("/partials/queue", response_class=HTMLResponse)
def queue_rows(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    q: Annotated[QueueParams, Depends()],
) -> HTMLResponse:
    ctx = queue_context(session, now, staff, cfg, q)
    return render(request, "_queue_rows.html", **ctx)
