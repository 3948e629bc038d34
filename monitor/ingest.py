"""Ingest one fetched batch: dedupe, link, place on a case, score, store, advance cursor.

Everything here happens in the caller's transaction, so the mentions, their cases and
events, the quarantined items and the source's next cursor commit together or not at
all. Re-delivery is harmless: a (channel, external id) already stored is skipped, and
the unique constraint backs that up if two writers ever race.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from monitor import events
from monitor.linking import Linker
from monitor.mentions import MentionIn
from monitor.models import Case, Event, Identity, Mention, Quarantine, SourceCursor
from monitor.priority import Scorer, rescore_cases
from monitor.queue import CaseFinder, record_contact
from monitor.sources.base import Batch

CHUNK = 500


@dataclass(frozen=True)
class IngestOptions:
    hop_window: timedelta = timedelta(days=14)
    link_stated: bool = True
    own_addresses: tuple[str, ...] = ()
    own_handles: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    source: str
    fetched: int
    new: int
    duplicates: int
    quarantined: int
    cases_opened: int
    hops: int
    case_ids: tuple[int, ...] = ()


def cursor_row(session: Session, source: str, *, now: datetime, lock: bool = False) -> SourceCursor:
    stmt = select(SourceCursor).where(SourceCursor.source == source)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        row = SourceCursor(
            source=source,
            cursor=None,
            updated_at=now,
            consecutive_failures=0,
            fetched_total=0,
            quarantined_total=0,
        )
        session.add(row)
    return row


def _existing(session: Session, mentions: list[MentionIn]) -> set[tuple[str, str]]:
    keys = [(str(m.channel), m.external_id) for m in mentions]
    found: set[tuple[str, str]] = set()
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        rows = session.execute(
            select(Mention.channel, Mention.external_id).where(
                tuple_(Mention.channel, Mention.external_id).in_(chunk)
            )
        )
        found.update((c, e) for c, e in rows)
    return found


def _fresh(session: Session, mentions: list[MentionIn]) -> tuple[list[MentionIn], int]:
    stored = _existing(session, mentions)
    seen: set[tuple[str, str]] = set()
    fresh: list[MentionIn] = []
    for m in mentions:
        key = (str(m.channel), m.external_id)
        if key in stored or key in seen:
            continue
        seen.add(key)
        fresh.append(m)
    return fresh, len(mentions) - len(fresh)


def _stronger(scorer: Scorer, current: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    return current is None or scorer.strength(new) >= scorer.strength(current)


def _mention_row(
    m: MentionIn, identity: Identity, case: Case, part: dict[str, Any], *, source: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "channel": str(m.channel),
        "external_id": m.external_id,
        "source": source,
        "customer_id": identity.customer_id,
        "identity_id": identity.id,
        "case_id": case.id,
        "author": m.author.username or m.author.handle,
        "author_name": m.author.name,
        "text": m.text,
        "text_for_scoring": m.text_for_scoring,
        "subject": m.subject,
        "public": m.public,
        "followers": m.author.followers,
        "in_reply_to": m.in_reply_to,
        "thread_refs": list(m.thread_refs),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in m.attachments
        ],
        "created_at": m.created_at,
        "received_at": now,
        "raw": m.raw,
        "text_score": part,
        "score": case.score,
        "band": case.band,
        "reasons": list(case.reasons),
    }


@dataclass(frozen=True)
class Placed:
    mention: MentionIn
    identity: Identity
    case: Case
    part: dict[str, Any]
    opened: bool
    reopened: bool
    hop_from: str | None


@dataclass(frozen=True)
class Stored:
    new: int
    duplicates: int
    cases_opened: int
    hops: int
    case_ids: tuple[int, ...]


def _place_all(
    session: Session, fresh: list[MentionIn], parts: list[dict[str, Any]], *, now: datetime,
    scorer: Scorer, options: IngestOptions,
) -> list[Placed]:
    linker = Linker(session, now, link_stated=options.link_stated,
                    own_addresses=options.own_addresses, own_handles=options.own_handles)
    linker.warm(fresh)
    finder = CaseFinder(session, now, options.hop_window)
    finder.warm(fresh, {i.customer_id for i in linker.cache.values() if i.customer_id})
    placed: list[Placed] = []
    with session.no_autoflush:  # one flush for the whole batch, not one per lookup
        for m, part in zip(fresh, parts, strict=True):
            identity, _new = linker.resolve(m)
            where = finder.place(m, customer=identity.customer)
            record_contact(where.case, m, now=now, hop_from=where.hop_from)
            if _stronger(scorer, where.case.text_score, part):
                where.case.text_score = part
            placed.append(Placed(m, identity, where.case, part, where.opened, where.reopened,
                                 where.hop_from))
            finder.note_pending(m.external_id, where.case)
    return placed


def _events(placed: list[Placed], cases: list[Case], *, now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(kind: str, case_id: int, payload: dict[str, Any]) -> None:
        rows.append({"case_id": case_id, "kind": kind, "actor": "system", "payload": payload,
                     "created_at": now})

    for p in placed:
        if p.reopened:
            add(events.EventKind.CASE_REOPENED, p.case.id, {})
        if p.hop_from is not None:
            add(events.EventKind.CHANNEL_HOP, p.case.id,
                {"from": p.hop_from, "to": str(p.mention.channel),
                 "external_id": p.mention.external_id})
        add(events.EventKind.MENTION_CREATED, p.case.id,
            {"channel": str(p.mention.channel), "external_id": p.mention.external_id,
             "opened_case": p.opened})
    for case in cases:
        add(events.EventKind.CASE_UPDATED, case.id,
            {"score": case.score, "band": case.band, "status": case.status})
    return rows


def store_mentions(
    session: Session,
    mentions: list[MentionIn],
    *,
    source: str,
    now: datetime,
    scorer: Scorer,
    options: IngestOptions,
) -> Stored:
    """Store new mentions on their cases, with their events, in the caller's transaction.

    Customers, identities and cases go through the ORM (their ids are needed); mentions
    and events, the bulk of the rows, are inserted in bulk without fetching ids back.
    """
    fresh, duplicates = _fresh(session, mentions)
    if not fresh:
        return Stored(0, duplicates, 0, 0, ())
    fresh.sort(key=lambda m: m.created_at)
    parts = scorer.text_parts([m.scoring_text() for m in fresh], [str(m.channel) for m in fresh])
    placed = _place_all(session, fresh, parts, now=now, scorer=scorer, options=options)
    cases = list({id(p.case): p.case for p in placed}.values())
    with session.no_autoflush:
        rescore_cases(session, cases, scorer=scorer, now=now)
    session.flush()  # one round of INSERT/UPDATE for customers, identities and cases
    rows = [_mention_row(p.mention, p.identity, p.case, p.part, source=source, now=now)
            for p in placed]
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(Mention), rows[i : i + CHUNK])
    event_rows = _events(placed, cases, now=now)
    for i in range(0, len(event_rows), CHUNK):
        session.execute(insert(Event), event_rows[i : i + CHUNK])
    return Stored(
        new=len(placed), duplicates=duplicates, cases_opened=sum(p.opened for p in placed),
        hops=sum(p.hop_from is not None for p in placed),
        case_ids=tuple(c.id for c in cases),
    )


def ingest_batch(
    session: Session,
    batch: Batch,
    *,
    source: str,
    now: datetime,
    scorer: Scorer,
    options: IngestOptions,
    expected_cursor: dict[str, Any] | None = None,
    check_cursor: bool = False,
) -> IngestResult | None:
    """Store a batch and advance the cursor atomically (in the caller's transaction).

    With ``check_cursor`` the batch is dropped (returns None) when the stored cursor is no
    longer the one the batch was fetched from: another poller got there first.
    """
    row = cursor_row(session, source, now=now, lock=check_cursor)
    if check_cursor and _canonical(row.cursor) != _canonical(expected_cursor):
        return None
    stored = store_mentions(
        session, batch.mentions, source=source, now=now, scorer=scorer, options=options
    )
    for q in batch.quarantined:
        session.add(
            Quarantine(
                source=q.source or source,
                external_id=q.external_id,
                reason=q.reason[:2000],
                raw=q.raw,
                created_at=now,
            )
        )
    row.cursor = batch.next_cursor
    row.updated_at = now
    row.fetched_total = (row.fetched_total or 0) + stored.new
    row.quarantined_total = (row.quarantined_total or 0) + len(batch.quarantined)
    if batch.rate_limit_remaining is not None:
        row.rate_limit_remaining = batch.rate_limit_remaining
    if batch.rate_limit_reset_at is not None:
        row.rate_limit_reset_at = batch.rate_limit_reset_at
    return IngestResult(
        source=source,
        fetched=len(batch.mentions),
        new=stored.new,
        duplicates=stored.duplicates,
        quarantined=len(batch.quarantined),
        cases_opened=stored.cases_opened,
        hops=stored.hops,
        case_ids=stored.case_ids,
    )


def _canonical(cursor: Any) -> str:
    return json.dumps(cursor, sort_keys=True, default=str)
