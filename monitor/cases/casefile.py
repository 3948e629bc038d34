"""Everything about one case on one screen: the customer's history across channels,
their identities, promises, recovery stages and the facts they already gave us.

Read-only; the caller owns the session. The timeline merges the customer's mentions
(on every case of theirs), our replies and the case's events in time order, and marks a
message that arrived on a different channel from the one before as a channel hop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.cases.service import STAGE_COLUMNS, claim_active, get_case, stage_durations
from monitor.customers import facts
from monitor.events import EventKind
from monitor.models import (
    Case,
    Customer,
    Event,
    Identity,
    Mention,
    Reply,
    ReplyState,
    Staff,
    Stage,
)
from monitor.promises.case_view import AlertView, PromiseView, case_alerts, promise_views
from monitor.sla.service import ClockView, clock_view
from monitor.zones import zone_or_utc

__all__ = ["CaseFile", "Entry", "PromiseView", "load"]

HISTORY_LIMIT = 500
# Events already shown through their own rows (the mention itself, score bookkeeping).
QUIET_EVENTS = frozenset(
    {EventKind.MENTION_CREATED, EventKind.CASE_UPDATED, EventKind.SCORE_CHANGED}
)


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str  # mention | reply | note | stage | claim | promise | hop | event
    actor: str
    text: str = ""
    channel: str | None = None
    case_id: int | None = None
    hop: bool = False  # arrived on another channel than the previous message
    other_case: bool = False  # belongs to another case of the same customer
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseFile:
    case: Case
    customer: Customer
    identities: list[Identity]
    timeline: list[Entry]
    facts: list[facts.Fact]
    promises: list[PromiseView]
    stages: list[tuple[Stage, datetime | None]]
    holder: Staff | None  # live claim holder, if any
    notes: list[Entry]
    last_event_id: int  # the newest event of the case already reflected here
    failed_reply: Reply | None = None  # the latest reply, when it permanently failed
    alerts: list[AlertView] = field(default_factory=list)  # about the case, not a promise
    # How long after the first contact each stage was reached (None: not yet).
    durations: list[tuple[Stage, timedelta | None]] = field(default_factory=list)
    sla: ClockView | None = None  # the current response-time target at ``now``
    assignee: Staff | None = None


def _mentions(session: Session, customer_id: int, case_id: int) -> list[Mention]:
    rows = session.scalars(
        select(Mention)
        .where(or_(Mention.customer_id == customer_id, Mention.case_id == case_id))
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(HISTORY_LIMIT)
    )
    return sorted(rows, key=lambda m: (m.created_at, m.id))


def _event_entry(e: Event) -> Entry | None:
    p = e.payload or {}
    if e.kind in QUIET_EVENTS:
        return None
    if e.kind == EventKind.NOTE_ADDED:
        text = str(p.get("text", ""))
        return Entry(e.created_at, "note", e.actor, text, case_id=e.case_id, meta={"id": e.id})
    if e.kind == EventKind.STAGE_CHANGED:
        text = f"stage: {p.get('stage', '?')}"
        return Entry(e.created_at, "stage", e.actor, text, case_id=e.case_id, meta=dict(p))
    if e.kind in (EventKind.CLAIMED, EventKind.CLAIM_TAKEN_OVER, EventKind.RELEASED):
        verb = {
            EventKind.CLAIMED: "claimed the case",
            EventKind.CLAIM_TAKEN_OVER: "took the case over",
            EventKind.RELEASED: "released the case",
        }[EventKind(e.kind)]
        return Entry(e.created_at, "claim", e.actor, verb, case_id=e.case_id)
    if e.kind in SLA_TEXTS:
        meta = {**p, "event": e.kind}
        return Entry(e.created_at, "sla", e.actor, sla_text(meta), case_id=e.case_id, meta=meta)
    if e.kind == EventKind.ASSIGNED:
        return Entry(e.created_at, "assign", e.actor, _assign_text(p), case_id=e.case_id)
    if e.kind == EventKind.CHANNEL_HOP:
        text = f"channel hop: {p.get('from', '?')} → {p.get('to', '?')} while unanswered"
        return Entry(e.created_at, "hop", e.actor, text, case_id=e.case_id, hop=True)
    kind = "promise" if e.kind.startswith("promise") else "event"
    text = _labelled(e.kind, p) or e.kind.replace(".", " ")
    return Entry(e.created_at, kind, e.actor, text, case_id=e.case_id)


def _labelled(kind: str, p: dict[str, Any]) -> str | None:
    """Words for events other packages write on the case (tags, cause, incidents)."""
    if kind == "case.tags":
        added, removed = p.get("added") or [], p.get("removed") or []
        return "tags " + " ".join([*(f"+{t}" for t in added), *(f"-{t}" for t in removed)])
    if kind == "case.cause" and p.get("cause"):
        return f"cause: {p['cause']}" + (" (suggested)" if p.get("suggested") else "")
    if kind in ("incident.case_attached", "incident.case_detached") and p.get("title"):
        verb = "attached to" if kind == "incident.case_attached" else "detached from"
        return f"{verb} incident: {p['title']}"
    return None


SLA_TEXTS = {
    EventKind.SLA_SET: "{kind} response due {due}",
    EventKind.SLA_WARNING: "{kind} response due soon ({due}): warning sent",
    EventKind.SLA_BREACHED: "{kind} response target missed (due {due})",
    EventKind.PUBLIC_RISK: "public risk: unanswered in private, the customer posted publicly",
}


def sla_text(meta: dict[str, Any], timezone: str | None = None) -> str:
    """A response-time event in words, its due time in ``timezone`` (UTC when None)."""
    template = SLA_TEXTS[EventKind(meta["event"])]
    return template.format(**{"kind": "?", "due": "?", **_sla_fields(meta, timezone)})


def _sla_fields(p: dict[str, Any], timezone: str | None) -> dict[str, str]:
    out = {"kind": str(p.get("kind") or "?")}
    due = p.get("due_at")
    if isinstance(due, str):
        try:
            at = datetime.fromisoformat(due)
            at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(zone_or_utc(timezone))
            out["due"] = f"{at:%a %d %b %H:%M %Z}"
        except ValueError:
            out["due"] = due
    return out


def _assign_text(p: dict[str, Any]) -> str:
    to, note = p.get("to"), p.get("note")
    head = f"assigned the case to {to}" if to else "unassigned the case"
    if p.get("from"):
        head += f" (was {p['from']})"
    return f"{head}: {note}" if note else head


def load(
    session: Session,
    case_id: int,
    *,
    now: datetime,
    own_addresses: tuple[str, ...] = (),
    soon: timedelta = timedelta(hours=1),
) -> CaseFile:
    """The case file for ``case_id`` (raises queue.CaseNotFound)."""
    case = get_case(session, case_id)
    customer = session.get(Customer, case.customer_id)
    assert customer is not None
    identities = list(
        session.scalars(
            select(Identity).where(Identity.customer_id == customer.id).order_by(Identity.id)
        )
    )
    mentions = _mentions(session, customer.id, case.id)
    replies = list(
        session.scalars(select(Reply).where(Reply.case_id == case.id).order_by(Reply.id))
    )
    events, last_event_id = _recent_events(session, case.id)
    timeline = sorted(
        [*_mention_entries(mentions, case.id), *_reply_entries(session, replies), *events],
        key=lambda x: x.at,
    )
    customer_texts = [(m.id, m.text_for_scoring or m.text) for m in mentions]
    first = min((m.created_at for m in mentions if m.case_id == case.id), default=None)
    latest = replies[-1] if replies else None
    return CaseFile(
        case=case,
        customer=customer,
        identities=identities,
        timeline=timeline,
        facts=facts.collect(customer_texts, ignore=(*own_addresses,)),
        promises=promise_views(session, customer.id, now=now),
        stages=[(s, getattr(case, STAGE_COLUMNS[s])) for s in Stage],
        holder=_holder(session, case, now=now),
        notes=[e for e in events if e.kind == "note"],
        last_event_id=last_event_id,
        failed_reply=latest if latest and latest.state == ReplyState.FAILED else None,
        alerts=case_alerts(session, case.id),
        durations=[(st, d) for st, _, d in stage_durations(case, first_contact=first)],
        sla=clock_view(case.sla_kind, case.sla_due_at, now=now, soon=soon),
        assignee=session.get(Staff, case.assignee_id) if case.assignee_id else None,
    )


def _mention_entries(mentions: list[Mention], case_id: int) -> list[Entry]:
    """The customer's messages across their cases; a change of channel is a hop."""
    entries: list[Entry] = []
    previous: str | None = None
    for m in mentions:
        entries.append(
            Entry(
                m.created_at,
                "mention",
                m.author_name or m.author,
                m.text,
                channel=m.channel,
                case_id=m.case_id,
                hop=previous is not None and m.channel != previous,
                other_case=m.case_id != case_id,
                meta={"subject": m.subject, "score": m.score, "public": m.public, "id": m.id},
            )
        )
        previous = m.channel
    return entries


