"""Ingest one fetched batch: dedupe, link, place on a case, score, store, advance cursor.

Everything here happens in the caller's transaction, so the mentions, their cases and
events, the quarantined items and the source's next cursor commit together or not at
all. Re-delivery is harmless: a (channel, external id) already stored is skipped, and
the unique constraint backs that up if two writers ever race.

A mention the database refuses (a value no column holds, a number beyond 64 bits) is
quarantined with the database's reason and the rest of its batch is stored
(:func:`store_or_quarantine`): one bad item must never stop its source. Errors of the
connection or the database itself are not the item's fault and propagate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from monitor import events
from monitor.cases.assignment import auto_assign
from monitor.cases.service import clear_on_reopen
from monitor.customers.placement import Placer
from monitor.customers.placement_rows import CaseRow
from monitor.ingest.column_fit import REPLACEMENT, UNSTORABLE, fit_to_columns
from monitor.ingest.rows import (
    EVENT_COLUMNS,
    MENTION_COLUMNS,
    TABLES,
    Placed,
    event_rows,
    mention_row,
    write_placement,
)
from monitor.mentions import PRIVATE_CHANNELS, MentionIn
from monitor.models import Mention, Quarantine
from monitor.priority.service import Scorer, rescore_cases
from monitor.sla.policy import SlaPolicy, default_policy
from monitor.sla.service import fix_target
from monitor.sources.base import Batch, Quarantined
from monitor.storage.bulk import encoder, insert_rows
from monitor.storage.cursors import cursor_row
from monitor.storage.sql_lists import one_of


@dataclass(frozen=True)
class IngestOptions:
    hop_window: timedelta = timedelta(days=14)
    link_stated: bool = True
    own_addresses: tuple[str, ...] = ()
    own_handles: tuple[str, ...] = ()
    sla: SlaPolicy = field(default_factory=default_policy)
    auto_assign: bool = False  # queue.auto_assign: round_robin


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


def _existing(session: Session, mentions: list[MentionIn]) -> set[tuple[str, str]]:
    """(channel, external id) pairs already stored; one indexed lookup per channel."""
    by_channel: dict[str, list[str]] = {}
    for m in mentions:
        by_channel.setdefault(str(m.channel), []).append(m.external_id)
    found: set[tuple[str, str]] = set()
    conn = session.connection()
    for channel, ids in by_channel.items():
        stored = select(Mention.external_id).where(
            Mention.channel == channel, one_of(Mention.external_id, ids, conn.dialect)
        )
        found.update((channel, e) for (e,) in conn.execute(stored))
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


@dataclass(frozen=True)
class Stored:
    new: int
    duplicates: int
    cases_opened: int
    hops: int
    case_ids: tuple[int, ...]
    rejected: tuple[Quarantined, ...] = ()  # could not be stored as they are: quarantine


def _place_all(
    placer: Placer, fresh: list[MentionIn], parts: list[dict[str, Any]], *, scorer: Scorer
) -> list[Placed]:
    placer.warm(fresh)
    placed: list[Placed] = []
    for m, part in zip(fresh, parts, strict=True):
        identity = placer.resolve(m)
        case, opened, reopened, hop_from = placer.place(m, identity.customer)
        if _stronger(scorer, case.text_score, part):
            case.text_score = part
        placed.append(Placed(m, identity, case, part, opened, reopened, hop_from))
    return placed


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

    All rows are written with bulk statements (a handful per batch, whatever its size);
    ORM objects the session already holds are expired afterwards so they reload.
    """
    session.flush()
    fitting, rejected = fit_to_columns(mentions, source=source)
    fresh, duplicates = _fresh(session, fitting)
    if not fresh:
        return Stored(0, duplicates, 0, 0, (), tuple(rejected))
    fresh.sort(key=lambda m: m.created_at)
    parts = scorer.text_parts([m.scoring_text() for m in fresh], [str(m.channel) for m in fresh])
    placer = Placer(
        session,
        now,
        hop_window=options.hop_window,
        link_stated=options.link_stated,
        own_addresses=options.own_addresses,
        own_handles=options.own_handles,
    )
    placed = _place_all(placer, fresh, parts, scorer=scorer)
    cases = list({id(p.case): p.case for p in placed}.values())
    rescore_cases(session, cases, scorer=scorer, now=now)
    targeted = [c for c in cases if fix_target(c, options.sla)]
    _alert_public_risk_now(placed, now=now)
    late = [c for c in targeted if c.sla_due_at is not None and c.sla_due_at <= now]
    rescore_cases(session, late, scorer=scorer, now=now)  # a backlog can arrive overdue
    existing = [c for c in cases if c.id is not None]
    write_placement(session, placer, existing, now=now)
    clear_on_reopen(session, [p.case.id for p in placed if p.reopened and p.case.id])
    if options.auto_assign:
        auto_assign(session, [c.id for c in placer.new_cases if c.id is not None], now=now)
    _insert_mentions_and_events(session, placed, cases, targeted, source=source, now=now)
    events.notify(session)  # wake live consoles in every process once this commits
    session.expire_all()
    return Stored(
        new=len(placed),
        duplicates=duplicates,
        cases_opened=sum(p.opened for p in placed),
        hops=sum(p.hop_from is not None for p in placed),
        case_ids=tuple(c.id for c in cases if c.id is not None),
        rejected=tuple(rejected),
    )


