"""The satisfaction survey: the customer's page (no sign-in: the signed link is the key)
and the staff form on the case page that makes a link to put in their message."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from monitor.cases import service as queue
from monitor.reports import surveys
from monitor.web.api.causes import survey_url
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.pages import case_page, render
from monitor.web.deps import Config, DbTx, LinkSecret, Now

STATUS = {surveys.SurveyInvalid: 404, surveys.SurveyExpired: 410, surveys.SurveyUsed: 410}


router = APIRouter(include_in_schema=False)


def refused(request: Request, exc: surveys.SurveyError) -> HTMLResponse:
    return render(
        request,
        "survey.html",
        STATUS.get(type(exc), 422),
        done=False,
        message=str(exc),
        token=None,
        staff=None,
    )


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_form(
    request: Request, token: str, session: DbTx, now: Now, secret: LinkSecret
) -> HTMLResponse:
    try:
        surveys.find(session, token, secret=secret, now=now)
    except surveys.SurveyError as exc:
        return refused(request, exc)
    return render(request, "survey.html", done=False, message=None, token=token, staff=None)


@router.post("/survey/{token}", response_class=HTMLResponse)
def survey_answer(
    request: Request,
    token: str,
    session: DbTx,
    now: Now,
    cfg: Config,
    secret: LinkSecret,
    rating: Annotated[int, Form(ge=1, le=5)],
    comment: Annotated[str, Form(max_length=surveys.MAX_COMMENT)] = "",
) -> HTMLResponse:
    try:
        surveys.answer(
            session,
            token,
            rating=rating,
            comment=comment,
            secret=secret,
            settings=cfg.settings.reports,
            scoring=cfg.settings.scoring,
            now=now,
        )
    except surveys.SurveyError as exc:
        return refused(request, exc)
    return render(request, "survey.html", done=True, message=None, token=None, staff=None)


@router.post("/cases/{case_id}/survey", dependencies=[CsrfChecked])
def make_survey(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    secret: LinkSecret,
    staff: CurrentStaff,
) -> Response:
    settings = cfg.settings.reports
    try:
        case = queue.get_case(session, case_id)
        _, token = surveys.make_link(
            session, case, staff=staff, secret=secret, settings=settings, now=now
        )
    except queue.CaseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    except surveys.SurveyError as exc:
        return case_page(
            request, session, now, cfg, staff, case_id, status_code=422, error=str(exc)
        )
    link = survey_url(request, settings.survey.public_base_url, token)
    return case_page(request, session, now, cfg, staff, case_id, survey_link=link)
