"""REST: one customer, and setting their value.

GET   /api/v1/customers/{id}   identities, case ids, value. Scope ``queue:read``.
PATCH /api/v1/customers/{id}   ``{"value": 1.0}`` (0 ordinary .. 100). Scope ``cases:write``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.customers import service as customers
from monitor.models import Case, Customer, Identity
from monitor.web.api.cases import ERRORS, Principal, scoped
from monitor.web.deps import DbTx

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=ERRORS)
Reader = Annotated[Principal, scoped("queue:read")]
Writer = Annotated[Principal, scoped("cases:write")]
NOT_FOUND: dict[int | str, dict[str, str]] = {404: {"description": "no such customer"}}


class IdentityOut(BaseModel):
    id: int
    kind: str
    handle: str
    username: str | None
    name: str | None


class CustomerOut(BaseModel):
    id: int
    display_name: str
    value: float = Field(description="0 ordinary, 1 a key account; read by the score")
    identities: list[IdentityOut]
    case_ids: list[int]


class CustomerPatch(BaseModel):
    value: float = Field(ge=0, le=customers.MAX_VALUE, allow_inf_nan=False)


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise HTTPException(404, detail=f"no customer with id {customer_id}")
    return customer


def customer_out(session: Session, c: Customer) -> CustomerOut:
    idents = session.scalars(
        select(Identity).where(Identity.customer_id == c.id).order_by(Identity.id)
    )
    cases = session.scalars(select(Case.id).where(Case.customer_id == c.id).order_by(Case.id))
    return CustomerOut(
        id=c.id,
        display_name=c.display_name,
        value=c.value,
        identities=[IdentityOut.model_validate(i, from_attributes=True) for i in idents],
        case_ids=list(cases),
    )


@router.get("/{customer_id}", responses=NOT_FOUND)
def get_customer(customer_id: int, session: DbTx, _p: Reader) -> CustomerOut:
    """A customer with their identities, cases and value."""
    return customer_out(session, _customer(session, customer_id))


@router.patch("/{customer_id}", responses=NOT_FOUND)
def patch_customer(customer_id: int, body: CustomerPatch, session: DbTx, _p: Writer) -> CustomerOut:
    """Set the customer's value (their open cases are re-scored on the next round)."""
    customer = _customer(session, customer_id)
    try:
        customers.set_value(session, customer, value=body.value)
    except customers.CustomerError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return customer_out(session, customer)
