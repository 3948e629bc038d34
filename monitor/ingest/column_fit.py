"""What a vendor's message must satisfy before it is stored (split from monitor.ingest.service).

- Identifiers (the message's external id, the author's handle) that do not fit their
  column are quarantined: cutting them would merge distinct messages or people.
- So are identifiers holding a NUL character. PostgreSQL text cannot store one at all
  (the whole batch would fail, and its source would stay stuck on it), and SQLite's
  ``json_each``, which batch lookups use (:mod:`monitor.storage.sql_lists`), cuts a string at
  it, so a stored copy would never be found again.
- Display text (subject, names, the text itself) is shortened to its column, and a
  NUL in it becomes U+FFFD. ``raw`` keeps the original bytes either way.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from monitor.mentions import Attachment, MentionIn
from monitor.sources.base import Quarantined

ID_LIMITS = {"external_id": 512, "handle": 320}
TEXT_LIMITS = {"subject": 1000, "in_reply_to": 512}
AUTHOR_LIMITS = {"username": 320, "name": 200}
NUL = "\x00"
REPLACEMENT = "\ufffd"


def _fits(m: MentionIn) -> bool:
    a = m.author
    return (
        0 < len(m.external_id) <= ID_LIMITS["external_id"]
        and 0 < len(a.handle) <= ID_LIMITS["handle"]
        and len(a.username or "") <= AUTHOR_LIMITS["username"]
        and len(a.name or "") <= AUTHOR_LIMITS["name"]
        and len(m.subject or "") <= TEXT_LIMITS["subject"]
        and len(m.in_reply_to or "") <= TEXT_LIMITS["in_reply_to"]
        and not _has_nul(m)
    )


def _has_nul(m: MentionIn) -> bool:
    # Spelled out, not a generator over a tuple: this runs for every message ingested.
    a = m.author
    if (
        NUL in m.external_id
        or NUL in m.text
        or NUL in m.text_for_scoring
        or NUL in a.handle
        or (a.username is not None and NUL in a.username)
        or (a.name is not None and NUL in a.name)
        or (m.subject is not None and NUL in m.subject)
        or (m.in_reply_to is not None and NUL in m.in_reply_to)
    ):
        return True
    return NUL in "".join(m.thread_refs)


def _clean(value: str | None, limit: int | None = None) -> str | None:
    if value is None:
        return None
    value = value.replace(NUL, REPLACEMENT)
    return value[:limit] if limit is not None else value


def _refused(m: MentionIn, source: str) -> Quarantined | None:
    eid, handle = m.external_id, m.author.handle
    if not eid or len(eid) > ID_LIMITS["external_id"]:
        return Quarantined(source, "external id is empty or longer than 512", m.raw)
    if NUL in eid:
        return Quarantined(source, "external id contains a NUL character", m.raw)
    if not handle or len(handle) > ID_LIMITS["handle"]:
        return Quarantined(source, "author is empty or longer than 320", m.raw, eid)
    if NUL in handle:
        return Quarantined(source, "author contains a NUL character", m.raw, eid)
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
        "thread_refs": tuple(r for r in m.thread_refs if NUL not in r),
        "attachments": tuple(
            Attachment(_clean(x.filename) or "", x.content_type.replace(NUL, ""), x.size)
            for x in m.attachments
        ),
    }
    reply = m.in_reply_to
    if reply is not None and (len(reply) > TEXT_LIMITS["in_reply_to"] or NUL in reply):
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
