"""Compensation on a promise: something extra given, approved where it must be, delivered.

A promise may carry compensation: a kind (rebate, credit, refund, gift, upgrade,
visit), an amount and currency where it applies, the reason, and its approval::

    not_needed ──────────────────────────────┐
    pending ──(lead approves)──> approved ───┴──> compensation.requested (webhook)
       └─────(lead refuses)───> refused (the promise is cancelled)

Above the configured limit for its kind (``compensation.limits``) a lead must approve
before the reply promising it can be sent (the reply waits, ``held``); a lead making
the promise approves it by doing so. Once approved (or when no approval is needed) a
``compensation.requested`` event goes to the webhooks, for the billing or CRM system,
which confirms delivery through ``POST /api/v1/promises/{id}/fulfil`` with evidence (a
credit-note id). Gifts and visits are confirmed by staff with a note (who went, when,
how it went). Until confirmed it is an open promise like any other: the clock reminds
and escalates it along the same ladder. Functions take ``now``; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor import events
from monitor.config import COMPENSATION_KINDS, CompensationSettings
from monitor.models import Promise, PromiseState, Role, Staff

MONEY_KINDS = frozenset({"rebate", "credit", "refund", "gift"})  # have an amount
NOTE_KINDS = frozenset({"gift", "visit"})  # confirmed by staff with a note
LEADS = frozenset({Role.LEAD, Role.ADMIN})


class Approval(StrEnum):
    NOT_NEEDED = "not_needed"
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class CompensationEvent(StrEnum):
    APPROVAL_NEEDED = "compensation.approval_needed"
    APPROVED = "compensation.approved"
    REFUSED = "compensation.refused"
    REQUESTED = "compensation.requested"


class CompensationError(ValueError):
    """Compensation that cannot be recorded or confirmed (message is user-facing)."""


class ApprovalNotAllowed(CompensationError):
    pass


class AwaitingApproval(CompensationError):
    """Not yet approved (or refused): it cannot be confirmed as delivered."""


@dataclass(frozen=True)
class Compensation:
    kind: str
    amount: Decimal | None = None
    currency: str | None = None
    reason: str = ""

    @classmethod
    def parse(
        cls, kind: str, amount: Any, currency: str | None, reason: str, *, default_currency: str
    ) -> Compensation:
        if kind not in COMPENSATION_KINDS:
            raise CompensationError(
                f"unknown compensation kind {kind!r}; use one of: {', '.join(COMPENSATION_KINDS)}"
            )
        value: Decimal | None = None
        if amount not in (None, ""):
            try:
                value = Decimal(str(amount)).quantize(Decimal("0.01"))
            except InvalidOperation:
                raise CompensationError(f"not an amount: {amount!r}") from None
            if value <= 0 or value >= Decimal("1e10"):
                raise CompensationError("the amount must be positive")
        if kind in MONEY_KINDS - {"gift"} and value is None:
            raise CompensationError(f"a {kind} needs an amount")
        if not reason.strip():
            raise CompensationError("compensation needs a reason (what it makes up for)")
        cur = (currency or default_currency).upper() if value is not None else None
        if cur is not None and (len(cur) != 3 or not cur.isalpha()):
            raise CompensationError(f"not a currency code: {currency!r}")
        return cls(kind, value, cur, reason.strip()[:2000])


def needs_approval(comp: Compensation, settings: CompensationSettings) -> bool:
    limit = settings.limits.get(comp.kind)
    if limit is None:
        return False
    return limit == 0 or (comp.amount or Decimal(0)) > Decimal(str(limit))


def payload(p: Promise, **extra: Any) -> dict[str, Any]:
    return {
        "promise_id": p.id,
        "case_id": p.case_id,
        "customer_id": p.customer_id,
        "kind": p.compensation_kind,
        "amount": str(p.compensation_amount) if p.compensation_amount is not None else None,
        "currency": p.compensation_currency,
        "reason": p.compensation_reason,
        "approval": p.approval,
        "approved_by_id": p.approved_by_id,
        "due_at": p.due_at.isoformat(),
        "confirm": f"/api/v1/promises/{p.id}/fulfil",
        **extra,
    }


def _request(session: Session, p: Promise, *, now: datetime, actor: str) -> None:
    events.append(
        session, CompensationEvent.REQUESTED, now=now, case_id=p.case_id, actor=actor,
        payload=payload(p),
    )  # fmt: skip


def attach(
    session: Session,
    promise: Promise,
    comp: Compensation,
    *,
    staff: Staff,
    settings: CompensationSettings,
    now: datetime,
) -> Promise:
    """Put compensation on a new promise; approved at once by a lead, else pending."""
    promise.compensation_kind = comp.kind
    promise.compensation_amount = comp.amount
    promise.compensation_currency = comp.currency
    promise.compensation_reason = comp.reason
    if not needs_approval(comp, settings):
        promise.approval = Approval.NOT_NEEDED
    elif staff.role in LEADS:
        promise.approval, promise.approved_by_id, promise.approved_at = (
            Approval.APPROVED, staff.id, now,
        )  # fmt: skip
    else:
        promise.approval = Approval.PENDING
    session.flush()
    if promise.approval == Approval.PENDING:
        events.append(
            session, CompensationEvent.APPROVAL_NEEDED, now=now, case_id=promise.case_id,
            actor=staff.name, payload=payload(promise),
        )  # fmt: skip
    else:
        _request(session, promise, now=now, actor=staff.name)
    return promise


def approve(session: Session, promise: Promise, *, lead: Staff, now: datetime) -> Promise:
    """A lead approves pending compensation; the request goes out (idempotent)."""
    if lead.role not in LEADS:
        raise ApprovalNotAllowed("only a lead can approve compensation above the limit")
    if promise.approval == Approval.APPROVED:
        return promise
    if promise.approval != Approval.PENDING:
        raise CompensationError(f"promise {promise.id} has no compensation waiting for approval")
    promise.approval, promise.approved_by_id, promise.approved_at = Approval.APPROVED, lead.id, now
    promise.updated_at = now
    events.append(
        session, CompensationEvent.APPROVED, now=now, case_id=promise.case_id, actor=lead.name,
        payload=payload(promise),
    )  # fmt: skip
    _request(session, promise, now=now, actor=lead.name)
    return promise


def refuse(
    session: Session, promise: Promise, *, lead: Staff, reason: str, now: datetime
) -> Promise:
    """A lead refuses (the caller then withdraws the promise and the reply holding it)."""
    if lead.role not in LEADS:
        raise ApprovalNotAllowed("only a lead can refuse compensation")
    if promise.approval != Approval.PENDING:
        raise CompensationError(f"promise {promise.id} has no compensation waiting for approval")
    promise.approval, promise.approved_by_id, promise.approved_at = Approval.REFUSED, lead.id, now
    events.append(
        session, CompensationEvent.REFUSED, now=now, case_id=promise.case_id, actor=lead.name,
        payload=payload(promise, reason=reason),
    )  # fmt: skip
    return promise


def ensure_can_fulfil(promise: Promise, evidence: Mapping[str, Any]) -> None:
    """Compensation counts as kept only once approved, and with the right evidence."""
    if promise.compensation_kind is None:
        return
    if promise.approval in (Approval.PENDING, Approval.REFUSED):
        raise AwaitingApproval(
            f"promise {promise.id}: the compensation is {promise.approval}; a lead must approve "
            "it before it can be confirmed"
        )
    if promise.compensation_kind in NOTE_KINDS:
        note = str(evidence.get("note") or "").strip()
        if len(note) < 10:
            raise CompensationError(
                f"a {promise.compensation_kind} is confirmed by staff with a note: who went or "
                "sent it, when, and how it went"
            )
    elif not any(str(v).strip() for k, v in evidence.items() if k != "note"):
        raise CompensationError(
            'confirm compensation with evidence from billing, e.g. {"credit_note": "CN-1234"}'
        )


@dataclass(frozen=True)
class PastCompensation:
    kind: str
    currency: str | None
    count: int
    total: Decimal | None
    kept: int


def past_compensation(session: Session, customer_id: int) -> list[PastCompensation]:
    """What this customer was given before, by kind and currency (cancelled ones left out)."""
    kept = func.sum(case((Promise.state == PromiseState.FULFILLED, 1), else_=0))
    rows = session.execute(
        select(
            Promise.compensation_kind,
            Promise.compensation_currency,
            func.count(),
            func.sum(Promise.compensation_amount),
            kept,
        )
        .where(
            Promise.customer_id == customer_id,
            Promise.compensation_kind.is_not(None),
            Promise.state.not_in((PromiseState.CANCELLED,)),
        )
        .group_by(Promise.compensation_kind, Promise.compensation_currency)
        .order_by(Promise.compensation_kind)
    ).tuples()
    return [
        PastCompensation(kind or "", cur, int(n), Decimal(total) if total is not None else None,
                         int(k or 0))
        for kind, cur, n, total, k in rows
    ]  # fmt: skip
