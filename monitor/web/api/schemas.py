"""Response and request models of the REST API (they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, StrictBool

from monitor.cases.casefile import CaseFile
from monitor.cases.queries import QueueRow
from monitor.models import Case, Staff, Stage


class ErrorOut(BaseModel):
    detail: str


class ConflictOut(ErrorOut):
    holder: str = Field(description="who holds the claim")
    holder_id: int
    until: datetime = Field(description="when the claim lapses without activity")


class QueueItemOut(BaseModel):
    case_id: int
    channel: str
    status: str
    customer_id: int
    customer_name: str
    first_words: str
    subject: str
    score: int = Field(ge=0, le=100)
    band: str
    reasons: list[str]
    waiting_since: datetime | None
    hop_from: str | None = Field(description="channel the customer hopped from, unanswered")
    claimed_by_id: int | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    open_promises: int
    overdue_promises: int
    reply_failed: bool = Field(False, description="the case's latest reply was not delivered")
    reply_error: str | None = None
    sla_kind: str | None = Field(None, description="response-time target: first | next")
    sla_due_at: datetime | None = Field(None, description="when the target falls due")
    public_risk: bool = Field(False, description="unanswered in private, then posted publicly")
    assignee_id: int | None = None
    assignee: str | None = None

    @classmethod
    def from_row(cls, r: QueueRow) -> QueueItemOut:
        return cls(
            case_id=r.case_id,
            channel=r.channel,
            status=r.status,
            customer_id=r.customer_id,
            customer_name=r.customer_name,
            first_words=r.first_words,
            subject=r.subject,
            score=r.score,
            band=r.band,
            reasons=list(r.reasons),
            waiting_since=r.waiting_since,
            hop_from=r.hop_from,
            claimed_by_id=r.claimed_by_id,
            claimed_by=r.claimed_by,
            claim_expires_at=r.claim_expires_at,
            open_promises=r.open_promises,
            overdue_promises=r.overdue_promises,
            reply_failed=r.reply_failed,
            reply_error=r.reply_error,
            sla_kind=r.sla_kind,
            sla_due_at=r.sla_due_at,
            public_risk=r.public_risk,
            assignee_id=r.assignee_id,
            assignee=r.assignee,
        )


class QueuePageOut(BaseModel):
    items: list[QueueItemOut]
    next: str | None = Field(description="pass as `after` for the next page; null at the end")


class ClaimIn(BaseModel):
    take_over: StrictBool = Field(
        default=False, description="leads: take a case held by someone else"
    )


class ClaimOut(BaseModel):
    case_id: int
    claimed_by_id: int | None
    claimed_by: str | None
    claim_expires_at: datetime | None


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class NoteOut(BaseModel):
    id: int
    case_id: int
    text: str
    actor: str
    at: datetime


class StageIn(BaseModel):
    stage: Stage
    text: str | None = Field(
        None, max_length=10_000, description="required for agreed: what was agreed, in words"
    )


class AssignIn(BaseModel):
    staff_id: int | None = Field(description="the new owner; null unassigns")
    note: str = Field("", max_length=2000, description="handover note, kept in the history")


class BulkAssignIn(AssignIn):
    case_ids: list[int] = Field(min_length=1, max_length=500)


class AssignOut(BaseModel):
    case_ids: list[int] = Field(description="cases whose owner changed")
    staff_id: int | None


class BulkResolveIn(BaseModel):
    case_ids: list[int] = Field(min_length=1, max_length=500)


class ResolveOut(BaseModel):
    case_ids: list[int] = Field(description="cases resolved now (already resolved ones left out)")


class LinkIn(BaseModel):
    customer_id: int


class LinkOut(BaseModel):
    identity_id: int
    customer_id: int


class IdentityOut(BaseModel):
    id: int
    kind: str
    handle: str
    username: str | None
    name: str | None
    linked_by: str


class FactOut(BaseModel):
    kind: str
    value: str
    quote: str
    mention_id: int | None


class EntryOut(BaseModel):
    at: datetime
    kind: str = Field(description="mention | reply | note | stage | claim | promise | hop | event")
    actor: str
    text: str
    channel: str | None
    case_id: int | None
    hop: bool
    other_case: bool


class PromiseOut(BaseModel):
    id: int
    kind: str
    wording: str
    due_at: datetime
    state: str
    overdue: bool


class StageOut(BaseModel):
    stage: Stage
    at: datetime | None
    seconds_after_first_contact: float | None = None


class SlaOut(BaseModel):
    """The case's current response-time target (none while nobody waits for us)."""

    kind: str = Field(description="first | next response")
    state: str = Field(description="running | warned | breached")
    started_at: datetime | None = Field(description="when the customer's wait began")
    due_at: datetime
    warn_at: datetime | None
    breached: bool
    label: str = Field(description="as the console shows it: due in 12 min, breached 2 h ago")
    escalation_step: int = Field(description="rungs of the alert ladder climbed")


