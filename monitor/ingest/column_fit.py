"""What a vendor's message must satisfy before it is stored (split from monitor.ingest.service).

- Identifiers (the message's external id, the author's handle) that do not fit their
  column are quarantined: cutting them would merge distinct messages or people.
- So are identifiers holding a character no column can store: NUL, or a lone surrogate
  (``"\ud800"`` is valid JSON, so X can send one, but it is not Unicode text and
  neither driver can encode it). PostgreSQL text cannot store a NUL at all (the whole
  batch would fail, and its source would stay stuck on it), and SQLite's ``json_each``,
  which batch lookups use (:mod:`monitor.storage.sql_lists`), cuts a string at it, so a
  stored copy would never be found again.
- Display text (subject, names, the text itself, extra fields) is shortened to its
  column, and such a character in it becomes U+FFFD. ``raw`` keeps the original bytes
  either way.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from monitor.mentions import Attachment, MentionIn
from monitor.sources.base import Quarantined

ID_LIMITS = {"external_id": 512, "handle": 320}
TEXT_LIMITS = {"subject": 1000, "in_reply_to": 512}
AUTHOR_LIMITS = {"username": 320, "name": 200}
NUL = "\x00"
REPLACEMENT = "\ufffd"
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, or half of a surrogate pair


def _fits(m: MentionIn) -> bool:
    a = m.author
    return (
        0 < len(m.external_id) <= ID_LIMITS["external_id"]
        and 0 < len(a.handle) <= ID_LIMITS["handle"]
        and len(a.username or "") <= AUTHOR_LIMITS["username"]
        and len(a.name or "") <= AUTHOR_LIMITS["name"]
        and len(m.subject or "") <= TEXT_LIMITS["subject"]
        and len(m.in_reply_to or "") <= TEXT_LIMITS["in_reply_to"]
        and not _has_unstorable(m)
    )


def _has_unstorable(m: MentionIn) -> bool:
    # This runs for every message ingested: one string, NUL found by ``in`` and a lone
    # surrogate by UTF-8 encoding it (both in C), is twice as fast as a regex per field.
    a = m.author
    joined = "".join(
        (m.external_id, m.text, m.text_for_scoring, a.handle, a.username or "", a.name or "",
         m.subject or "", m.in_reply_to or "", *m.thread_refs, *m.extra, *m.extra.values())
    )  # fmt: skip
    return NUL in joined or not (joined.isascii() or _encodes(joined))


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _clean(value: str | None, limit: int | None = None) -> str | None:
    if value is None:
        return None
    value = UNSTORABLE.sub(REPLACEMENT, value)
    return value[:limit] if limit is not None else value


def _unstorable(value: str) -> str | None:
    """What makes an identifier unstorable, if anything does."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    return "a NUL character" if found.group() == NUL else "a lone surrogate (not valid Unicode)"


def _refused(m: MentionIn, source: str) -> Quarantined | None:
    eid, handle = m.external_id, m.author.handle
    if not eid or len(eid) > ID_LIMITS["external_id"]:
        return Quarantined(source, "external id is empty or longer than 512", m.raw)
    if what := _unstorable(eid):
        return Quarantined(source, f"external id contains {what}", m.raw)
    if not handle or len(handle) > ID_LIMITS["handle"]:
        return Quarantined(source, "author is empty or longer than 320", m.raw, eid)
    if what := _unstorable(handle):
        return Quarantined(source, f"author contains {what}", m.raw, eid)
    return None


def _fitted(m: MentionIn) -> MentionIn:
    a = m.author
    author = replace(
        a,
        username=_clean(a.username, AUTHOR_LIMITS["username"]),
        name=_clean(a.name, AUTHOR_LIMITS["name"]),
    )
    changes: dict[str, Any] = {
        "author": author,
        "text": _clean(m.text),
        "text_for_scoring": _clean(m.text_for_scoring),
        "subject": _clean(m.subject, TEXT_LIMITS["subject"]),
        "thread_refs": tuple(r for r in m.thread_refs if not UNSTORABLE.search(r)),
        "attachments": tuple(
            Attachment(_clean(x.filename) or "", UNSTORABLE.sub("", x.content_type), x.size)
            for x in m.attachments
        ),
        "extra": {_clean(k) or "": _clean(v) or "" for k, v in m.extra.items()},
    }
    reply = m.in_reply_to
    if reply is not None and (len(reply) > TEXT_LIMITS["in_reply_to"] or UNSTORABLE.search(reply)):
        changes["in_reply_to"] = None  # a cut reference would thread to nothing
    return replace(m, **changes)


def fit_to_columns(
    mentions: list[MentionIn], *, source: str
) -> tuple[list[MentionIn], list[Quarantined]]:
    """Mentions made to fit their columns, and those that cannot be stored safely."""
    fitted: list[MentionIn] = []
    rejected: list[Quarantined] = []
    for m in mentions:
        if _fits(m):  # nearly always: nothing to cut, nothing to copy
            fitted.append(m)
        elif (refused := _refused(m, source)) is not None:
            rejected.append(refused)
        else:
            fitted.append(_fitted(m))
    return fitted, rejected
