"""The rows one stored batch writes: its mentions and events, and the customers,
identities and cases that placement created or changed.

Split from :mod:`monitor.ingest.service`, which decides what to store; here is how it is
written: bulk INSERT ... RETURNING for new rows (their ids are needed), and tuples
already in database form for the rest (see :mod:`monitor.storage.bulk`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from monitor import events
from monitor.customers.placement import Placer
from monitor.customers.placement_rows import CASE_STATE, CaseRow, IdentityRow
from monitor.db import Base
from monitor.mentions import PRIVATE_CHANNELS, MentionIn
from monitor.storage.bulk import CHUNK, RowEncoder, encoder, update_rows_by_id

TABLES = Base.metadata.tables


@dataclass(frozen=True)
class Placed:
    mention: MentionIn
    identity: IdentityRow
    case: CaseRow
    part: dict[str, Any]
    opened: bool
    reopened: bool
    hop_from: str | None


MENTION_COLUMNS = (
    "channel",
    "external_id",
    "source",
    "customer_id",
    "identity_id",
    "case_id",
    "author",
    "author_name",
    "text",
    "text_for_scoring",
    "subject",
    "public",
    "followers",
    "in_reply_to",
    "thread_refs",
    "attachments",
    "created_at",
    "received_at",
    "raw",
    "text_score",
    "score",
    "band",
    "reasons",
)


def mention_row(p: Placed, *, source: str, received: str, enc: RowEncoder) -> tuple[Any, ...]:
    """One ``mentions`` row in MENTION_COLUMNS order, encoded for the database."""
    m, case = p.mention, p.case
    attachments = [
        {"filename": a.filename, "content_type": a.content_type, "size": a.size}
        for a in m.attachments
    ]
    return (
        str(m.channel),
        m.external_id,
        source,
        p.identity.customer.id,
        p.identity.id,
        case.id,
        m.author.username or m.author.handle,
        m.author.name,
        m.text,
        m.text_for_scoring,
        m.subject,
        m.public,
        m.author.followers,
        m.in_reply_to,
        enc.json(list(m.thread_refs)),
        enc.json(attachments),
        enc.datetime(m.created_at),
        received,
        m.raw,
        enc.json(p.part),
        case.score,
        case.band,
        enc.json(list(case.reasons)),
    )


EVENT_COLUMNS = ("case_id", "kind", "actor", "payload", "created_at")


def event_rows(
    placed: list[Placed],
    cases: list[CaseRow],
    *,
    created: Any,
    enc: RowEncoder,
    targeted: Sequence[CaseRow] = (),
) -> list[tuple[Any, ...]]:
    """One ``mention.created`` per message (with its case's new score), plus a
    ``case.updated`` for each case that existed before this batch, a ``case.sla_set``
    for each target fixed or brought forward, a ``case.public_risk`` for each message
    that turned a private wait public (EVENT_COLUMNS rows)."""
    rows: list[tuple[Any, ...]] = []

    def add(kind: str, case_id: int | None, payload: dict[str, Any]) -> None:
        rows.append((case_id, kind, "system", enc.json(payload), created))

    opened = {id(p.case) for p in placed if p.opened}
    for p in placed:
        _placement_events(p, add)
    for case in cases:
        if id(case) not in opened:
            add(
                events.EventKind.CASE_UPDATED,
                case.id,
                {"score": case.score, "band": case.band, "status": case.status},
            )
    for case in targeted:
        if case.sla_due_at is not None:
            add(
                events.EventKind.SLA_SET,
                case.id,
                {
                    "kind": case.sla_kind,
                    "band": case.band,
                    "channel": case.channel,
                    "started_at": enc_iso(case.sla_started_at),
                    "due_at": enc_iso(case.sla_due_at),
                },
            )
    return rows


def _placement_events(p: Placed, add: Callable[[str, int | None, dict[str, Any]], None]) -> None:
    """The events one placed message causes: reopen, channel hop, public risk, creation."""
    if p.reopened:
        add(events.EventKind.CASE_REOPENED, p.case.id, {})
    if p.hop_from is not None:
        hop = {"from": p.hop_from, "to": str(p.mention.channel)}
        add(events.EventKind.CHANNEL_HOP, p.case.id, hop | {"external_id": p.mention.external_id})
        if p.mention.public and p.hop_from in PRIVATE_CHANNELS:
            risk = {"from": p.hop_from, "external_id": p.mention.external_id}
            add(events.EventKind.PUBLIC_RISK, p.case.id, risk)
    add(
        events.EventKind.MENTION_CREATED,
        p.case.id,
        {
            "channel": str(p.mention.channel),
            "external_id": p.mention.external_id,
            "opened_case": p.opened,
            "score": p.case.score,
            "band": p.case.band,
        },
    )


def enc_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class _HasId(Protocol):
    id: int | None


def _insert_new(
    session: Session, table: Table, objs: Sequence[_HasId], values: Callable[[Any], dict[str, Any]]
) -> None:
    """INSERT the new rows in bulk and give each object the id the database chose."""
    rows = [values(o) for o in objs]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for i in range(0, len(rows), CHUNK):
        ids = session.execute(stmt, rows[i : i + CHUNK]).scalars().all()
        for obj, new_id in zip(objs[i : i + CHUNK], ids, strict=True):
            obj.id = new_id


def write_placement(
    session: Session, placer: Placer, existing: list[CaseRow], *, now: datetime
) -> None:
    """Customers, identities, cases: a few bulk INSERT ... RETURNING id and bulk UPDATEs."""
    _insert_new(
        session,
        TABLES["customers"],
        placer.new_customers,
        lambda c: {"display_name": c.display_name[:200], "value": 0.0, "created_at": now},
    )
    _insert_new(
        session,
        TABLES["identities"],
        placer.new_identities,
        lambda i: {
            "customer_id": i.customer.id,
            "kind": i.kind,
            "handle": i.handle,
            "username": i.username,
            "name": i.name,
            "followers": i.followers,
            "linked_by": i.linked_by,
            "created_at": now,
        },
    )
    new_identities = set(map(id, placer.new_identities))
    update_rows_by_id(
        session,
        TABLES["identities"],
        ("username", "name", "followers"),
        [
            (i.username, i.name, i.followers, i.id)
            for i in placer.identities.values()
            if i.dirty and id(i) not in new_identities
        ],
    )
    _insert_new(
        session,
        TABLES["cases"],
        placer.new_cases,
        lambda c: {"customer_id": c.customer.id, "created_at": c.created_at, **c.state()},
    )
    enc = encoder(session)
    update_rows_by_id(session, TABLES["cases"], CASE_STATE, [case_state(c, enc) for c in existing])


def case_state(c: CaseRow, enc: RowEncoder) -> tuple[Any, ...]:
    """CASE_STATE values of an existing case, encoded, followed by its id."""
    dt, js = enc.datetime, enc.json
    return (
        c.status,
        c.channel,
        c.subject,
        c.priority,
        c.score,
        c.band,
        js(c.reasons),
        js(c.text_score),
        c.unanswered_count,
        c.hop_from,
        c.public,
        c.followers,
        dt(c.updated_at),
        dt(c.last_customer_at),
        dt(c.first_unanswered_at),
        dt(c.resolved_at),
        c.sla_kind,
        dt(c.sla_started_at),
        dt(c.sla_due_at),
        dt(c.sla_warn_at),
        c.sla_state,
        c.sla_step,
        dt(c.sla_next_action_at),
        c.public_risk,
        c.id,
    )