def _alert_public_risk_now(placed: list[Placed], *, now: datetime) -> None:
    """A private wait gone public alerts the lead at once (monitor.sla.clock)."""
    for p in placed:
        risky = p.case.public_risk and p.hop_from in PRIVATE_CHANNELS and p.mention.public
        if risky and p.case.sla_due_at is not None:
            p.case.sla_next_action_at = now


def _insert_mentions_and_events(
    session: Session,
    placed: list[Placed],
    cases: list[CaseRow],
    targeted: list[CaseRow],
    *,
    source: str,
    now: datetime,
) -> None:
    enc = encoder(session)
    at = enc.datetime(now)
    rows = [mention_row(p, source=source, received=at, enc=enc) for p in placed]
    insert_rows(session, TABLES["mentions"], MENTION_COLUMNS, rows)
    event_table_rows = event_rows(placed, cases, created=at, enc=enc, targeted=targeted)
    insert_rows(session, TABLES["events"], EVENT_COLUMNS, event_table_rows)


def _refused_by_database(exc: Exception) -> bool:
    """The values were refused, not the connection: storing the item alone fails again."""
    if isinstance(exc, DBAPIError):
        return not exc.connection_invalidated and isinstance(exc, DataError | IntegrityError)
    if isinstance(exc, StatementError):  # a bind parameter could not be converted
        exc = exc.orig if isinstance(exc.orig, Exception) else exc
    return isinstance(exc, UnicodeError | OverflowError)


def _why(exc: Exception) -> str:
    """The database's own words, without the statement and its parameters."""
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return _printable(f"{type(cause).__name__}: {first}")[:500]


def _combined(a: Stored, b: Stored) -> Stored:
    return Stored(
        new=a.new + b.new,
        duplicates=a.duplicates + b.duplicates,
        cases_opened=a.cases_opened + b.cases_opened,
        hops=a.hops + b.hops,
        case_ids=tuple(dict.fromkeys(a.case_ids + b.case_ids)),
        rejected=a.rejected + b.rejected,
    )


def store_or_quarantine(
    session: Session,
    mentions: list[MentionIn],
    *,
    source: str,
    now: datetime,
    scorer: Scorer,
    options: IngestOptions,
) -> Stored:
    """:func:`store_mentions` in a SAVEPOINT; if the database refuses the batch, its
    halves are tried in turn, so a bad mention ends up alone, quarantined with the
    reason, after about log2(batch) more tries, and every other mention is stored."""
    try:
        with session.begin_nested():
            return store_mentions(
                session, mentions, source=source, now=now, scorer=scorer, options=options
            )
    except Exception as exc:
        if not _refused_by_database(exc):
            raise
        if len(mentions) == 1:
            m = mentions[0]
            reason = f"cannot be stored: {_why(exc)}"
            return Stored(0, 0, 0, 0, (), (Quarantined(source, reason, m.raw, m.external_id),))
    half = len(mentions) // 2
    parts = [
        store_or_quarantine(session, p, source=source, now=now, scorer=scorer, options=options)
        for p in (mentions[:half], mentions[half:])
    ]
    return _combined(*parts)


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
    stored = store_or_quarantine(
        session, batch.mentions, source=source, now=now, scorer=scorer, options=options
    )
    quarantined = [*batch.quarantined, *stored.rejected]
    add_quarantined(session, quarantined, source=source, now=now)
    row.cursor = batch.next_cursor
    row.updated_at = now
    row.fetched_total = (row.fetched_total or 0) + stored.new
    row.quarantined_total = (row.quarantined_total or 0) + len(quarantined)
    if batch.rate_limit_remaining is not None:
        row.rate_limit_remaining = batch.rate_limit_remaining
    if batch.rate_limit_reset_at is not None:
        row.rate_limit_reset_at = batch.rate_limit_reset_at
    return IngestResult(
        source=source,
        fetched=len(batch.mentions),
        new=stored.new,
        duplicates=stored.duplicates,
        quarantined=len(quarantined),
        cases_opened=stored.cases_opened,
        hops=stored.hops,
        case_ids=stored.case_ids,
    )


def add_quarantined(
    session: Session, items: list[Quarantined], *, source: str, now: datetime
) -> None:
    """Keep items that could not be stored, byte for byte, with their reasons."""
    for q in items:
        session.add(
            Quarantine(
                source=q.source or source,
                external_id=None if q.external_id is None else _printable(q.external_id)[:512],
                reason=_printable(q.reason)[:2000],
                raw=q.raw,
                created_at=now,
            )
        )


def _printable(text: str) -> str:
    """A reason or id as the database can store it (the raw bytes keep the original)."""
    return UNSTORABLE.sub(REPLACEMENT, text)


def _canonical(cursor: Any) -> str:
    return json.dumps(cursor, sort_keys=True, default=str)
