"""REST: the causes taxonomy, a case's cause and tags (one case or many at once).

Scopes: ``queue:read`` to read, ``cases:write`` to confirm or change a cause and to tag
(acting as the token's staff member).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from monitor.cases import service as queue
from monitor.reports import service as reports
from monitor.reports import surveys
from monitor.reports.case_view import CauseView, cause_view
from monitor.web.api.cases import ERRORS, NOT_FOUND, Principal, acting, scoped
from monitor.web.deps import Config, DbTx, LinkSecret, Now

Reader = Annotated[Principal, scoped("queue:read")]
Writer = Annotated[Principal, scoped("cases:write")]


class CauseOut(BaseModel):
    name: str
    label: str
    keywords: list[str]


class SuggestionOut(BaseModel):
    cause: str
    confidence: float
    matched: list[str]


class CaseCauseOut(BaseModel):
    case_id: int
    cause: str | None
    label: str | None
    confidence: float | None = Field(description="set while the cause is a suggestion")
    confirmed: bool
    suggestion: SuggestionOut | None = Field(description="what the text suggests now")
    tags: list[str]


class CauseIn(BaseModel):
    cause: str = Field(min_length=1, max_length=40)


class TagsIn(BaseModel):
    case_ids: list[int] = Field(min_length=1, max_length=reports.MAX_BULK)
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)
    cause: str | None = Field(None, description="also set (confirm) this cause on each")


class TagsOut(BaseModel):
    changed: int


class SurveyOut(BaseModel):
    survey_id: int
    url: str = Field(description="for the customer: signed, single use, expiring")
    expires_at: datetime


def survey_url(request: Request, base: str, token: str) -> str:
    """Where the customer answers: ``reports.survey.public_base_url`` or this server."""
    root = base.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{root}/survey/{token}"


def case_cause_out(v: CauseView) -> CaseCauseOut:
    s = v.suggestion
    return CaseCauseOut(
        case_id=v.case_id,
        cause=v.cause,
        label=v.label,
        confidence=v.confidence,
        confirmed=v.confirmed,
        suggestion=SuggestionOut(cause=s.cause, confidence=s.confidence, matched=list(s.matched))
        if s
        else None,
        tags=v.tags,
    )


router = APIRouter(prefix="/api/v1", tags=["causes"], responses=ERRORS)


@router.get("/causes", response_model=list[CauseOut])
def list_causes(cfg: Config, _p: Reader) -> list[CauseOut]:
    """The configured taxonomy (``reports.causes``)."""
    return [
        CauseOut(name=c.name, label=c.title, keywords=list(c.keywords))
        for c in cfg.settings.reports.causes
    ]


@router.get("/cases/{case_id}/cause", response_model=CaseCauseOut, responses=NOT_FOUND)
def get_cause(case_id: int, session: DbTx, cfg: Config, _p: Reader) -> CaseCauseOut:
    """The case's cause, whether staff confirmed it, and what its text suggests."""
    case = queue.get_case(session, case_id)
    return case_cause_out(cause_view(session, case, cfg.settings.reports))


@router.put("/cases/{case_id}/cause", response_model=CaseCauseOut, responses=NOT_FOUND)
def put_cause(
    case_id: int, body: CauseIn, session: DbTx, now: Now, cfg: Config, p: Writer
) -> CaseCauseOut:
    """Confirm the suggested cause or choose another (422 for a name not configured)."""
    staff = acting(p)
    case = queue.get_case(session, case_id)
    settings = cfg.settings.reports
    try:
        reports.set_cause(session, case, cause=body.cause, staff=staff, settings=settings, now=now)
    except reports.ReportsError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    session.flush()
    return case_cause_out(cause_view(session, case, settings))


@router.post("/cases/tags", response_model=TagsOut, responses=NOT_FOUND)
def bulk_tags(body: TagsIn, session: DbTx, now: Now, cfg: Config, p: Writer) -> TagsOut:
    """Tag many cases at once (and optionally set their cause), all or nothing (404
    naming the first case that does not exist)."""
    staff = acting(p)
    try:
        n = reports.retag(
            session,
            body.case_ids,
            add=body.add,
            remove=body.remove,
            cause=body.cause,
            staff=staff,
            settings=cfg.settings.reports,
            now=now,
        )
    except reports.ReportsError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return TagsOut(changed=n)


@router.post(
    "/cases/{case_id}/survey", response_model=SurveyOut, status_code=201, responses=NOT_FOUND
)
def make_survey(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    secret: LinkSecret,
    p: Writer,
) -> SurveyOut:
    """A satisfaction survey link to put in a message to the customer (never sent by
    the desk itself). Shown once: only a digest of its token is stored."""
    staff = acting(p)
    case = queue.get_case(session, case_id)
    settings = cfg.settings.reports
    try:
        survey, token = surveys.make_link(
            session, case, staff=staff, secret=secret, settings=settings, now=now
        )
    except reports.ReportsError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    url = survey_url(request, settings.survey.public_base_url, token)
    return SurveyOut(survey_id=survey.id, url=url, expires_at=survey.expires_at)
