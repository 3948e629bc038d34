"""The customer page (/customers/{id}): every case, identity, fact and promise of one
customer, and their value, which a lead or admin sets here (or over the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from monitor.cases import customer_file
from monitor.config import LoadedConfig
from monitor.customers import service as customers
from monitor.models import Customer, Role, Staff
from monitor.web.auth import CsrfChecked, CurrentStaff, has_role
from monitor.web.console.pages import render
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(prefix="/customers", include_in_schema=False)


def customer_page(
    request: Request,
    session: Session,
    cfg: LoadedConfig,
    staff: Staff,
    customer_id: int,
    *,
    now: datetime,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        cf = customer_file.load(
            session,
            customer_id,
            now=now,
            own_addresses=cfg.settings.sources.email.own_addresses,
        )
    except customer_file.CustomerNotFound as exc:
        return render(request, "error.html", status_code=404, staff=staff, message=str(exc))
    return render(
        request,
        "customer.html",
        status_code=status_code,
        staff=staff,
        now=now,
        cf=cf,
        may_set_value=has_role(staff, Role.LEAD),
        error=error,
    )


@router.get("/{customer_id}", response_class=HTMLResponse)
def show_customer(
    request: Request, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff, customer_id: int
) -> HTMLResponse:
    return customer_page(request, session, cfg, staff, customer_id, now=now)


@router.post("/{customer_id}/value", dependencies=[CsrfChecked])
def set_value(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    customer_id: int,
    value: Annotated[str, Form(max_length=20)],
) -> Response:
    customer = session.get(Customer, customer_id)
    if customer is None or not has_role(staff, Role.LEAD):
        msg = "only a lead or an admin sets a customer's value"
        status = 404 if customer is None else 403
        return customer_page(
            request, session, cfg, staff, customer_id, now=now, error=msg, status_code=status
        )
    try:
        customers.set_value(session, customer, value=float(value))
    except (ValueError, customers.CustomerError) as exc:
        text = str(exc) if isinstance(exc, customers.CustomerError) else "give a number"
        return customer_page(
            request, session, cfg, staff, customer_id, now=now, error=text, status_code=422
        )
    return RedirectResponse(f"/customers/{customer_id}", status_code=303)