class CustomerOut(BaseModel):
    id: int
    display_name: str


class CaseOut(BaseModel):
    id: int
    status: str
    channel: str
    subject: str
    score: int
    band: str
    reasons: list[str]
    waiting_since: datetime | None
    hop_from: str | None
    customer: CustomerOut
    identities: list[IdentityOut]
    claim: ClaimOut | None
    stages: list[StageOut]
    promises: list[PromiseOut]
    facts: list[FactOut]
    history: list[EntryOut]
    sla: SlaOut | None = None
    public_risk: bool = False
    assignee_id: int | None = None
    assignee: str | None = None
    agreed_text: str | None = Field(None, description="what was agreed, in words")


def sla_out(cf: CaseFile) -> SlaOut | None:
    c, view = cf.case, cf.sla
    if view is None:
        return None
    return SlaOut(
        kind=view.kind,
        state=c.sla_state or "running",
        started_at=c.sla_started_at,
        due_at=view.due_at,
        warn_at=c.sla_warn_at,
        breached=view.breached,
        label=view.label,
        escalation_step=c.sla_step,
    )


def claim_out(case: Case, holder: Staff | None) -> ClaimOut:
    return ClaimOut(
        case_id=case.id,
        claimed_by_id=case.claimed_by_id,
        claimed_by=holder.name if holder is not None and case.claimed_by_id else None,
        claim_expires_at=case.claim_expires_at,
    )


def case_out(cf: CaseFile) -> CaseOut:
    c = cf.case
    durations = dict(cf.durations)
    return CaseOut(
        id=c.id,
        status=c.status,
        channel=c.channel,
        subject=c.subject,
        score=c.score,
        band=c.band,
        reasons=list(c.reasons or ()),
        waiting_since=c.first_unanswered_at,
        hop_from=c.hop_from,
        customer=CustomerOut(id=cf.customer.id, display_name=cf.customer.display_name),
        identities=[
            IdentityOut(
                id=i.id,
                kind=i.kind,
                handle=i.handle,
                username=i.username,
                name=i.name,
                linked_by=i.linked_by,
            )
            for i in cf.identities
        ],
        claim=claim_out(c, cf.holder) if cf.holder is not None else None,
        stages=[
            StageOut(stage=s, at=at, seconds_after_first_contact=_seconds(durations.get(s)))
            for s, at in cf.stages
        ],
        promises=[
            PromiseOut(
                id=p.id,
                kind=p.kind,
                wording=p.wording,
                due_at=p.due_at,
                state=p.state,
                overdue=p.overdue,
            )
            for p in cf.promises
        ],
        facts=[
            FactOut(kind=f.kind.value, value=f.value, quote=f.quote, mention_id=f.source_id)
            for f in cf.facts
        ],
        history=[
            EntryOut(
                at=e.at,
                kind=e.kind,
                actor=e.actor,
                text=e.text,
                channel=e.channel,
                case_id=e.case_id,
                hop=e.hop,
                other_case=e.other_case,
            )
            for e in cf.timeline
        ],
        sla=sla_out(cf),
        public_risk=c.public_risk,
        assignee_id=c.assignee_id,
        assignee=(cf.assignee.display_name or cf.assignee.name) if cf.assignee else None,
        agreed_text=c.agreed_text,
    )


def _seconds(d: timedelta | None) -> float | None:
    return d.total_seconds() if d is not None else None
