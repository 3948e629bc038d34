"""Request and answer bodies of the promise and webhook routes (monitor.web.api.promises)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, Field, StrictBool

from monitor.promises.text import PromiseKind

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_JSON_DEPTH = 32


class PromiseIn(BaseModel):
    kind: PromiseKind
    wording: str = Field(min_length=1, max_length=2000, description="what the customer read")
    due_at: datetime | None = Field(
        None, description="with a time zone; default: parsed from the wording"
    )
    owner_id: int | None = Field(None, description="default: the token's staff member")
    timezone: str | None = Field(None, description="IANA zone; default: the owner's")
    reply_id: int | None = Field(None, ge=1, le=INT64_MAX, description="a reply to this case")
    target: str | None = Field(None, description="slack_invite: email to invite")


class AlertOut(BaseModel):
    id: int
    kind: str
    channel: str
    target: str
    state: str
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None


class PromiseOut(BaseModel):
    id: int
    case_id: int
    customer_id: int
    kind: str
    wording: str
    state: str
    owner_id: int | None
    due_at: datetime
    owner_timezone: str
    overdue: bool
    escalation_step: int
    evidence: dict[str, Any] | None
    target: str | None
    perform: dict[str, Any] | None
    fulfilled_at: datetime | None
    follow_up_due_at: datetime | None
    created_at: datetime
    compensation_kind: str | None = None
    compensation_amount: Decimal | None = None
    compensation_currency: str | None = None
    compensation_reason: str | None = None
    approval: str | None = Field(None, description="not_needed, pending, approved, refused")
    approved_by_id: int | None = None
    approved_at: datetime | None = None
    alerts: list[AlertOut] = []
    history: list[dict[str, Any]] = []


def storable_json(value: Any, depth: int = 0) -> Any:
    """Refuse what the JSON columns cannot store: integers beyond 64 bits, deep nesting."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integers must fit in 64 bits (send larger ones as strings)")
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        storable_json(child, depth + 1)
    return value


class FulfilIn(BaseModel):
    evidence: Annotated[dict[str, Any], AfterValidator(storable_json)] = Field(
        description="what shows it was kept, e.g. a refund id (integers within 64 bits)"
    )
    note: str | None = None


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
    broken: StrictBool = Field(False, description="record it as broken rather than withdrawn")


class SuggestIn(BaseModel):
    text: str = Field(max_length=20_000)
    timezone: str | None = None


class SuggestionOut(BaseModel):
    kind: str
    wording: str
    due_at: datetime
    due_phrase: str | None
    due_guessed: bool
    start: int
    end: int


class WebhookIn(BaseModel):
    url: AnyHttpUrl
    events: list[str] = Field(default_factory=list, description="[] = every kind")
    description: str = ""


class WebhookPatch(BaseModel):
    url: AnyHttpUrl | None = None
    events: list[str] | None = None
    description: str | None = None
    active: StrictBool | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    secret: str | None = Field(None, description="only in the answer to the creating POST")


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    event_kind: str
    state: str
    attempts: int
    response_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
