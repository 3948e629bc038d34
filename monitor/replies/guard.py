"""The template-likeness guard: does this reply read like a form letter?

``check_personal`` scores a draft 0-100 for template-likeness (higher = worse; the
reply's *personal* score is 100 minus it) from three kinds of evidence, each listed in
``reasons`` with its points and, where it has a place in the text, a highlight:

1. similarity to the organisation's previous replies (:mod:`monitor.replies.index`):
   the whole reply, and each sentence, as near-duplicates;
2. configured boilerplate phrases ("we apologise for any inconvenience", ...);
3. missing specifics: nothing the customer said (their words, order number, product,
   the promise made to them), no name or handle, no concrete next step.

At or above ``replies.block_threshold`` the reply is blocked (a lead may override with a
written reason). On X the text is also counted the way X counts it (twitter-text
weighting: a URL is 23, wide characters and emoji 2) and a reply over the limit cannot be
sent at all; long or private matters are offered a move to DM. Pure: no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.config import ReplySettings
from monitor.replies.index import ReplyIndex, sentences, words

Highlight = tuple[int, int, str, str]  # start, end, kind, message

# twitter-text v3: code points in these ranges weigh 100, everything else 200 (scale 100).
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
URL_LENGTH = 23
_TLDS = "com|net|org|io|co|uk|de|fr|es|it|nl|eu|us|ca|au|app|dev|info|biz|me|ly|gl|tv"
X_URL = re.compile(
    rf"(?:https?://[^\s<>\"]+|(?<![@\w.])(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:{_TLDS})"
    r"(?::\d+)?(?:/[^\s<>\"]*)?)(?<![.,;:!?)\]'\"])",
    re.IGNORECASE,
)
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2B00, 0x2BFF),
    (0x2300, 0x23FF),
    (0x1F1E6, 0x1F1FF),
)
_JOINERS = {0x200D, 0xFE0F, 0x20E3} | set(range(0x1F3FB, 0x1F400)) | set(range(0xE0020, 0xE0080))


def _emoji(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES)


def _weight(cp: int) -> int:
    return 100 if any(lo <= cp <= hi for lo, hi in _LIGHT) else 200


def x_length(text: str) -> int:
    """The length X counts for ``text`` (the limit applies to this number)."""
    text = unicodedata.normalize("NFC", text)
    total, pos = 0, 0
    for m in X_URL.finditer(text):
        total += _plain_weight(text[pos : m.start()]) + URL_LENGTH * 100
        pos = m.end()
    total += _plain_weight(text[pos:])
    return total // 100


def _plain_weight(text: str) -> int:
    total, i, cps = 0, 0, [ord(c) for c in text]
    while i < len(cps):
        cp = cps[i]
        if _emoji(cp):  # one emoji sequence (ZWJ, skin tone, flag pair, keycap) weighs 200
            i += 1
            if 0x1F1E6 <= cp <= 0x1F1FF and i < len(cps) and 0x1F1E6 <= cps[i] <= 0x1F1FF:
                i += 1
            while i < len(cps) and cps[i] in _JOINERS:
                i += 2 if cps[i] == 0x200D else 1
            total += 200
            continue
        if (i + 1 < len(cps) and cps[i + 1] == 0x20E3) or (
            i + 2 < len(cps) and cps[i + 1] == 0xFE0F and cps[i + 2] == 0x20E3
        ):  # keycap: digit, optional VS16, U+20E3
            i += 3 if cps[i + 1] == 0xFE0F else 2
            total += 200
            continue
        total += _weight(cp)
        i += 1
    return total


def x_overflow_at(text: str, limit: int) -> int | None:
    """The offset where ``text`` goes past ``limit`` X characters (None when it fits)."""
    if x_length(text) <= limit:
        return None
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if x_length(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class CaseContext:
    """What the reply should show it heard (see ``replies.case_context``)."""

    channel: str
    names: tuple[str, ...] = ()  # display names, first names, @usernames
    customer_texts: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()  # order numbers, products, dates the customer gave
    promises: tuple[str, ...] = ()  # wording of promises made to them and not kept


@dataclass(frozen=True)
class PersonalCheck:
    score: int  # template-likeness 0-100 (higher = more like a form letter)
    blocked: bool  # at or above the threshold: a lead may override with a reason
    reasons: list[str]
    highlights: list[Highlight]
    x_length: int | None = None
    x_limit: int | None = None
    too_long: bool = False  # over X's limit: cannot be sent on X (never overridable)
    suggest_dm: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def personal(self) -> int:
        return 100 - self.score


_STOP_WORDS = """a about above after again all also am an and any are as at be been before being but
    by can could did do does doing done for from get got had has have having he her here
    him his how i if im in into is it its just me more most my no not now of off on once
    only or our out over own same she should so some such than that the their them then
    there these they this those through to too under until up very was we were what when
    where which while who why will with would you your yours ive youre dont cant wont still
    please thanks thank hello dear really never ever again already even every time times
    today yesterday day days week weeks month hours hour since ago going want need know
    tell told said say asking asked help support customer service team anyone someone
    terrible awful worst bad good great sorry apologise apologize issue problem"""
_STOP = frozenset(_STOP_WORDS.split())
_NEXT_STEP = re.compile(
    r"\b(?:i|we)\s*(?:'ll|’ll| will| am going to|'m going to| are going to|'re going to|"
    r"'ve| have| just| already)\s+\w+"
    r"|\byou(?:'ll|’ll| will) (?:get|receive|see|hear|have|find)\b"
    r"|\b(?:today|tomorrow|tonight|this (?:morning|afternoon|evening|week)|next (?:week|"
    r"monday|tuesday|wednesday|thursday|friday)|by (?:monday|tuesday|wednesday|thursday|"
    r"friday|the end of|end of|\d)|within \d+|in the next \d+)\b"
    r"|\b(?:here(?:'s| is) (?:the|your)|i(?:'ve| have) (?:sent|refunded|credited|added|"
    r"invited|fixed|escalated|booked|reset))\b",
    re.IGNORECASE,
)
_PRIVATE = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d ()-]{7,}\d|\b(?:address|password|account number|"
    r"card|iban|date of birth)\b",
    re.IGNORECASE,
)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    return {
        _stem(w) for w in words(text) if len(w) >= 4 and w not in _STOP and not w.startswith("<")
    }


def _phrase_patterns(phrases: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    """One pattern per phrase: any spacing/punctuation between words, -ise/-ize, ’."""

    def word(w: str) -> str:
        w = re.escape(w).replace("ise", "i[sz]e").replace("isi", "i[sz]i")
        return w.replace("'", "['’]")

    built = []
    for phrase in phrases:
        parts = [word(w) for w in phrase.lower().split()]
        if parts:
            built.append((phrase, re.compile(r"\b" + r"\W+".join(parts) + r"\b", re.IGNORECASE)))
    return built


def _mentions_name(text: str, names: Sequence[str]) -> bool:
    lowered = text.lower()
    for name in names:
        n = name.strip().lstrip("@").lower()
        if len(n) >= 2 and re.search(rf"(?<![\w@]){re.escape(n)}(?!\w)|@{re.escape(n)}\b", lowered):
            return True
    return False


def _references(text: str, ctx: CaseContext) -> bool:
    lowered = text.lower()
    if any(f and f.lower().lstrip("#") in lowered for f in ctx.facts):
        return True
    theirs = set().union(*(content_stems(t) for t in (*ctx.customer_texts, *ctx.promises)))
    return len(content_stems(text) & theirs) >= 2


def check_personal(
    text: str,
    *,
    case_context: CaseContext | None,
    previous_replies_index: ReplyIndex | None,
    settings: ReplySettings,
    x_limit: int = 280,
) -> PersonalCheck:
    """Score a draft; see the module docstring. ``case_context`` None skips specifics."""
    points = 0
    reasons: list[str] = []
    highlights: list[Highlight] = []
    notes: list[str] = []
    body = text.strip()

    if previous_replies_index is not None and body:
        whole = previous_replies_index.nearest_reply(text)
        if whole and whole.similarity >= settings.duplicate_reply_similarity:
            points += settings.duplicate_reply_points
            msg = f"{whole.similarity:.0%} like a previous reply"
            gained = settings.duplicate_reply_points
            reasons.append(f"near-copy of a previous reply ({whole.similarity:.0%}) (+{gained})")
            highlights.append((0, len(text), "duplicate_reply", msg))
        reused = 0
        for start, end, sentence in sentences(text):
            match = previous_replies_index.nearest_sentence(sentence)
            if match and match.similarity >= settings.duplicate_sentence_similarity:
                reused += 1
                times = "once" if match.uses == 1 else f"{match.uses}+ times"
                highlights.append((start, end, "reused", f"sent before ({times})"))
        if reused:
            gained = min(
                settings.duplicate_sentence_max, reused * settings.duplicate_sentence_points
            )
            points += gained
            reasons.append(f"{reused} sentence(s) reused from previous replies (+{gained})")

    found = 0
    for phrase, pattern in _phrase_patterns(settings.boilerplate_phrases):
        for m in pattern.finditer(text):
            found += 1
            highlights.append((m.start(), m.end(), "boilerplate", f"boilerplate: “{phrase}”"))
    if found:
        gained = min(settings.boilerplate_max, found * settings.boilerplate_points)
        points += gained
        reasons.append(f"{found} boilerplate phrase(s) (+{gained})")

    if case_context is not None and body:
        if (case_context.customer_texts or case_context.facts) and not _references(
            text, case_context
        ):
            points += settings.no_reference_points
            reasons.append(
                "nothing the customer said is mentioned (their issue, order, product, "
                f"the promise) (+{settings.no_reference_points})"
            )
        if case_context.names and not _mentions_name(text, case_context.names):
            points += settings.no_name_points
            reasons.append(f"does not address the customer by name (+{settings.no_name_points})")
        if not _NEXT_STEP.search(text):
            points += settings.no_next_step_points
            reasons.append(
                "no concrete next step (what will be done, by when) "
                f"(+{settings.no_next_step_points})"
            )

    score = min(100, points)
    length: int | None = None
    too_long = suggest_dm = False
    channel = case_context.channel if case_context else None
    if channel == "x":
        length = x_length(text)
        over = x_overflow_at(text, x_limit)
        if over is not None:
            too_long = suggest_dm = True
            highlights.append((over, len(text), "too_long", f"past X's {x_limit} characters"))
            notes.append(f"{length}/{x_limit} characters on X: shorten it or move to a DM")
        if _PRIVATE.search(text):
            suggest_dm = True
            notes.append("private details (address, phone, account) belong in a DM")
    if not body:
        reasons.append("the reply is empty")
    highlights.sort(key=lambda h: (h[0], h[1]))
    return PersonalCheck(
        score=score,
        blocked=score >= settings.block_threshold,
        reasons=reasons,
        highlights=highlights,
        x_length=length,
        x_limit=x_limit if channel == "x" else None,
        too_long=too_long,
        suggest_dm=suggest_dm,
        notes=notes,
    )
