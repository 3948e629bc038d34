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

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from monitor import events
from monitor.linking import Linker
from monitor.mentions import MentionIn
from monitor.models import Case, Mention, Quarantine, SourceCursor
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
    mention_ids: tuple[int, ...] = ()


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


def store_mentions(
    session: Session,
    mentions: list[MentionIn],
    *,
    source: str,
    now: datetime,
    scorer: Scorer,
    options: IngestOptions,
) -> tuple[list[Mention], int, int, int]:
    """Store new mentions on their cases. Returns (stored, duplicates, opened, hops)."""
    fresh, duplicates = _fresh(session, mentions)
    if not fresh:
        return [], duplicates, 0, 0
    fresh.sort(key=lambda m: m.created_at)
    parts = scorer.text_parts([m.scoring_text() for m in fresh], [str(m.channel) for m in fresh])
    linker = Linker(
        session,
        now,
        link_stated=options.link_stated,
        own_addresses=options.own_addresses,
        own_handles=options.own_handles,
    )
    linker.warm(fresh)
    finder = CaseFinder(session, now, options.hop_window)
    finder.warm(fresh, {i.customer_id for i in linker.cache.values() if i.customer_id})
    stored: list[tuple[Mention, MentionIn, bool, str | None, bool]] = []
    touched: dict[int, Case] = {}
    opened = hops = 0
    for m, part in zip(fresh, parts, strict=True):
        identity, _new_identity = linker.resolve(m)
        placement = finder.place(m, customer=identity.customer)
        case = placement.case
        record_contact(case, m, now=now, hop_from=placement.hop_from)
        if _stronger(scorer, case.text_score, part):
            case.text_score = part
        row = Mention(
            channel=str(m.channel),
            external_id=m.external_id,
            source=source,
            customer=identity.customer,
            identity=identity,
            case=case,
            author=m.author.username or m.author.handle,
            author_name=m.author.name,
            text=m.text,
            text_for_scoring=m.text_for_scoring,
            subject=m.subject,
            public=m.public,
            followers=m.author.followers,
            in_reply_to=m.in_reply_to,
            thread_refs=list(m.thread_refs),
            attachments=[
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in m.attachments
            ],
            created_at=m.created_at,
            received_at=now,
            raw=m.raw,
            text_score=part,
            reasons=[],
        )
        session.add(row)
        stored.append((row, m, placement.opened, placement.hop_from, placement.reopened))
        opened += placement.opened
        hops += placement.hop_from is not None
        touched[id(case)] = case
    session.flush()
    for row, _m, was_opened, hop_from, reopened in stored:
        finder.remember(row.external_id, row.case_id)
        if was_opened:
            events.append(
                session,
                events.EventKind.CASE_OPENED,
                now=now,
                case_id=row.case_id,
                payload={"channel": row.channel},
            )
        if reopened:
            events.append(session, events.EventKind.CASE_REOPENED, now=now, case_id=row.case_id)
        if hop_from is not None:
            events.append(
                session,
                events.EventKind.CHANNEL_HOP,
                now=now,
                case_id=row.case_id,
                payload={"from": hop_from, "to": row.channel, "mention_id": row.id},
            )
        events.append(
            session,
            events.EventKind.MENTION_CREATED,
            now=now,
            case_id=row.case_id,
            payload={"mention_id": row.id, "channel": row.channel, "external_id": row.external_id},
        )
    cases = list(touched.values())
    rescore_cases(session, cases, scorer=scorer, now=now)
    for row, _m, *_ in stored:
        case = row.case
        row.score, row.band, row.reasons = case.score, case.band, list(case.reasons)
    for case in cases:
        events.append(
            session,
            events.EventKind.CASE_UPDATED,
            now=now,
            case_id=case.id,
            payload={"score": case.score, "band": case.band, "status": case.status},
        )
    return [r for r, *_ in stored], duplicates, opened, hops


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
    stored, duplicates, opened, hops = store_mentions(
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
    row.fetched_total = (row.fetched_total or 0) + len(stored)
    row.quarantined_total = (row.quarantined_total or 0) + len(batch.quarantined)
    if batch.rate_limit_remaining is not None:
        row.rate_limit_remaining = batch.rate_limit_remaining
    if batch.rate_limit_reset_at is not None:
        row.rate_limit_reset_at = batch.rate_limit_reset_at
    return IngestResult(
        source=source,
        fetched=len(batch.mentions),
        new=len(stored),
        duplicates=duplicates,
        quarantined=len(batch.quarantined),
        cases_opened=opened,
        hops=hops,
        mention_ids=tuple(r.id for r in stored),
    )


def _canonical(cursor: Any) -> str:
    return json.dumps(cursor, sort_keys=True, default=str)
