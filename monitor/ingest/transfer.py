"""Export mentions as JSON Lines, and backfill them from an export or an X API v2 dump.

Import is idempotent: it goes through the same ingest path as polling (dedupe by
channel + external id), one transaction per chunk, so an interrupted import can simply
be run again.

A customer's value (what the scorer weighs, 0 ordinary .. 100) comes in the same file:
``"customer_value"`` on a mention line sets it for that mention's customer, and a line
with ``channel``, ``author`` and ``customer_value`` but no ``text`` sets it for the
customer who owns that identity (e.g. a CRM's key-account list). Values are applied
after the chunk's mentions are stored, in the same transaction; a refused value (not a
number, out of range) keeps its whole line out; a value for an identity nobody has is
quarantined alone. Either way the reason names the line.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from monitor.customers.service import CustomerError, check_value, set_value
from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.service import IngestOptions, add_quarantined, store_or_quarantine
from monitor.mentions import CHANNEL_IDENTITY, Author, Channel, MentionIn
from monitor.models import Customer, Identity, Mention
from monitor.priority.service import Scorer
from monitor.sources.base import Quarantined
from monitor.storage.gc_pause import collector_paused
from monitor.storage.wal_checkpoint import WalCheckpointer

CHUNK = 500
CHANNEL_ALIASES = {
    "twitter": Channel.X,
    "x": Channel.X,
    "x_dm": Channel.X_DM,
    "dm": Channel.X_DM,
    "email": Channel.EMAIL,
}


def export_rows(session: Session) -> Iterator[dict[str, Any]]:
    stmt = select(Mention).order_by(Mention.id).execution_options(yield_per=1000)
    for m in session.scalars(stmt):
        yield {
            "channel": m.channel,
            "external_id": m.external_id,
            "author": m.author,
            "author_id": m.identity.handle if m.identity else None,
            "author_name": m.author_name,
            "text": m.text,
            "subject": m.subject,
            "public": m.public,
            "created_at": m.created_at.isoformat(),
            "case_id": m.case_id,
            "customer_id": m.customer_id,
            "score": m.score,
            "reasons": m.reasons,
            "customer_value": m.customer.value,
        }


def export_mentions(engine: Engine, out: TextIO) -> int:
    count = 0
    with make_sessionmaker(engine)() as session:
        for row in export_rows(session):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    out.flush()
    return count


class ImportLineError(ValueError):
    pass


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise ImportLineError("created_at is missing")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportLineError(f"created_at {value!r} is not ISO 8601") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _identity_of(obj: dict[str, Any]) -> tuple[Channel, str]:
    """The line's channel and the author's handle as identities store it."""
    channel = CHANNEL_ALIASES.get(str(obj.get("channel", "")).lower())
    if channel is None:
        raise ImportLineError(f"unknown channel {obj.get('channel')!r}")
    author = obj.get("author_id") or obj.get("author")
    if not isinstance(author, str) or not author:
        raise ImportLineError("author is missing")
    return channel, author.lower() if channel == Channel.EMAIL else author


@dataclass(frozen=True)
class ValueLine:
    """A customer value to set once the identity's mentions are stored."""

    kind: str
    handle: str
    value: float
    where: str  # "line 7", for the quarantine reason
    raw: bytes


