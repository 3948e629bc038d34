"""Reading incidents: open ones, their cases, and suggestions (which case, which incident).

Suggestions come in two directions, both by near-duplicate text
(:mod:`monitor.incidents.similar`) and by the incident's terms:

- :func:`suggest_cases`: open complaints not yet attached that read like the ones
  already attached, or contain its terms (the incident view's "attach these?");
- :func:`suggest_incidents`: for one new complaint, the open incidents it may belong to
  (the case page's "part of this incident?"). Each incident is represented by its
  newest ``REFERENCES`` attached cases, so the cost does not grow with its size.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from monitor.incidents import similar
from monitor.models import Case, CaseStatus, Incident, IncidentCase, IncidentState, Mention
from monitor.storage.sql_lists import one_of

REFERENCES = 100  # newest attached cases that stand for an incident
CANDIDATES = 5000  # newest open cases looked at for an incident's suggestions
MIN_SIMILARITY = 0.35
TEXT_PER_CASE = 2000  # characters of a case's newest messages that are compared


def open_incidents(session: Session) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.state != IncidentState.RESOLVED)
            .order_by(Incident.created_at.desc(), Incident.id.desc())
        )
    )


def list_incidents(session: Session, *, include_resolved: bool = True) -> list[Incident]:
    stmt = select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
    if not include_resolved:
        stmt = stmt.where(Incident.state != IncidentState.RESOLVED)
    return list(session.scalars(stmt))


def attached_case_ids(
    session: Session, incident_id: int, *, newest: int | None = None
) -> list[int]:
    stmt = (
        select(IncidentCase.case_id)
        .where(IncidentCase.incident_id == incident_id)
        .order_by(IncidentCase.attached_at.desc(), IncidentCase.case_id.desc())
    )
    if newest is not None:
        stmt = stmt.limit(newest)
    return list(session.scalars(stmt))


def incidents_of_case(session: Session, case_id: int) -> list[Incident]:
    """The incidents a case is attached to, open ones first, newest first."""
    rows = session.scalars(
        select(Incident)
        .join(IncidentCase, IncidentCase.incident_id == Incident.id)
        .where(IncidentCase.case_id == case_id)
        .order_by(Incident.created_at.desc(), Incident.id.desc())
    )
    return sorted(rows, key=lambda i: i.state == IncidentState.RESOLVED)


def shared_paragraph(incident: Incident) -> str:
    """The text every affected customer may get word for word: status, then workaround."""
    return "\n".join(t for t in (incident.status_text.strip(), incident.workaround.strip()) if t)


def shared_paragraphs(session: Session, case_id: int) -> tuple[str, ...]:
    """The shared paragraphs a reply on this case may use: its open incidents'."""
    found = (shared_paragraph(i) for i in incidents_of_case(session, case_id))
    return tuple(p for p in found if p)


def case_texts(session: Session, case_ids: Iterable[int]) -> dict[int, str]:
    """The customer's words on each case: its newest messages, up to TEXT_PER_CASE chars."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Mention.case_id, Mention.text_for_scoring, Mention.text)
        .where(one_of(Mention.case_id, ids, session.get_bind().dialect))
        .order_by(Mention.case_id, Mention.id.desc())
    ).tuples()
    texts: dict[int, str] = {}
    for case_id, scored, raw in rows:
        have = texts.get(case_id, "")
        if len(have) < TEXT_PER_CASE:
            texts[case_id] = (have + "\n" + (scored or raw))[:TEXT_PER_CASE].strip()
    return texts


@dataclass(frozen=True)
class CaseSuggestion:
    case_id: int
    similarity: float
    terms: tuple[str, ...]
    text: str


def suggest_cases(
    session: Session,
    incident: Incident,
    *,
    limit: int = 50,
    min_similarity: float = MIN_SIMILARITY,
) -> list[CaseSuggestion]:
    """Open cases not attached to ``incident`` that read like its cases or use its terms."""
    references = case_texts(session, attached_case_ids(session, incident.id, newest=REFERENCES))
    attached = exists().where(
        IncidentCase.case_id == Case.id, IncidentCase.incident_id == incident.id
    )
    candidate_ids = list(
        session.scalars(
            select(Case.id)
            .where(Case.status != CaseStatus.RESOLVED, ~attached)
            .order_by(Case.id.desc())
            .limit(CANDIDATES)
        )
    )
    texts = case_texts(session, candidate_ids)
    ids = [cid for cid in candidate_ids if cid in texts]
    ranked = similar.rank(
        [texts[cid] for cid in ids],
        list(references.values()),
        terms=incident.terms,
        min_similarity=min_similarity,
    )
    return [
        CaseSuggestion(ids[r.index], r.similarity, r.terms, texts[ids[r.index]])
        for r in ranked[:limit]
    ]


@dataclass(frozen=True)
class IncidentSuggestion:
    incident_id: int
    title: str
    state: str
    similarity: float
    terms: tuple[str, ...]


class ReferenceCache:
    """Each open incident's reference vectors, kept between calls (one per process, on
    ``app.state``; never a global). An entry is reused while the incident's attached
    cases are unchanged (same count, newest attachment and sum of ids): one indexed aggregate
    query instead of reading and vectorising its REFERENCES cases on every complaint."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[tuple[int, Any], similar.Matrix]] = {}
        self._lock = threading.Lock()

    def references(self, session: Session, incident_id: int) -> similar.Matrix:
        count, newest, ids = session.execute(
            select(
                func.count(), func.max(IncidentCase.attached_at), func.sum(IncidentCase.case_id)
            ).where(IncidentCase.incident_id == incident_id)
        ).one()
        key = (int(count), (newest, ids))
        with self._lock:
            found = self._entries.get(incident_id)
        if found is not None and found[0] == key:
            return found[1]
        refs = case_texts(session, attached_case_ids(session, incident_id, newest=REFERENCES))
        matrix = similar.vectorise(list(refs.values()))
        with self._lock:
            self._entries[incident_id] = (key, matrix)
        return matrix


def suggest_incidents(
    session: Session,
    text: str,
    *,
    exclude: Sequence[int] = (),
    min_similarity: float = MIN_SIMILARITY,
    cache: ReferenceCache | None = None,
) -> list[IncidentSuggestion]:
    """The open incidents a complaint with ``text`` may belong to, best first."""
    out = []
    query = similar.vectorise([text])
    refs_of = (cache or ReferenceCache()).references
    for incident in open_incidents(session):
        if incident.id in exclude:
            continue
        best = float(similar.best_similarities(query, refs_of(session, incident.id))[0])
        terms = tuple(similar.matching_terms(text, incident.terms))
        if best >= min_similarity or terms:
            out.append(
                IncidentSuggestion(
                    incident.id, incident.title, incident.state, round(best, 3), terms
                )
            )
    out.sort(key=lambda s: -(s.similarity + 0.5 * bool(s.terms)))
    return out
