"""Frustration score of a case: gather the context from the database, combine, store.

The text part of a score is computed once per message (it is the expensive part) and
kept on the mention and, for the strongest unanswered message, on the case. Whenever
the context changes (a new contact, a staff reply, a promise going overdue) the case is
re-scored from those stored parts without running the text model again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import ScoringSettings
from monitor.models import Customer, Promise, PromiseState
from monitor.scoring import OverduePromise, Score, ScoreContext, TextScore, TextScorer, combine
from monitor.storage.sql_lists import one_of

UNKEPT = (PromiseState.OPEN, PromiseState.OVERDUE, PromiseState.ESCALATED)


class CaseLike(Protocol):
    """What scoring reads and writes on a case: an ORM Case or an ingest CaseRow."""

    channel: str
    public: bool
    followers: int | None
    first_unanswered_at: datetime | None
    unanswered_count: int
    hop_from: str | None
    text_score: dict[str, Any] | None
    score: int
    band: str
    reasons: list[str]
    priority: float
    sla_kind: str | None
    sla_due_at: datetime | None

    @property
    def customer_id(self) -> int | None: ...


CaseT = TypeVar("CaseT", bound=CaseLike)


class Scorer(Protocol):
    """What ingest and the queue need from the scoring package."""

    def text_parts(self, texts: list[str], channels: list[str]) -> list[dict[str, Any]]: ...

    def strength(self, text_part: Mapping[str, Any]) -> float: ...

    def combine(self, text_part: Mapping[str, Any] | None, context: ScoreContext) -> Score: ...


def overdue_promises(
    session: Session, customer_ids: Iterable[int], *, now: datetime
) -> dict[int, tuple[OverduePromise, ...]]:
    """Unkept promises past their deadline, per customer, in one query."""
    ids = set(customer_ids)
    found: dict[int, list[OverduePromise]] = {cid: [] for cid in ids}
    if not ids:
        return {}
    dialect = session.connection().dialect
    rows = session.scalars(
        select(Promise).where(
            one_of(Promise.customer_id, ids, dialect),
            Promise.state.in_(UNKEPT),
            Promise.due_at < now,
        )
    )
    for p in rows:
        found[p.customer_id].append(
            OverduePromise(kind=p.kind, wording=p.wording, overdue_by=now - p.due_at)
        )
    return {cid: tuple(v) for cid, v in found.items()}


def context_for(
    case: CaseLike,
    *,
    now: datetime,
    customer_value: float,
    overdue: tuple[OverduePromise, ...],
) -> ScoreContext:
    return ScoreContext(
        now=now,
        channel=case.channel,
        public=case.public,
        followers=case.followers,
        first_unanswered_at=case.first_unanswered_at,
        unanswered_contacts=case.unanswered_count,
        channel_hop=(case.hop_from, case.channel) if case.hop_from else None,
        overdue_promises=overdue,
        customer_value=customer_value,
        response_overdue=response_overdue(case, now),
    )


def response_overdue(case: CaseLike, now: datetime) -> tuple[str, timedelta] | None:
    """The case's missed response-time target, if its due time has passed."""
    due = case.sla_due_at
    if due is None or now < due:
        return None
    return (case.sla_kind or "first", now - due)


def apply(case: CaseLike, score: Score) -> bool:
    """Store a score on the case; True when anything visible changed."""
    reasons = list(score.reasons)
    changed = case.score != score.value or case.reasons != reasons
    case.score = score.value
    case.band = score.band
    case.reasons = reasons
    case.priority = float(score.value)
    return changed


def rescore_cases(
    session: Session, cases: list[CaseT], *, scorer: Scorer, now: datetime
) -> list[CaseT]:
    """Recompute the scores of these cases from their stored parts; returns the changed."""
    if not cases:
        return []
    customer_ids = {c.customer_id for c in cases if c.customer_id is not None}
    overdue = overdue_promises(session, customer_ids, now=now)
    values: dict[int, float] = {}
    if customer_ids:
        values = dict(
            session.execute(
                select(Customer.id, Customer.value).where(
                    one_of(Customer.id, customer_ids, session.connection().dialect)
                )
            )
            .tuples()
            .all()
        )
    changed = []
    for case in cases:
        cid = case.customer_id  # None for a customer new in this batch: no history yet
        ctx = context_for(
            case,
            now=now,
            customer_value=values.get(cid, 0.0) if cid is not None else 0.0,
            overdue=overdue.get(cid, ()) if cid is not None else (),
        )
        if apply(case, scorer.combine(case.text_score, ctx)):
            changed.append(case)
    return changed


class ModelScorer:
    """The shipped text model plus the configured weights, behind :class:`Scorer`."""

    def __init__(self, model: TextScorer, settings: ScoringSettings) -> None:
        self.model = model
        self.settings = settings

    def text_parts(self, texts: list[str], channels: list[str]) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.model.text_scores(texts, channels)]

    def strength(self, text_part: Mapping[str, Any]) -> float:
        # TextScore.total_points, read straight from the stored form: this runs for
        # every message ingested, and building a TextScore to add two numbers showed.
        return float(text_part["points"] + sum(int(p) for _, p in text_part.get("cues", ())))

    def combine(self, text_part: Mapping[str, Any] | None, context: ScoreContext) -> Score:
        if text_part:
            return combine(TextScore.from_dict(text_part), context, self.settings)
        # Nothing unanswered to read: the context alone (waiting, promises) counts.
        silent = TextScore(complaint=0.0, severity=0.0, label="none", points=0)
        score = combine(silent, context, self.settings)
        return replace(score, reasons=tuple(r for r in score.reasons if not r.startswith("text:")))


def rescore_and_announce(
    session: Session, cases: list[CaseT], *, scorer: Scorer, now: datetime
) -> list[CaseT]:
    """:func:`rescore_cases`, plus a ``case.score_changed`` event per changed case so live
    consoles re-order and webhooks hear of it."""
    from monitor import events

    changed = rescore_cases(session, cases, scorer=scorer, now=now)
    for case in changed:
        events.append(
            session,
            events.EventKind.SCORE_CHANGED,
            now=now,
            case_id=getattr(case, "id", None),
            payload={"score": case.score, "band": case.band, "reasons": list(case.reasons)},
        )
    return changed


def rescore_waiting(
    session: Session, *, scorer: Scorer, now: datetime, after_id: int = 0, limit: int = 1000
) -> tuple[int | None, int]:
    """Re-score the next ``limit`` waiting cases after ``after_id``: waiting time only
    grows, so a case's priority must move while nobody answers it.

    Returns (the last case id seen, or None when done; how many scores changed), and
    announces each change (:func:`rescore_and_announce`).
    """
    from monitor.models import Case, CaseStatus

    cases = list(
        session.scalars(
            select(Case)
            .where(
                Case.id > after_id,
                Case.status != CaseStatus.RESOLVED,
                Case.first_unanswered_at.is_not(None),
            )
            .order_by(Case.id)
            .limit(limit)
        )
    )
    if not cases:
        return None, 0
    changed = rescore_and_announce(session, cases, scorer=scorer, now=now)
    return cases[-1].id, len(changed)
