"""REST: incidents (declare, list, view, update, attach/detach cases, suggestions).

Scopes: ``queue:read`` to read and to ask for suggestions, ``cases:write`` to declare,
update and attach (acting as the token's staff member). A status change answers with
how many follow-up tasks (or, on resolution, check-ins) it set.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from monitor.cases import service as queue
from monitor.incidents import overview as views
from monitor.incidents import queries
from monitor.incidents import service as incidents
from monitor.models import Incident
from monitor.web.api.cases import ERRORS, Principal, acting, scoped
from monitor.web.deps import Config, DbTx, Now

Reader = Annotated[Principal, scoped("queue:read")]
Writer = Annotated[Principal, scoped("cases:write")]
State = Literal["investigating", "identified", "monitoring", "resolved"]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such incident or case"}}


class IncidentIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    status_text: str = Field("", max_length=4000, description="public: what we know")
    workaround: str = Field("", max_length=4000)
    state: State = "investigating"
    terms: list[str] = Field(
        default_factory=list, max_length=50, description="words its complaints use"
    )
    asks: list[str] = Field(
        default_factory=list, max_length=10,
        description="what to ask each customer: error_code, app_version, device, os_version, date",
    )  # fmt: skip


class IncidentPatch(BaseModel):
    title: str | None = Field(None, max_length=200)
    status_text: str | None = Field(None, max_length=4000)
    workaround: str | None = Field(None, max_length=4000)
    state: State | None = None
    terms: list[str] | None = Field(None, max_length=50)
    asks: list[str] | None = Field(None, max_length=10)


class AttachIn(BaseModel):
    case_ids: list[int] = Field(min_length=1, max_length=5000)
    how: Literal["hand", "bulk", "suggestion"] = "hand"


class IncidentOut(BaseModel):
    id: int
    title: str
    status_text: str
    workaround: str
    state: str
    terms: list[str]
    asks: list[str]
    paragraph: str = Field(description="the shared text every reply may use word for word")
    created_at: datetime
    updated_at: datetime
    state_changed_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, i: Incident) -> IncidentOut:
        return cls(
            paragraph=queries.shared_paragraph(i),
            **{k: getattr(i, k) for k in cls.model_fields if k != "paragraph"},
        )


class AffectedOut(BaseModel):
    case_id: int
    customer: str
    channel: str
    band: str
    score: int
    status: str
    last_heard: datetime | None
    seconds_since_heard: float | None = Field(description="null: never heard from us")
    task: str | None


class OverviewOut(IncidentOut):
    affected: int
    by_channel: dict[str, int]
    by_band: dict[str, int]
    replies_pending: int
    never_heard: int
    open_tasks: int
    cases: list[AffectedOut]


class ChangeOut(IncidentOut):
    status_changed: bool
    tasks: int = Field(description="follow-up tasks (check-ins on resolution) set or re-worded")


class CaseSuggestionOut(BaseModel):
    case_id: int
    similarity: float
    terms: list[str]
    text: str


class IncidentSuggestionOut(BaseModel):
    incident_id: int
    title: str
    state: str
    similarity: float
    terms: list[str]


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (incidents.IncidentNotFound, queue.CaseNotFound) as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except incidents.IncidentError as exc:
        raise HTTPException(422, detail=str(exc)) from None


def overview_out(ov: views.Overview) -> OverviewOut:
    return OverviewOut(
        **IncidentOut.of(ov.incident).model_dump(),
        affected=ov.affected,
        by_channel=ov.by_channel,
        by_band=ov.by_band,
        replies_pending=ov.replies_pending,
        never_heard=ov.never_heard,
        open_tasks=ov.open_tasks,
        cases=[
            AffectedOut(
                **{k: getattr(c, k) for k in AffectedOut.model_fields if hasattr(c, k)},
                seconds_since_heard=c.since_heard.total_seconds() if c.since_heard else None,
            )
            for c in ov.cases
        ],
    )


router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=ERRORS)


@router.post("/incidents", status_code=201)
def declare(body: IncidentIn, session: DbTx, now: Now, p: Writer) -> IncidentOut:
    """Declare an incident (then attach its cases)."""
    with _errors():
        inc = incidents.declare(session, staff=acting(p), now=now, **body.model_dump())
    return IncidentOut.of(inc)


@router.get("/incidents")
def list_incidents(session: DbTx, _p: Reader, open_only: bool = False) -> list[IncidentOut]:
    """Newest first; ``open_only`` leaves the resolved ones out."""
    rows = queries.list_incidents(session, include_resolved=not open_only)
    return [IncidentOut.of(i) for i in rows]


@router.get("/incidents/{incident_id}", responses=NOT_FOUND)
def get_incident(incident_id: int, session: DbTx, now: Now, _p: Reader) -> OverviewOut:
    """The incident with who is affected: by channel and band, replies pending, last heard."""
    with _errors():
        inc = incidents.get(session, incident_id)
    return overview_out(views.overview(session, inc, now=now))


@router.patch("/incidents/{incident_id}", responses=NOT_FOUND)
def update(
    incident_id: int, body: IncidentPatch, session: DbTx, now: Now, cfg: Config, p: Writer
) -> ChangeOut:
    """Edit it; a new state or status text sets a follow-up task for everyone not told."""
    policy = incidents.IncidentPolicy.from_settings(cfg.settings.incidents, cfg.settings.alerts)
    with _errors():
        inc = incidents.get(session, incident_id)
        change = incidents.update(
            session, inc, staff=acting(p), now=now, policy=policy, **body.model_dump()
        )
    return ChangeOut(
        **IncidentOut.of(inc).model_dump(),
        status_changed=change.status_changed,
        tasks=len(change.tasks),
    )


@router.post("/incidents/{incident_id}/cases", responses=NOT_FOUND)
def attach(incident_id: int, body: AttachIn, session: DbTx, now: Now, p: Writer) -> dict[str, Any]:
    """Attach cases (already attached ones are skipped)."""
    with _errors():
        inc = incidents.get(session, incident_id)
        new = incidents.attach(session, inc, body.case_ids, staff=acting(p), now=now, how=body.how)
    return {"attached": new}


@router.delete("/incidents/{incident_id}/cases/{case_id}", status_code=204, responses=NOT_FOUND)
def detach(incident_id: int, case_id: int, session: DbTx, now: Now, p: Writer) -> None:
    with _errors():
        inc = incidents.get(session, incident_id)
        if not incidents.detach(session, inc, case_id, staff=acting(p), now=now):
            raise HTTPException(404, detail=f"case {case_id} is not attached to this incident")


@router.get("/incidents/{incident_id}/suggestions", responses=NOT_FOUND)
def suggestions(incident_id: int, session: DbTx, _p: Reader) -> list[CaseSuggestionOut]:
    """Open cases not attached that read like its cases or use its terms, best first."""
    with _errors():
        inc = incidents.get(session, incident_id)
    return [
        CaseSuggestionOut(case_id=s.case_id, similarity=s.similarity, terms=list(s.terms),
                          text=s.text[:500])
        for s in queries.suggest_cases(session, inc)
    ]  # fmt: skip


@router.get("/cases/{case_id}/incident-suggestions", responses=NOT_FOUND)
def incident_suggestions(
    case_id: int, request: Request, session: DbTx, _p: Reader
) -> list[IncidentSuggestionOut]:
    """The open incidents this case may belong to (by its text and their terms)."""
    with _errors():
        queue.get_case(session, case_id)
    text = queries.case_texts(session, [case_id]).get(case_id, "")
    mine = [i.id for i in queries.incidents_of_case(session, case_id)]
    return [
        IncidentSuggestionOut(incident_id=s.incident_id, title=s.title, state=s.state,
                              similarity=s.similarity, terms=list(s.terms))
        for s in queries.suggest_incidents(
            session, text, exclude=mine, cache=request.app.state.incident_refs
        )
    ]  # fmt: skip
