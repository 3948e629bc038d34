"""Request and response models of the replies API and the composer (pydantic)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from monitor.models import Reply
from monitor.promises.text import PromiseKind
from monitor.replies import service as replies
from monitor.replies.guard import PersonalCheck
from monitor.replies.promises import MAX_PROMISES_PER_REPLY, PromiseDraft, SuggestionView

Channel = Literal["x", "x_dm", "email"]


class PromiseDraftIn(BaseModel):
    """A promise the reply makes, confirmed by staff (see /replies/suggest-promises)."""

    kind: PromiseKind
    wording: str = Field(min_length=1, max_length=2000, description="what the customer reads")
    due_at: datetime | None = Field(None, description="with a time zone; or give due_local")
    due_local: str | None = Field(
        None, description="wall-clock 'YYYY-MM-DDTHH:MM' in `timezone` (default: the sender's)"
    )
    timezone: str | None = None
    owner_id: int | None = Field(None, description="default: the sender")
    target: str | None = Field(None, description="slack_invite: email; default the customer's")
    compensation_kind: Literal["rebate", "credit", "refund", "gift", "upgrade", "visit"] | None = (
        Field(None, description="compensation the promise gives; above its limit a lead approves")
    )
    compensation_amount: str | None = Field(None, description="e.g. '29.00'", max_length=20)
    compensation_currency: str | None = Field(None, description="ISO 4217; default from config")
    compensation_reason: str = Field("", max_length=2000, description="what it makes up for")

    def draft(self) -> PromiseDraft:
        return PromiseDraft(
            kind=self.kind.value,
            wording=self.wording,
            due_at=self.due_at,
            due_local=self.due_local,
            timezone=self.timezone,
            owner_id=self.owner_id,
            target=self.target,
            compensation_kind=self.compensation_kind,
            compensation_amount=self.compensation_amount,
            compensation_currency=self.compensation_currency,
            compensation_reason=self.compensation_reason,
        )


class ReplyIn(BaseModel):
    body: str = Field(min_length=1, max_length=replies.MAX_BODY)
    channel: Channel
    override_reason: str | None = Field(
        default=None, description="leads: send despite the guard, with this written reason"
    )
    promises: list[PromiseDraftIn] = Field(
        default_factory=list,
        max_length=MAX_PROMISES_PER_REPLY,
        description="promises the reply makes; created with it, in the same transaction",
    )


class ComposerSendIn(ReplyIn):
    idempotency_key: str = Field(min_length=1, max_length=200)


class CheckIn(BaseModel):
    text: str = Field(max_length=replies.MAX_BODY)
    channel: Channel = "email"
    case_id: int | None = Field(default=None, description="check against this case's customer")


class SuggestedPromiseOut(BaseModel):
    kind: str
    wording: str
    due_at: datetime
    due_local: str = Field(description="the due time in `timezone`, 'YYYY-MM-DDTHH:MM'")
    timezone: str
    due_phrase: str | None
    due_guessed: bool
    target: str | None = Field(description="slack_invite: the customer's email, if known")
    start: int
    end: int

    @classmethod
    def of(cls, v: SuggestionView) -> SuggestedPromiseOut:
        s = v.suggestion
        return cls(
            kind=s.kind.value,
            wording=s.wording,
            due_at=s.due_at,
            due_local=v.due_local,
            timezone=v.timezone,
            due_phrase=s.due_phrase,
            due_guessed=s.due_guessed,
            target=v.target,
            start=s.start,
            end=s.end,
        )


class HighlightOut(BaseModel):
    start: int
    end: int
    kind: Literal["boilerplate", "reused", "duplicate_reply", "too_long"] | str
    message: str


class CheckOut(BaseModel):
    score: int = Field(ge=0, le=100, description="template-likeness (higher = more canned)")
    personal: int = Field(ge=0, le=100)
    blocked: bool
    threshold: int
    reasons: list[str]
    highlights: list[HighlightOut]
    x_length: int | None
    x_limit: int | None
    too_long: bool
    suggest_dm: bool
    notes: list[str]
    has_url: bool = Field(default=False, description="on X: a link makes the post cost more")

    @classmethod
    def of(cls, c: PersonalCheck, threshold: int) -> CheckOut:
        return cls(
            score=c.score,
            personal=c.personal,
            blocked=c.blocked,
            threshold=threshold,
            reasons=c.reasons,
            highlights=[
                HighlightOut(start=s, end=e, kind=k, message=m) for s, e, k, m in c.highlights
            ],
            x_length=c.x_length,
            x_limit=c.x_limit,
            too_long=c.too_long,
            suggest_dm=c.suggest_dm,
            notes=c.notes,
            has_url=c.has_url,
        )


class ComposerCheckOut(CheckOut):
    promises: list[SuggestedPromiseOut] = Field(default_factory=list)


class ReplyOut(BaseModel):
    id: int
    case_id: int
    staff_id: int | None
    channel: str
    state: Literal["queued", "sending", "sent", "failed", "held"] | str
    attempts: int
    next_attempt_at: datetime | None
    external_id: str | None = Field(description="tweet id, DM event id or Message-ID")
    error: str | None
    personal_score: int | None
    override_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    promise_ids: list[int] = Field(default_factory=list, description="promises it made")

    @classmethod
    def of(cls, r: Reply, promise_ids: list[int] | None = None) -> ReplyOut:
        return cls(
            id=r.id,
            case_id=r.case_id,
            staff_id=r.staff_id,
            channel=r.channel,
            state=r.state,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            external_id=r.external_id,
            error=r.error,
            personal_score=r.personal_score,
            override_reason=r.override_reason,
            created_at=r.created_at,
            sent_at=r.sent_at,
            promise_ids=promise_ids or [],
        )


class BlockedOut(BaseModel):
    detail: str
    check: CheckOut
