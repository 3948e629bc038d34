"""The template-likeness guard: does this reply read like a form letter?

``check_personal`` scores a draft 0-100 for template-likeness (higher = worse; the
reply's *personal* score is 100 minus it) from three kinds of evidence, each listed in
``reasons`` with its points and, where it has a place in the text, a highlight:

1. similarity to the organisation's previous replies (:mod:`monitor.replies.index`):
   the whole reply, and each sentence, as near-duplicates;
2. configured boilerplate phrases ("we apologise for any inconvenience", ...);
3. missing specifics: nothing the customer said (their words, order number, product,
   the promise made to them), no name or handle, no concrete next step.

Allowed shared text (``CaseContext.shared``: the paragraph of an incident the case is
attached to, meant for everyone affected) is blanked out first: every rule judges only
what the reply adds to it, and that must still be about this customer.

Each kind of evidence is one small rule in :data:`RULES` (a function over the
:class:`Draft` adding to a :class:`Tally`); a new rule is one more function there.
At or above ``replies.block_threshold`` the reply is blocked (a lead may override with a
written reason). On X the text is also counted the way X counts it
(:mod:`monitor.replies.x_count`) and a reply over the limit cannot be sent at all; long
or private matters are offered a move to DM; a link is flagged because X bills a post
containing a URL at a much higher price. Pure: no database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from monitor.config import ReplySettings
from monitor.replies.index import ReplyIndex, blank_shared, sentences, words
from monitor.replies.x_count import X_URL, x_length, x_overflow_at

Highlight = tuple[int, int, str, str]  # start, end, kind, message
ONLY_SHARED_MIN_WORDS = 6  # fewer words of its own than this: the reply is the paragraph
URL_COST_NOTE = (
    "a link makes this post cost more: X bills a post with a URL at its higher price "
    "(sources.twitter.costs.prices.post_create_url)"
)


@dataclass(frozen=True)
class CaseContext:
    """What the reply should show it heard (see ``replies.case_context``)."""

    channel: str
    names: tuple[str, ...] = ()  # display names, first names, @usernames
    customer_texts: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()  # order numbers, products, dates the customer gave
    promises: tuple[str, ...] = ()  # wording of promises made to them and not kept
    shared: tuple[str, ...] = ()  # allowed shared text (an incident's paragraph)


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
    has_url: bool = False  # on X: a post with a link is billed at the higher price

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


@dataclass(frozen=True)
class Draft:
    """What every rule reads: the text, what it should show it heard, and the limits."""

    text: str
    context: CaseContext | None
    index: ReplyIndex | None
    settings: ReplySettings
    judged: str  # ``text`` with the allowed shared text blanked out (same offsets)

    @property
    def body(self) -> str:
        return self.judged.strip()

    @property
    def uses_shared(self) -> bool:
        return self.judged != self.text


@dataclass
class Tally:
    """What the rules found: points with their reasons, and where in the text."""

    points: int = 0
    reasons: list[str] = field(default_factory=list)
    highlights: list[Highlight] = field(default_factory=list)

    def add(self, points: int, reason: str) -> None:
        self.points += points
        self.reasons.append(f"{reason} (+{points})")


def near_copy_of_a_reply(d: Draft, t: Tally) -> None:
    whole = d.index.nearest_reply(d.judged) if d.index is not None and d.body else None
    if whole and whole.similarity >= d.settings.duplicate_reply_similarity:
        t.add(
            d.settings.duplicate_reply_points,
            f"near-copy of a previous reply ({whole.similarity:.0%})",
        )
        t.highlights.append(
            (0, len(d.text), "duplicate_reply", f"{whole.similarity:.0%} like a previous reply")
        )


def reused_sentences(d: Draft, t: Tally) -> None:
    if d.index is None or not d.body:
        return
    reused = 0
    for start, end, sentence in sentences(d.judged):
        match = d.index.nearest_sentence(sentence)
        if match and match.similarity >= d.settings.duplicate_sentence_similarity:
            reused += 1
            times = "once" if match.uses == 1 else f"{match.uses}+ times"
            t.highlights.append((start, end, "reused", f"sent before ({times})"))
    if reused:
        s = d.settings
        points = min(s.duplicate_sentence_max, reused * s.duplicate_sentence_points)
        t.add(points, f"{reused} sentence(s) reused from previous replies")


def boilerplate(d: Draft, t: Tally) -> None:
    found = 0
    for phrase, pattern in _phrase_patterns(d.settings.boilerplate_phrases):
        for m in pattern.finditer(d.judged):
            found += 1
            t.highlights.append((m.start(), m.end(), "boilerplate", f"boilerplate: “{phrase}”"))
    if found:
        t.add(min(d.settings.boilerplate_max, found * d.settings.boilerplate_points),
              f"{found} boilerplate phrase(s)")  # fmt: skip


def nothing_they_said(d: Draft, t: Tally) -> None:
    ctx = d.context
    if ctx is None or not d.body or not (ctx.customer_texts or ctx.facts):
        return
    if not _references(d.judged, ctx):
        t.add(
            d.settings.no_reference_points,
            "nothing the customer said is mentioned (their issue, order, product, the promise)",
        )


def no_name(d: Draft, t: Tally) -> None:
    ctx = d.context
    if ctx is not None and d.body and ctx.names and not _mentions_name(d.judged, ctx.names):
        t.add(d.settings.no_name_points, "does not address the customer by name")


def no_next_step(d: Draft, t: Tally) -> None:
    if d.context is not None and d.body and not _NEXT_STEP.search(d.judged):
        t.add(d.settings.no_next_step_points, "no concrete next step (what will be done, by when)")


def only_shared_text(d: Draft, t: Tally) -> None:
    if d.uses_shared and len(words(d.judged)) < ONLY_SHARED_MIN_WORDS:
        t.add(
            d.settings.block_threshold,
            "only the incident's shared paragraph: add something for this customer "
            "(their words, their details, their name, what happens next for them)",
        )


Rule = Callable[[Draft, Tally], None]
RULES: tuple[Rule, ...] = (
    only_shared_text,
    near_copy_of_a_reply,
    reused_sentences,
    boilerplate,
    nothing_they_said,
    no_name,
    no_next_step,
)


@dataclass(frozen=True)
class XFit:
    """How a draft fits X: its counted length, and whether to move it to a DM."""

    length: int
    too_long: bool
    suggest_dm: bool
    highlights: list[Highlight]
    notes: list[str]
    has_url: bool = False


def fit_on_x(text: str, x_limit: int) -> XFit:
    highlights: list[Highlight] = []
    notes: list[str] = []
    length, too_long = x_length(text), False
    over = x_overflow_at(text, x_limit)
    if over is not None:
        too_long = True
        highlights.append((over, len(text), "too_long", f"past X's {x_limit} characters"))
        notes.append(f"{length}/{x_limit} characters on X: shorten it or move to a DM")
    private = bool(_PRIVATE.search(text))
    if private:
        notes.append("private details (address, phone, account) belong in a DM")
    links = list(X_URL.finditer(text))
    for link in links:
        highlights.append((link.start(), link.end(), "costly_url", URL_COST_NOTE))
    if links:
        notes.append(URL_COST_NOTE + ": leave the link out unless the customer needs it")
    return XFit(length, too_long, too_long or private, highlights, notes, bool(links))


def check_personal(
    text: str,
    *,
    case_context: CaseContext | None,
    previous_replies_index: ReplyIndex | None,
    settings: ReplySettings,
    x_limit: int = 280,
) -> PersonalCheck:
    """Score a draft; see the module docstring. ``case_context`` None skips specifics."""
    shared = case_context.shared if case_context else ()
    judged = blank_shared(text, shared) if shared else text
    draft = Draft(text, case_context, previous_replies_index, settings, judged)
    tally = Tally()
    for rule in RULES:
        rule(draft, tally)
    if not draft.text.strip():
        tally.reasons.append("the reply is empty")
    on_x = fit_on_x(text, x_limit) if case_context and case_context.channel == "x" else None
    highlights = tally.highlights + (on_x.highlights if on_x else [])
    highlights.sort(key=lambda h: (h[0], h[1]))
    score = min(100, tally.points)
    return PersonalCheck(
        score=score,
        blocked=score >= settings.block_threshold,
        reasons=tally.reasons,
        highlights=highlights,
        x_length=on_x.length if on_x else None,
        x_limit=x_limit if on_x else None,
        too_long=on_x.too_long if on_x else False,
        suggest_dm=on_x.suggest_dm if on_x else False,
        notes=on_x.notes if on_x else [],
        has_url=on_x.has_url if on_x else False,
    )