def _reply_entries(session: Session, replies: list[Reply]) -> list[Entry]:
    staff_names = dict(session.execute(select(Staff.id, Staff.name)).tuples().all())
    return [
        Entry(
            r.sent_at or r.created_at,
            "reply",
            staff_names.get(r.staff_id or 0, "staff"),
            r.body,
            channel=r.channel,
            case_id=r.case_id,
            meta={"state": r.state, "error": r.error, "id": r.id},
        )
        for r in replies
    ]


def _recent_events(session: Session, case_id: int) -> tuple[list[Entry], int]:
    """The case's latest events that the history shows, oldest first, and the newest id."""
    newest_first = session.scalars(
        select(Event).where(Event.case_id == case_id).order_by(Event.id.desc()).limit(HISTORY_LIMIT)
    )
    case_events = list(newest_first)[::-1]
    entries = [e for e in map(_event_entry, case_events) if e is not None]
    return entries, max((e.id for e in case_events), default=0)


def _holder(session: Session, case: Case, *, now: datetime) -> Staff | None:
    if case.claimed_by_id and claim_active(case, now):
        return session.get(Staff, case.claimed_by_id)
    return None


def entry_text(session: Session, case_id: int, *, kind: str, entry_id: int) -> str | None:
    """The whole text of one timeline entry of a case page (a mention of the case's
    customer, a reply on the case, a note on it), or None when the page has no such
    entry; raises queue.CaseNotFound for an unknown case."""
    case = get_case(session, case_id)
    if kind == "mentions":
        m = session.get(Mention, entry_id)
        ok = m is not None and (m.case_id == case.id or m.customer_id == case.customer_id)
        return m.text if m is not None and ok else None
    if kind == "replies":
        r = session.get(Reply, entry_id)
        return r.body if r is not None and r.case_id == case.id else None
    if kind == "notes":
        e = session.get(Event, entry_id)
        if e is None or e.case_id != case.id or e.kind != EventKind.NOTE_ADDED:
            return None
        return str((e.payload or {}).get("text", ""))
    return None
