"""Export mentions as JSON Lines, and backfill them from an export or an X API v2 dump.

Import is idempotent: it goes through the same ingest path as polling (dedupe by
channel + external id), one transaction per chunk, so an interrupted import can simply
be run again.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.service import IngestOptions, add_quarantined, store_or_quarantine
from monitor.mentions import CHANNEL_IDENTITY, Author, Channel, MentionIn
from monitor.models import Mention
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


def mention_from_export(obj: dict[str, Any], raw: bytes) -> MentionIn:
    channel = CHANNEL_ALIASES.get(str(obj.get("channel", "")).lower())
    if channel is None:
        raise ImportLineError(f"unknown channel {obj.get('channel')!r}")
    external_id, text = obj.get("external_id"), obj.get("text")
    if not isinstance(external_id, str | int) or str(external_id) == "":
        raise ImportLineError("external_id is missing")
    if not isinstance(text, str):
        raise ImportLineError("text is missing")
    author = obj.get("author_id") or obj.get("author")
    if not isinstance(author, str) or not author:
        raise ImportLineError("author is missing")
    kind = CHANNEL_IDENTITY[channel]
    handle = author.lower() if channel == Channel.EMAIL else author
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
    bad: list[Quarantined] = field(default_factory=list)


def _items(path: Path, source: str) -> Iterator[tuple[list[MentionIn], list[Quarantined]]]:
    """Yield (mentions, bad items) per input line; X API pages expand to many mentions."""
    from monitor.sources.twitter import mentions_from_page

    with path.open("rb") as fh:
        for lineno, raw_line in enumerate(fh, 1):
            raw = raw_line.strip()
            if not raw:
                continue
            try:
                obj = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                yield [], [Quarantined(source, f"line {lineno}: not JSON: {exc}", raw)]
                continue
            if isinstance(obj, dict) and ("data" in obj or "meta" in obj) and "text" not in obj:
                mentions, bad = mentions_from_page(raw, source=source)
                yield mentions, bad
                continue
            if not isinstance(obj, dict):
                yield [], [Quarantined(source, f"line {lineno}: not a JSON object", raw)]
                continue
            try:
                yield [mention_from_export(obj, raw)], []
            except ImportLineError as exc:
                yield [], [Quarantined(source, f"line {lineno}: {exc}", raw)]


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
        summary.new += stored.new
        summary.duplicates += stored.duplicates
        summary.bad.extend(stored.rejected)
        pending.clear()

    with bar, WalCheckpointer(engine):  # SQLite: checkpoints beside, not inside, commits
        for mentions, bad in _items(path, source):
            summary.lines += 1
            summary.bad.extend(bad)
            pending.extend(mentions)
            bar.update(sum(len(m.raw) for m in mentions) + sum(len(q.raw) for q in bad) + 1)
            if len(pending) >= CHUNK:
                flush()
        if pending:
            flush()
    if summary.bad:
        with sessions.begin() as s:
            add_quarantined(s, summary.bad, source=source, now=utcnow())
    return summary
