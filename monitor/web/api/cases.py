"""The REST API under /api/v1: every console action, for tools and scripts.

Authentication is a bearer token from `complaint-monitor token create`; each endpoint
needs one scope (accounts.SCOPES). Actions on a case act as the staff member the token
belongs to, so a token without a staff member may read but not claim or write.

Status codes: 401 no or bad token; 403 missing scope or role; 404 no such thing;
409 the case is claimed by someone else; 422 invalid input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from monitor.cases import assignment, bulk, casefile, staff_actions
from monitor.cases import service as queue
from monitor.cases.queries import QueueFilter, QueueKey, list_queue
from monitor.customers import linking
from monitor.models import Staff
from monitor.staff import accounts
from monitor.web.api.schemas import (
    AssignIn,
    AssignOut,
    BulkAssignIn,
    BulkResolveIn,
    CaseOut,
    ClaimIn,
    ClaimOut,
    ConflictOut,
    ErrorOut,
    LinkIn,
    LinkOut,
    NoteIn,
    NoteOut,
    QueueItemOut,
    QueuePageOut,
    ResolveOut,
    StageIn,
    case_out,
    claim_out,
)
from monitor.web.deps import Config, DbTx, Now

bearer_scheme = HTTPBearer(auto_error=False, description="a token from `token create`")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no token, or a bad or revoked one"},
    403: {"model": ErrorOut, "description": "the token lacks the scope, or its staff the role"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such case"}
}
LINK_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such identity or customer"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ConflictOut, "description": "the case is claimed by someone else"}
}


@dataclass(frozen=True)
class Principal:
    token_id: int
    scopes: tuple[str, ...]
    staff: Staff | None


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def principal(
    session: DbTx,
    now: Now,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise _unauthorised("an Authorization: Bearer token is required")
    token = accounts.find_token(session, creds.credentials, now=now)
    if token is None:
        raise _unauthorised("the token is unknown or revoked")
    staff = session.get(Staff, token.staff_id) if token.staff_id else None
    if staff is not None and not staff.active:
        raise _unauthorised("the token's staff account is disabled")
    return Principal(token.id, tuple(token.scopes), staff)


def scoped(scope: str) -> Any:
    def check(p: Annotated[Principal, Depends(principal)]) -> Principal:
        if not accounts.has_scope(p.scopes, scope):
            raise HTTPException(403, detail=f"this needs the {scope!r} scope")
        return p

    return Depends(check)


def acting(p: Principal) -> Staff:
    if p.staff is None:
        raise HTTPException(403, detail="this token is not tied to a staff member (--staff)")
    return p.staff


def claim_timeout(cfg: Config) -> timedelta:
    return timedelta(minutes=cfg.settings.queue.claim_timeout_minutes)


Reader = Annotated[Principal, scoped("queue:read")]
Writer = Annotated[Principal, scoped("cases:write")]
Timeout = Annotated[timedelta, Depends(claim_timeout)]


router = APIRouter(prefix="/api/v1", tags=["queue"], responses=ERRORS)


@router.get("/queue", response_model=QueuePageOut)
def get_queue(
    session: DbTx,
    now: Now,
    cfg: Config,
    p: Reader,
    channel: str | None = None,
    status: Literal["open", "waiting", "resolved"] = "open",
    band: str | None = None,
    claimed: Literal["mine", "unclaimed"] | None = None,
    sort: Annotated[
        Literal["priority", "due"], Query(description="due: breaching soon first")
    ] = "priority",
    sla: Annotated[
        Literal["soon", "breached"] | None,
        Query(description="soon: due within sla.soon_minutes or breached"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="`next` of the previous page")] = None,
) -> QueuePageOut:
    """Open cases, highest frustration first, then whoever has waited longest; with
    ``sort=due``, the response-time target due soonest (most overdue) first."""
    filters = QueueFilter(
        channel=channel,
        status=status,
        band=band,
        claimed=claimed,
        staff_id=p.staff.id if p.staff else None,
        sort=sort,
        sla=sla,
        soon=timedelta(minutes=cfg.settings.sla.soon_minutes),
    )
    key = QueueKey.decode(after) if after else None
    page = list_queue(session, now=now, filters=filters, limit=limit, after=key)
    return QueuePageOut(
        items=[QueueItemOut.from_row(r) for r in page.rows],
        next=page.next.encode() if page.next else None,
    )


@router.get("/cases/{case_id}", response_model=CaseOut, responses=NOT_FOUND)
def get_case(case_id: int, session: DbTx, now: Now, cfg: Config, _p: Reader) -> CaseOut:
    """The case with the customer's identities, whole history, promises and facts."""
    own = cfg.settings.sources.email.own_addresses
    return case_out(casefile.load(session, case_id, now=now, own_addresses=own))


@router.post("/cases/{case_id}/claim", response_model=ClaimOut, responses=NOT_FOUND | CONFLICT)
def claim(
    case_id: int,
    session: DbTx,
    now: Now,
    p: Writer,
    timeout: Timeout,
    body: ClaimIn | None = None,
) -> ClaimOut:
    """Claim the case (or renew one's claim); a lead may take it over with take_over."""
    staff = acting(p)
    take_over = body.take_over if body else False
    case = queue.claim(session, case_id, staff=staff, now=now, timeout=timeout, take_over=take_over)
    return claim_out(case, staff)


