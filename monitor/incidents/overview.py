"""Read models: one incident at a glance, and the incident panel of a case page.

:func:`overview` answers "who is affected and who is still waiting": the attached cases
by channel and by frustration band, replies pending (queued, sending or held for a
lead), and for each case how long since the customer last heard from us (``None``:
never). :func:`case_panel` is what the case page and the composer show: the incident's
status and workaround, the shared paragraph the reply may use word for word, and the
details the incident needs that this customer has not given yet ("ask for details").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.customers import facts as facts_mod
from monitor.incidents import drafts
from monitor.incidents.queries import incidents_of_case, shared_paragraph
from monitor.models import (
    Case,
    Customer,
    Identity,
    Incident,
    IncidentCase,
    IncidentState,
    Promise,
    Reply,
)
from monitor.promises import compensation
from monitor.promises.service import UNKEPT

PENDING_REPLIES = ("queued", "sending", "held")
TASK_KINDS = ("incident_update", "check_in")
MAX_ROWS = 1000


@dataclass(frozen=True)
class AffectedCase:
    case_id: int
    customer: str
    channel: str
    band: str
    score: int
    status: str
    last_heard: datetime | None  # our last reply that reached them
    since_heard: timedelta | None  # None: never heard from us
    task: str | None  # the open incident task: incident_update / check_in


@dataclass(frozen=True)
class Overview:
    incident: Incident
    paragraph: str
    affected: int
    by_channel: dict[str, int]
    by_band: dict[str, int]
    replies_pending: int
    never_heard: int
    open_tasks: int
    cases: list[AffectedCase] = field(default_factory=list)


def overview(session: Session, incident: Incident, *, now: datetime) -> Overview:
    rows = session.execute(
        select(Case, Customer.display_name)
        .join(IncidentCase, IncidentCase.case_id == Case.id)
        .join(Customer, Customer.id == Case.customer_id)
        .where(IncidentCase.incident_id == incident.id)
        .order_by(Case.priority.desc(), Case.id)
    ).all()
    attached = select(IncidentCase.case_id).where(IncidentCase.incident_id == incident.id)
    pending = session.scalar(
        select(func.count())
        .select_from(Reply)
        .where(Reply.case_id.in_(attached), Reply.state.in_(PENDING_REPLIES))
    )
    tasks = dict(
        session.execute(
            select(Promise.case_id, Promise.kind).where(
                Promise.case_id.in_(attached),
                Promise.kind.in_(TASK_KINDS),
                Promise.state.in_(UNKEPT),
            )
        )
        .tuples()
        .all()
    )
    cases = [
        AffectedCase(
            case_id=case.id,
            customer=name or "",
            channel=case.channel,
            band=case.band,
            score=case.score,
            status=case.status,
            last_heard=case.last_staff_reply_at,
            since_heard=(now - case.last_staff_reply_at) if case.last_staff_reply_at else None,
            task=tasks.get(case.id),
        )
        for case, name in rows[:MAX_ROWS]
    ]
    return Overview(
        incident=incident,
        paragraph=shared_paragraph(incident),
        affected=len(rows),
        by_channel=dict(Counter(case.channel for case, _ in rows).most_common()),
        by_band=dict(Counter(case.band for case, _ in rows).most_common()),
        replies_pending=int(pending or 0),
        never_heard=sum(1 for case, _ in rows if case.last_staff_reply_at is None),
        open_tasks=len(tasks),
        cases=cases,
    )


@dataclass(frozen=True)
class Ask:
    kind: str
    question: str


@dataclass(frozen=True)
class CasePanel:
    incident: Incident
    paragraph: str
    asks: list[Ask]  # what the incident needs that the customer has not told us yet
    ask_sentence: str  # a question to put in the reply, in the composer's words
    draft: str = ""  # the personal update to start from, while an incident task is open


def details_to_ask(incident: Incident, known: list[facts_mod.Fact]) -> list[Ask]:
    have = {f.kind.value for f in known}
    out = []
    for kind in incident.asks:
        try:
            question = facts_mod.ASKABLE[facts_mod.FactKind(kind)]
        except (ValueError, KeyError):
            question = kind  # a free-text ask ("a screenshot")
        if kind not in have:
            out.append(Ask(kind, question))
    return out


def ask_sentence(asks: list[Ask]) -> str:
    if not asks:
        return ""
    parts = [a.question for a in asks]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"So we can check your case, could you tell me {listed}?"


def open_task(session: Session, case_id: int) -> Promise | None:
    """The case's open incident task (an update or a check-in owed), if any."""
    return session.scalars(
        select(Promise)
        .where(
            Promise.case_id == case_id,
            Promise.kind.in_(TASK_KINDS),
            Promise.state.in_(UNKEPT),
        )
        .order_by(Promise.id.desc())
        .limit(1)
    ).first()


def case_panel(
    session: Session, case_id: int, known: list[facts_mod.Fact], *, customer_name: str = ""
) -> list[CasePanel]:
    """One panel per incident of the case; the incident an open task is about gets the
    draft of a personal update (a check-in once resolved) for this customer."""
    task = open_task(session, case_id)
    check_in = task is not None and task.kind == "check_in"
    drafted = task is None
    panels = []
    for incident in incidents_of_case(session, case_id):
        asks = details_to_ask(incident, known)
        draft = ""
        if not drafted and (incident.state == IncidentState.RESOLVED) == check_in:
            draft = drafts.update_draft(
                incident, customer_name=customer_name, facts=known, check_in=check_in
            )
            drafted = True
        paragraph = shared_paragraph(incident)
        panels.append(CasePanel(incident, paragraph, asks, ask_sentence(asks), draft))
    return panels


@dataclass(frozen=True)
class Worth:
    """What the team weighs compensation against: value, reach, what they had before."""

    lifetime_value: float
    followers: int | None  # their largest audience on any channel (network value)
    past: list[compensation.PastCompensation]


def customer_worth(session: Session, customer_id: int) -> Worth:
    customer = session.get(Customer, customer_id)
    followers = session.scalar(
        select(func.max(Identity.followers)).where(Identity.customer_id == customer_id)
    )
    return Worth(
        lifetime_value=customer.value if customer else 0.0,
        followers=int(followers) if followers is not None else None,
        past=compensation.past_compensation(session, customer_id),
    )
