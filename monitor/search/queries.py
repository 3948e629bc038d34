"""Search across customers, mentions, replies and notes (read-only).

Mentions, replies and notes are found through full-text indexes (migration 0110):
SQLite FTS5 tables kept in step by triggers, PostgreSQL GIN indexes over
``to_tsvector('simple', ...)``. Both tokenise the same way and neither stems, so "refund"
finds "refund" (not "refunding"), "A-10023" finds the order number and an address finds
the messages that name it. The facts a customer gave (order numbers, amounts, addresses)
live in their messages, so searching those finds the facts. Customers are found by a
prefix of their name, X handle or user name, or email address.

Query syntax: words (all must occur) and "quoted phrases"; at most :data:`MAX_TERMS`
terms; anything else is ignored, never an error. Newest first, ``limit`` per kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from monitor.models import Customer, Event, Identity, Mention, Reply

MAX_TERMS = 8
MAX_QUERY = 200
SNIPPET = 160
_TERM = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w", re.UNICODE)

# The PostgreSQL expressions: the same text as the migration's indexes, or no index.
PG_MENTIONS = "search_vector"  # generated: to_tsvector('simple', text || ' ' || subject)
PG_REPLIES = "to_tsvector('simple'::regconfig, body)"
PG_NOTES = "to_tsvector('simple'::regconfig, coalesce(payload ->> 'text', ''))"
NOTE_KIND = "case.note"


@dataclass(frozen=True)
class Hit:
    """One found row: what it is, where it belongs, and the words around the match."""

    kind: str  # customer | mention | reply | note
    id: int
    case_id: int | None
    customer_id: int | None
    title: str
    snippet: str
    at: datetime | None


@dataclass(frozen=True)
class Results:
    query: str
    terms: tuple[str, ...]
    customers: list[Hit] = field(default_factory=list)
    mentions: list[Hit] = field(default_factory=list)
    replies: list[Hit] = field(default_factory=list)
    notes: list[Hit] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.customers) + len(self.mentions) + len(self.replies) + len(self.notes)


def terms(query: str) -> tuple[str, ...]:
    """The words and phrases of a query that can match anything (with a letter or digit)."""
    found = []
    for m in _TERM.finditer(query[:MAX_QUERY]):
        term = " ".join((m.group(1) if m.group(1) is not None else m.group(2)).split())
        if _WORD.search(term):
            found.append(term)
    return tuple(found[:MAX_TERMS])


def fts5_match(found: tuple[str, ...]) -> str:
    """An FTS5 MATCH expression: each term a quoted string (a phrase), all required."""
    return " ".join('"' + t.replace('"', '""') + '"' for t in found)


def snippet(body: str, found: tuple[str, ...], width: int = SNIPPET) -> str:
    """About ``width`` characters of ``body`` around the first term it contains."""
    flat = " ".join(body.split())
    lower = flat.lower()
    hits = [i for i in (lower.find(t.lower()) for t in found) if i >= 0]
    start = max(0, min(hits) - width // 3) if hits else 0
    cut = flat[start : start + width]
    return ("…" if start else "") + cut + ("…" if start + width < len(flat) else "")


def search(session: Session, query: str, *, limit: int = 20) -> Results:
    """Everything matching ``query``, newest first, at most ``limit`` of each kind."""
    found = terms(query)
    if not found:
        return Results(query=query, terms=())
    limit = max(1, min(limit, 100))
    pg = session.get_bind().dialect.name == "postgresql"
    return Results(
        query=query,
        terms=found,
        customers=_customers(session, found, limit=limit, pg=pg),
        mentions=_mentions(session, found, limit=limit, pg=pg),
        replies=_replies(session, found, limit=limit, pg=pg),
        notes=_notes(session, found, limit=limit, pg=pg),
    )


def _pg_tsquery(found: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    parts = [f"phraseto_tsquery('simple'::regconfig, :t{i})" for i in range(len(found))]
    return " && ".join(parts), {f"t{i}": t for i, t in enumerate(found)}


def _ids(
    session: Session, found: tuple[str, ...], *, table: str, limit: int, pg: bool
) -> list[int]:
    """Ids of the matching rows of one full-text index, newest (highest id) first."""
    if pg:
        tsq, params = _pg_tsquery(found)
        expr, source = {
            "mentions": (PG_MENTIONS, "mentions"),
            "replies": (PG_REPLIES, "replies"),
            "notes": (PG_NOTES, "events"),
        }[table]
        where = f"{expr} @@ ({tsq})" + (" AND kind = :note" if table == "notes" else "")
        if table == "notes":
            params["note"] = NOTE_KIND
        sql = f"SELECT id FROM {source} WHERE {where} ORDER BY id DESC LIMIT :limit"  # noqa: S608
        return list(session.scalars(text(sql), {**params, "limit": limit}))
    fts = {"mentions": "search_mentions", "replies": "search_replies", "notes": "search_notes"}
    name = fts[table]
    sql = f"SELECT rowid FROM {name} WHERE {name} MATCH :q ORDER BY rowid DESC LIMIT :limit"  # noqa: S608
    return list(session.scalars(text(sql), {"q": fts5_match(found), "limit": limit}))


def _mentions(session: Session, found: tuple[str, ...], *, limit: int, pg: bool) -> list[Hit]:
    ids = _ids(session, found, table="mentions", limit=limit, pg=pg)
    if not ids:
        return []
    rows = session.execute(
        select(
            Mention.id,
            Mention.case_id,
            Mention.customer_id,
            Mention.channel,
            Mention.author,
            Mention.text,
            Mention.created_at,
        ).where(Mention.id.in_(ids))
    ).all()
    return sorted(
        (
            Hit(
                "mention",
                r.id,
                r.case_id,
                r.customer_id,
                r.author,
                snippet(r.text, found),
                r.created_at,
            )
            for r in rows
        ),
        key=lambda h: -h.id,
    )


def _replies(session: Session, found: tuple[str, ...], *, limit: int, pg: bool) -> list[Hit]:
    ids = _ids(session, found, table="replies", limit=limit, pg=pg)
    if not ids:
        return []
    rows = session.execute(
        select(Reply.id, Reply.case_id, Reply.channel, Reply.body, Reply.created_at).where(
            Reply.id.in_(ids)
        )
    ).all()
    return sorted(
        (
            Hit("reply", r.id, r.case_id, None, r.channel, snippet(r.body, found), r.created_at)
            for r in rows
        ),
        key=lambda h: -h.id,
    )


def _notes(session: Session, found: tuple[str, ...], *, limit: int, pg: bool) -> list[Hit]:
    ids = _ids(session, found, table="notes", limit=limit, pg=pg)
    if not ids:
        return []
    rows = session.scalars(select(Event).where(Event.id.in_(ids))).all()
    return sorted(
        (
            Hit(
                "note",
                e.id,
                e.case_id,
                None,
                e.actor,
                snippet(str((e.payload or {}).get("text", "")), found),
                e.created_at,
            )
            for e in rows
        ),
        key=lambda h: -h.id,
    )


def _customers(session: Session, found: tuple[str, ...], *, limit: int, pg: bool) -> list[Hit]:
    """Customers whose name, handle, user name or address starts with the whole query."""
    prefix = " ".join(found).lower().lstrip("@")
    if pg:
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = (
            "SELECT customer_id FROM identities WHERE lower(handle) LIKE :p "
            "OR lower(username) LIKE :p UNION "
            "SELECT id FROM customers WHERE lower(display_name) LIKE :p LIMIT :limit"
        )
        params: dict[str, object] = {"p": pattern, "limit": limit}
    else:
        sql = (
            "SELECT customer_id FROM identities WHERE lower(handle) >= :lo AND lower(handle) < :hi "
            "UNION SELECT customer_id FROM identities "
            "WHERE lower(username) >= :lo AND lower(username) < :hi "
            "UNION SELECT id FROM customers "
            "WHERE lower(display_name) >= :lo AND lower(display_name) < :hi LIMIT :limit"
        )
        params = {"lo": prefix, "hi": prefix + "\U0010ffff", "limit": limit}
    ids = list(session.scalars(text(sql), params))
    if not ids:
        return []
    people = session.scalars(select(Customer).where(Customer.id.in_(ids))).all()
    handles = _handles(session, ids)
    return sorted(
        (
            Hit(
                "customer",
                c.id,
                None,
                c.id,
                c.display_name or (handles.get(c.id) or ["?"])[0],
                " · ".join(handles.get(c.id, [])),
                c.created_at,
            )
            for c in people
        ),
        key=lambda h: h.title.lower(),
    )


def _handles(session: Session, customer_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows: list[Row[tuple[int, str, str, str | None]]] = list(
        session.execute(
            select(Identity.customer_id, Identity.kind, Identity.handle, Identity.username)
            .where(Identity.customer_id.in_(customer_ids))
            .order_by(Identity.id)
        ).all()
    )
    for customer_id, kind, handle, username in rows:
        shown = f"@{username}" if kind == "x" and username else (username or handle)
        out.setdefault(customer_id, []).append(shown)
    return out