@router.post("/cases/{case_id}/release", response_model=ClaimOut, responses=NOT_FOUND | CONFLICT)
def release(case_id: int, session: DbTx, now: Now, p: Writer) -> ClaimOut:
    """Give the claim back (a lead may release anyone's)."""
    case = queue.release(session, case_id, staff=acting(p), now=now)
    return claim_out(case, None)


@router.post("/cases/{case_id}/notes", response_model=NoteOut, status_code=201, responses=NOT_FOUND)
def add_note(
    case_id: int, body: NoteIn, session: DbTx, now: Now, p: Writer, timeout: Timeout
) -> NoteOut:
    """Add an internal note (never sent to the customer)."""
    staff = acting(p)
    case = queue.get_case(session, case_id)
    event = queue.add_note(session, case, staff=staff, text=body.text, now=now)
    queue.touch(session, case, staff=staff, now=now, timeout=timeout)
    session.flush()
    return NoteOut(
        id=event.id, case_id=case.id, text=event.payload["text"], actor=staff.name, at=now
    )


@router.post("/cases/{case_id}/stage", response_model=CaseOut, responses=NOT_FOUND | CONFLICT)
def change_stage(
    case_id: int,
    body: StageIn,
    session: DbTx,
    now: Now,
    cfg: Config,
    p: Writer,
    timeout: Timeout,
) -> CaseOut:
    """Record a recovery stage (listened … resolved); resolving closes the case."""
    staff = acting(p)
    case = queue.get_case(session, case_id)
    queue.advance_stage(
        session,
        case,
        body.stage,
        actor=staff,
        now=now,
        check_in_after=timedelta(hours=cfg.settings.reports.check_in_hours),
        text=body.text,
    )
    queue.touch(session, case, staff=staff, now=now, timeout=timeout)
    session.flush()
    own = cfg.settings.sources.email.own_addresses
    return case_out(casefile.load(session, case_id, now=now, own_addresses=own))


def _assignee(session: DbTx, staff_id: int | None) -> Staff | None:
    return assignment.staff_by_id(session, staff_id) if staff_id is not None else None


@router.post("/cases/{case_id}/assign", response_model=CaseOut, responses=NOT_FOUND)
def assign_case(
    case_id: int, body: AssignIn, session: DbTx, now: Now, cfg: Config, p: Writer
) -> CaseOut:
    """Give the case a lasting owner (or none); its assignee or a lead may hand it over."""
    staff = acting(p)
    case = queue.get_case(session, case_id)
    to = _assignee(session, body.staff_id)
    assignment.assign(session, case, to=to, by=staff, now=now, note=body.note)
    session.flush()
    own = cfg.settings.sources.email.own_addresses
    return case_out(casefile.load(session, case_id, now=now, own_addresses=own))


@router.post("/cases/assign", response_model=AssignOut, responses=NOT_FOUND)
def assign_cases(body: BulkAssignIn, session: DbTx, now: Now, p: Writer) -> AssignOut:
    """Assign many cases at once (all or none)."""
    staff = acting(p)
    to = _assignee(session, body.staff_id)
    changed = assignment.assign_many(
        session, body.case_ids, to=to, by=staff, now=now, note=body.note
    )
    return AssignOut(case_ids=changed, staff_id=body.staff_id)


@router.post("/cases/resolve", response_model=ResolveOut, responses=NOT_FOUND | CONFLICT)
def resolve_cases(
    body: BulkResolveIn, session: DbTx, now: Now, cfg: Config, p: Writer
) -> ResolveOut:
    """Resolve many cases at once (all or none: 409 naming the first case someone else
    holds); each resolved case gets its check-in task, as when resolved alone."""
    after = timedelta(hours=cfg.settings.reports.check_in_hours)
    resolved = bulk.resolve_many(
        session, body.case_ids, by=acting(p), now=now, check_in_after=after
    )
    return ResolveOut(case_ids=resolved)


@router.post(
    "/identities/{identity_id}/link",
    response_model=LinkOut,
    responses=LINK_NOT_FOUND | CONFLICT,
)
def link(identity_id: int, body: LinkIn, session: DbTx, now: Now, p: Writer) -> LinkOut:
    """This identity belongs to that customer (merges a customer left empty).

    409 while someone else holds an open case of either customer (the claim covers links)."""
    staff = acting(p)
    staff_actions.ensure_may_link(
        session, identity_id=identity_id, customer_id=body.customer_id, staff=staff, now=now
    )
    customer = linking.link_identity(
        session,
        identity_id=identity_id,
        customer_id=body.customer_id,
        actor=staff.name,
        now=now,
    )
    return LinkOut(identity_id=identity_id, customer_id=customer.id)


def error_status(exc: Exception) -> int:
    if isinstance(exc, queue.CaseNotFound | linking.LinkError):
        return 404
    if isinstance(exc, queue.ClaimConflict | staff_actions.KeyReused):
        return 409
    if isinstance(exc, queue.NotAllowed):
        return 403
    return 422


def error_body(exc: Exception) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, queue.ClaimConflict):
        body |= {
            "holder": exc.holder_name,
            "holder_id": exc.holder_id,
            "until": exc.until.isoformat(),
        }
    return body