def value_from_line(obj: dict[str, Any], raw: bytes, where: str) -> ValueLine | None:
    """The line's ``customer_value``, if it has one (ImportLineError when it is no number)."""
    if "customer_value" not in obj:
        return None
    value = obj["customer_value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImportLineError(f"customer_value {value!r} is not a number")
    try:
        checked = check_value(float(value) if abs(value) < 1e300 else math.inf)
    except CustomerError as exc:
        raise ImportLineError(f"customer_value {value!r}: {exc}") from None
    channel, handle = _identity_of(obj)
    return ValueLine(CHANNEL_IDENTITY[channel].value, handle, checked, where, raw)


def mention_from_export(obj: dict[str, Any], raw: bytes) -> MentionIn:
    channel, handle = _identity_of(obj)
    external_id, text = obj.get("external_id"), obj.get("text")
    if not isinstance(external_id, str | int) or str(external_id) == "":
        raise ImportLineError("external_id is missing")
    if not isinstance(text, str):
        raise ImportLineError("text is missing")
    kind = CHANNEL_IDENTITY[channel]
    username = obj.get("author") if isinstance(obj.get("author"), str) else None
    return MentionIn(
        channel=channel,
        external_id=str(external_id),
        author=Author(
            kind=kind,
            handle=handle,
            username=username,
            name=obj.get("author_name") if isinstance(obj.get("author_name"), str) else None,
        ),
        text=text,
        created_at=_parse_time(obj.get("created_at")),
        raw=raw,
        public=bool(obj.get("public", channel == Channel.X)),
        subject=obj.get("subject") if isinstance(obj.get("subject"), str) else None,
    )


@dataclass
class ImportSummary:
    lines: int = 0
    new: int = 0
    duplicates: int = 0
    values: int = 0  # customer values set
    bad: list[Quarantined] = field(default_factory=list)


Item = tuple[list[MentionIn], list[Quarantined], list[ValueLine]]


def _line_item(obj: dict[str, Any], raw: bytes, lineno: int, source: str) -> Item:
    """One export line: a mention (maybe with its customer's value), or a value alone."""
    try:
        value = value_from_line(obj, raw, f"line {lineno}")
        values = [value] if value is not None else []
        if value is not None and "text" not in obj:
            return [], [], values
        return [mention_from_export(obj, raw)], [], values
    except ImportLineError as exc:
        return [], [Quarantined(source, f"line {lineno}: {exc}", raw)], []


def apply_values(session: Session, values: list[ValueLine], *, source: str) -> list[Quarantined]:
    """Set each value on the customer owning its identity; the refused ones, quarantined."""
    refused = []
    for v in values:
        customer_id = session.scalar(
            select(Identity.customer_id).where(Identity.kind == v.kind, Identity.handle == v.handle)
        )
        reason = f"no customer has the {v.kind} identity {v.handle!r} (import their mentions)"
        try:
            if customer_id is None:
                raise CustomerError(reason)
            set_value(session, session.get_one(Customer, customer_id), value=v.value)
        except CustomerError as exc:
            refused.append(Quarantined(source, f"{v.where}: customer_value: {exc}", v.raw))
    return refused


def _items(path: Path, source: str) -> Iterator[Item]:
    """Yield (mentions, bad items, values) per input line; X API pages expand to many
    mentions."""
    from monitor.sources.twitter import mentions_from_page

    with path.open("rb") as fh:
        for lineno, raw_line in enumerate(fh, 1):
            raw = raw_line.strip()
            if not raw:
                continue
            try:
                obj = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield [], [Quarantined(source, f"line {lineno}: not JSON: {exc}", raw)], []
                continue
            if isinstance(obj, dict) and ("data" in obj or "meta" in obj) and "text" not in obj:
                mentions, bad = mentions_from_page(raw, source=source)
                yield mentions, bad, []
                continue
            if not isinstance(obj, dict):
                yield [], [Quarantined(source, f"line {lineno}: not a JSON object", raw)], []
                continue
            yield _line_item(obj, raw, lineno, source)


def import_mentions(
    engine: Engine,
    path: Path,
    *,
    scorer: Scorer,
    options: IngestOptions,
    progress: bool = True,
) -> ImportSummary:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    source = f"import:{path.name}"
    sessions = make_sessionmaker(engine)
    summary = ImportSummary()
    pending: list[MentionIn] = []
    values: list[ValueLine] = []
    bar = tqdm(
        total=path.stat().st_size,
        unit="B",
        unit_scale=True,
        file=sys.stderr,
        disable=not progress,
        desc="import",
    )

    def flush() -> None:
        with collector_paused(), sessions.begin() as s:
            stored = store_or_quarantine(
                s, pending, source=source, now=utcnow(), scorer=scorer, options=options
            )
            refused = apply_values(s, values, source=source)
        summary.new += stored.new
        summary.duplicates += stored.duplicates
        summary.values += len(values) - len(refused)
        summary.bad.extend(stored.rejected)
        summary.bad.extend(refused)
        pending.clear()
        values.clear()

    with bar, WalCheckpointer(engine):  # SQLite: checkpoints beside, not inside, commits
        for mentions, bad, more_values in _items(path, source):
            summary.lines += 1
            summary.bad.extend(bad)
            pending.extend(mentions)
            values.extend(more_values)
            size = sum(len(m.raw) for m in mentions) + sum(len(q.raw) for q in bad)
            bar.update(size + sum(len(v.raw) for v in more_values if not mentions) + 1)
            if len(pending) + len(values) >= CHUNK:
                flush()
        if pending or values:
            flush()
    if summary.bad:
        with sessions.begin() as s:
            add_quarantined(s, summary.bad, source=source, now=utcnow())
    return summary
