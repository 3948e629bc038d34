"""The queue's bulk toolbar: one form over the row checkboxes, one button per action
(assign, resolve, tag and set the cause, attach to an open incident), each button
posting to its own route (``formaction``), so it works without JavaScript.

Each action is one transaction, all or nothing, with the same permission checks and
history events as the single-case action (see :mod:`monitor.cases.bulk`). Done, it
redirects back to the same filtered queue with a notice ("3 cases resolved"); refused,
it renders that queue again with the refusal (which names the case) and the same cases
still selected. The domain checks every case before changing any; the SAVEPOINT around
each action makes sure a refusal leaves nothing behind all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from monitor.cases import assignment, bulk
from monitor.cases import service as queue
from monitor.config import LoadedConfig
from monitor.incidents import service as incidents
from monitor.models import Staff
from monitor.reports import service as reports
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.assign_forms import _target
from monitor.web.console.pages import _safe_next
from monitor.web.console.queue_page import QueueParams, queue_view
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(include_in_schema=False)
CaseIds = Annotated[list[int] | None, Form()]
Back = Annotated[str, Form(max_length=2000)]
REFUSALS = (queue.QueueError, reports.ReportsError, incidents.IncidentError)
NOTICE_KEYS = ("done", "n", "of", "incident")


def _status(exc: Exception) -> int:
    if isinstance(exc, queue.CaseNotFound | incidents.IncidentNotFound):
        return 404
    if isinstance(exc, queue.ClaimConflict):
        return 409
    return 403 if isinstance(exc, queue.NotAllowed) else 422


def back_with(back: str, **notice: str | int) -> str:
    """The queue address the form came from, with this notice instead of an older one."""
    target = urlsplit(_safe_next(back))
    kept = [(k, v) for k, v in parse_qsl(target.query) if k not in NOTICE_KEYS]
    query = urlencode([*kept, *((k, str(v)) for k, v in notice.items())])
    return f"{target.path or '/'}?{query}"


def run_bulk(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: LoadedConfig,
    staff: Staff,
    *,
    case_ids: list[int] | None,
    back: str,
    done: str,
    action: Callable[[list[int]], int],
    **extra: str | int,
) -> Response:
    """``action`` over the chosen cases (returns how many it changed), in a SAVEPOINT."""
    ids = list(dict.fromkeys(case_ids or []))
    try:
        with session.begin_nested():
            changed = action(bulk.chosen(ids))
    except REFUSALS as exc:
        return queue_view(
            request, session, now, cfg, staff, QueueParams.of_url(_safe_next(back)),
            status_code=_status(exc), error=f"Nothing was changed: {exc}", picked=ids,
        )  # fmt: skip
    target = back_with(back, done=done, n=changed, of=len(ids), **extra)
    return RedirectResponse(target, status_code=303)


@router.post("/queue/assign", dependencies=[CsrfChecked])
def assign(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    case_ids: CaseIds = None,
    assignee: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Back = "/",
) -> Response:
    def action(ids: list[int]) -> int:
        to = _target(session, staff, assignee)
        return len(assignment.assign_many(session, ids, to=to, by=staff, now=now, note=note))

    done = "assigned" if assignee else "unassigned"
    return run_bulk(
        request, session, now, cfg, staff, case_ids=case_ids, back=back, done=done, action=action
    )


@router.post("/queue/resolve", dependencies=[CsrfChecked])
def resolve(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    case_ids: CaseIds = None,
    back: Back = "/",
) -> Response:
    after = timedelta(hours=cfg.settings.reports.check_in_hours)

    def action(ids: list[int]) -> int:
        return len(bulk.resolve_many(session, ids, by=staff, now=now, check_in_after=after))

    return run_bulk(
        request, session, now, cfg, staff, case_ids=case_ids, back=back, done="resolved",
        action=action,
    )  # fmt: skip


@router.post("/queue/tag", dependencies=[CsrfChecked])
def tag(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    case_ids: CaseIds = None,
    tags: Annotated[str, Form(max_length=800)] = "",
    cause: Annotated[str, Form(max_length=40)] = "",
    back: Back = "/",
) -> Response:
    """Adds the tags (comma-separated; none is removed) and sets the cause if chosen."""

    def action(ids: list[int]) -> int:
        adding = reports.clean_tags(tags.split(","))
        if not adding and not cause:
            raise queue.QueueError("write a tag to add or choose a cause")
        return reports.retag(
            session, ids, add=adding, cause=cause or None, staff=staff,
            settings=cfg.settings.reports, now=now,
        )  # fmt: skip

    return run_bulk(
        request, session, now, cfg, staff, case_ids=case_ids, back=back, done="tagged",
        action=action,
    )  # fmt: skip


@router.post("/queue/attach", dependencies=[CsrfChecked])
def attach(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    case_ids: CaseIds = None,
    incident_id: Annotated[str, Form(max_length=20)] = "",
    back: Back = "/",
) -> Response:
    def action(ids: list[int]) -> int:
        if not (incident_id.isascii() and incident_id.isdigit() and len(incident_id) < 10):
            raise incidents.IncidentError("choose an open incident")
        inc = incidents.get(session, int(incident_id))
        return len(incidents.attach(session, inc, ids, staff=staff, now=now, how="bulk"))

    return run_bulk(
        request, session, now, cfg, staff, case_ids=case_ids, back=back, done="attached",
        action=action, incident=incident_id,
    )  # fmt: skip
