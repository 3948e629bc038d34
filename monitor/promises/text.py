"""Find the promises in a reply before it is sent (pure: no database, no clock).

``suggest(text, now=..., timezone=...)`` returns one :class:`Suggestion` per sentence
that commits us to something ("we'll add you to our Slack channel today"), with its
kind and a due time parsed relative to ``now`` in the owner's time zone. Staff confirm
or edit each suggestion; nothing here is authoritative.

Time phrases understood (owner's local time; the result is aware UTC):
"today" / "by end of day" / "this afternoon" (end of the working day), "tonight",
"this morning", "tomorrow" (+ "morning" 10:00, "afternoon" 15:00, "evening" 19:00),
weekdays ("by Friday", "on Monday", "next Tuesday"), "this week" / "end of the week",
"next week", "within 24 hours", "in 2 days", "within the hour", "in a few days",
"right away" / "asap" / "shortly", calendar dates ("by 3 December", "on Dec 3rd"), and
clock times ("at 3pm", "by 16:30", "at noon"), alone or before or after a day. Without a
time phrase the kind's usual delay applies and ``due_guessed`` is set.

A sentence holding two commitments joined by ";", "," or "and" ("I'll refund you today;
I'll email the confirmation by 5pm tomorrow") gives two suggestions, each with its own
deadline. Passive wording ("Refund will be processed by 3 December") commits too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from monitor.zones import zone_or_utc


class PromiseKind(StrEnum):
    SLACK_INVITE = "slack_invite"
    CALLBACK = "callback"
    REFUND = "refund"
    REBATE = "rebate"
    CREDIT = "credit"
    FIX = "fix"
    INVESTIGATE = "investigate"
    CUSTOM = "custom"
    # Tasks the desk sets itself during an incident (monitor.incidents), never found in text:
    INCIDENT_UPDATE = "incident_update"  # tell this customer the incident's new status
    CHECK_IN = "check_in"  # after resolution: check personally that it works for them


# When the reply names no time: how long such a promise usually gets.
DEFAULT_DELAY = {
    PromiseKind.SLACK_INVITE: timedelta(hours=24),
    PromiseKind.CALLBACK: timedelta(hours=24),
    PromiseKind.REFUND: timedelta(days=7),
    PromiseKind.REBATE: timedelta(days=30),
    PromiseKind.CREDIT: timedelta(days=7),
    PromiseKind.FIX: timedelta(days=3),
    PromiseKind.INVESTIGATE: timedelta(days=2),
    PromiseKind.CUSTOM: timedelta(days=2),
    PromiseKind.INCIDENT_UPDATE: timedelta(hours=4),
    PromiseKind.CHECK_IN: timedelta(days=1),
}


@dataclass(frozen=True)
class Suggestion:
    kind: PromiseKind
    wording: str  # the sentence as the customer will read it
    due_at: datetime  # aware UTC
    due_phrase: str | None  # the words the due time came from; None when guessed
    due_guessed: bool
    start: int  # character span of the sentence in the text
    end: int


_COMMIT = re.compile(
    r"\b(?:we(?:'|’)ll|we will|we shall|i(?:'|’)ll|i will|we(?:'|’)re going to|we are going to|"
    r"i(?:'|’)m going to|i am going to|you(?:'|’)ll|you will|let me|we can|i can|"
    r"we(?:'|’)d be happy to|expect|will be|shall be|"
    r"(?:our|the) (?:team|engineers?|colleagues?|billing(?: team)?|technicians?) will)\b",
    re.IGNORECASE,
)
# Where a second commitment starts a clause of its own: after ";", "," or "and".
_CLAUSE_BREAK = re.compile(r"(?:\s*[;,]\s*(?:and\s+|then\s+|and then\s+)?|\s+and\s+)$", re.I)
# First match wins, so the specific kinds come before the general ones.
_KINDS: tuple[tuple[PromiseKind, re.Pattern[str]], ...] = (
    (PromiseKind.SLACK_INVITE, re.compile(r"\bslack\b", re.I)),
    (
        PromiseKind.CALLBACK,
        re.compile(r"\b(?:call(?:ing)? you(?: back)?|call back|ring you|phone you|a call)\b", re.I),
    ),
    (PromiseKind.REFUND, re.compile(r"\brefund(?:ed|s)?\b|\bmoney back\b", re.I)),
    (PromiseKind.REBATE, re.compile(r"\brebate|\bdiscount|\bmonth free\b|\bfree month\b", re.I)),
    (PromiseKind.CREDIT, re.compile(r"\bcredit(?:ed|s)?\b|\bvoucher\b", re.I)),
    (
        PromiseKind.FIX,
        re.compile(
            r"\b(?:fix(?:ed)?|repair(?:ed)?|resolved?|patch(?:ed)?|replace(?:ment)?)\b", re.I
        ),
    ),
    (
        PromiseKind.INVESTIGATE,
        re.compile(
            r"\b(?:investigate|look into|looking into|check (?:on|with|into)|find out|"
            r"get back to you|update you|follow up)\b",
            re.I,
        ),
    ),
)
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "couple of": 2,
    "few": 3,
    "a couple of": 2,
    "a few": 3,
}
_NUM = (
    r"(\d+|a couple of|a few|couple of|few|an?|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|twelve)"
)
_CLOCK = r"(?:at|by|before)\s+(?:(noon|midday)|(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?)"
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)?"
_DAYS = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_UNITS = r"(minute|hour|day|week|business day|working day)s?"
_PHRASES: tuple[tuple[str, str], ...] = (
    ("soon", r"\b(?:right away|immediately|asap|as soon as possible|shortly|straight away)\b"),
    ("date", rf"\b(\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}\b|\b{_MONTH}\.?\s+(\d{{1,2}}){_ORD}\b"),
    ("within", rf"\b(?:within|in|inside)\s+(?:the\s+next\s+)?{_NUM}\s+{_UNITS}\b"),
    ("soon", r"\bwithin the hour\b"),
    ("tomorrow", r"\btomorrow(?:\s+(morning|afternoon|evening|night))?\b"),
    (
        "today",
        r"\b(?:today|by (?:the )?end of (?:the )?day|by eod|eod|this afternoon|later today)\b",
    ),
    ("tonight", r"\b(?:tonight|this evening)\b"),
    ("morning", r"\bthis morning\b"),
    ("weekday", rf"\b(?:(by|on|this|next|before)\s+)?{_DAYS}\b"),
    ("this_week", r"\b(?:this week|(?:by )?(?:the )?end of (?:the|this) week)\b"),
    ("next_week", r"\bnext week\b"),
    ("clock", rf"\b{_CLOCK}\b"),
)
_PATTERNS = tuple((name, re.compile(rx, re.IGNORECASE)) for name, rx in _PHRASES)
_PARTS = {"morning": time(10), "afternoon": time(15), "evening": time(19), "night": time(20)}


def zone(name: str | None) -> ZoneInfo:
    """The named IANA zone; unknown or empty names fall back to UTC."""
    return zone_or_utc(name)


def classify(sentence: str) -> PromiseKind | None:
    """The kind of promise a sentence makes, or None when it commits to nothing."""
    if not _COMMIT.search(sentence):
        return None
    for kind, pattern in _KINDS:
        if pattern.search(sentence):
            return kind
    return PromiseKind.CUSTOM if _parse_phrase(sentence) else None


def _number(word: str) -> int:
    word = word.lower()
    return int(word) if word.isdigit() else _NUMBERS.get(word, 1)


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _clock(m: re.Match[str]) -> time | None:
    if m.group(1):
        return time(12)  # noon, midday
    hour, minute, ampm = int(m.group(2)), int(m.group(3) or 0), (m.group(4) or "").lower()
    if ampm.startswith("p") and hour < 12:
        hour += 12
    elif ampm.startswith("a") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (not ampm and not m.group(3) and hour < 7):
        return None  # "by 3" is too vague to be a time
    return time(hour, minute)


def _parse_phrase(text: str) -> tuple[str, re.Match[str]] | None:
    for name, pattern in _PATTERNS:
        m = pattern.search(text)
        if m:
            return name, m
    return None


def _clock_near(text: str, m: re.Match[str]) -> tuple[time, str] | None:
    """A clock time after the day phrase ("tomorrow at 4pm"), else before it ("by 4pm tomorrow")."""
    for part in (text[m.end() :], text[: m.start()]):
        for clock_m in re.finditer(_CLOCK, part, re.I):
            at = _clock(clock_m)
            if at is not None:
                return at, clock_m.group(0)
    return None


def _date(m: re.Match[str], today: date) -> date | None:
    day_s, month_s = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    month = next(i for i, name in enumerate(_MONTHS, 1) if name.startswith(month_s.lower()[:3]))
    for year in (today.year, today.year + 1):
        try:
            day = date(year, month, int(day_s))
        except ValueError:
            return None
        if day >= today:
            return day
    return None


@dataclass(frozen=True)
class _Anchor:
    """What a time phrase is read against: the owner's clock and working day."""

    now: datetime
    today: date
    tz: ZoneInfo
    end: time  # end of the working day
    at: time | None  # a clock time written next to the day phrase, if any

    def on(self, day: date, default: time | None = None) -> datetime:
        return _at(day, self.at or default or self.end, self.tz)

    def soon_at_least(self, due: datetime) -> datetime:
        return max(due, self.now + timedelta(hours=1))


def parse_due(
    text: str, *, now: datetime, timezone: str | None = "UTC", workday_end_hour: int = 17
) -> tuple[datetime, str] | None:
    """The deadline a phrase in ``text`` names, with the phrase; None when there is none."""
    tz = zone(timezone)
    found = _parse_phrase(text)
    if found is None:
        return None
    name, m = found
    near = _clock_near(text, m) if name != "clock" else None
    anchor = _Anchor(
        now=now,
        today=now.astimezone(tz).date(),
        tz=tz,
        end=time(23, 59) if workday_end_hour >= 24 else time(workday_end_hour),
        at=near[0] if near else None,
    )
    due = _DUE_BY_PHRASE[name](m, anchor)
    if due is None:
        return None
    phrase = m.group(0) + (" " + near[1] if near else "")
    return due, phrase.strip()


def _due_date(m: re.Match[str], a: _Anchor) -> datetime | None:
    day = _date(m, a.today)
    return None if day is None else a.on(day)


def _due_soon(m: re.Match[str], a: _Anchor) -> datetime:
    return a.now + timedelta(hours=1)


def _due_within(m: re.Match[str], a: _Anchor) -> datetime:
    n, unit = _number(m.group(1)), m.group(2).lower()
    if unit not in ("business day", "working day"):
        return a.now + timedelta(**{unit + "s": n})
    day = a.today
    for _ in range(n):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return _at(day, a.end, a.tz)


def _due_tomorrow(m: re.Match[str], a: _Anchor) -> datetime:
    part = (m.group(1) or "").lower()
    return a.on(a.today + timedelta(days=1), _PARTS.get(part))


def _due_today(default: time | None) -> _DueRule:
    def rule(m: re.Match[str], a: _Anchor) -> datetime:
        return a.soon_at_least(a.on(a.today, default))

    return rule


def _due_weekday(m: re.Match[str], a: _Anchor) -> datetime:
    prefix, target = (m.group(1) or "").lower(), _WEEKDAYS.index(m.group(2).lower())
    ahead = (target - a.today.weekday()) % 7
    if prefix == "next" and ahead == 0:
        ahead = 7
    due = a.on(a.today + timedelta(days=ahead))
    return due if due >= a.now else a.on(a.today + timedelta(days=ahead + 7))


def _due_this_week(m: re.Match[str], a: _Anchor) -> datetime:
    friday = a.today + timedelta(days=(4 - a.today.weekday()) % 7)
    return a.soon_at_least(_at(friday, a.end, a.tz))


def _due_next_week(m: re.Match[str], a: _Anchor) -> datetime:
    monday = a.today + timedelta(days=7 - a.today.weekday())
    return _at(monday + timedelta(days=4), a.end, a.tz)


def _due_clock(m: re.Match[str], a: _Anchor) -> datetime | None:
    """A bare clock time: today, or tomorrow when it has passed."""
    at = _clock(m)
    if at is None:
        return None
    due = _at(a.today, at, a.tz)
    return due if due > a.now else _at(a.today + timedelta(days=1), at, a.tz)


_DueRule = Callable[[re.Match[str], _Anchor], datetime | None]
_DUE_BY_PHRASE: dict[str, _DueRule] = {
    "date": _due_date,
    "soon": _due_soon,
    "within": _due_within,
    "tomorrow": _due_tomorrow,
    "today": _due_today(None),
    "tonight": _due_today(time(20)),
    "morning": _due_today(time(12)),
    "weekday": _due_weekday,
    "this_week": _due_this_week,
    "next_week": _due_next_week,
    "clock": _due_clock,
}


def suggest(
    text: str, *, now: datetime, timezone: str | None = "UTC", workday_end_hour: int = 17
) -> list[Suggestion]:
    """Every promise in ``text``, in order of appearance."""
    found: list[Suggestion] = []
    for start, clause in _clauses(text):
        kind = classify(clause)
        if kind is None:
            continue
        parsed = parse_due(clause, now=now, timezone=timezone, workday_end_hour=workday_end_hour)
        if parsed is None:
            due, phrase, guessed = now + DEFAULT_DELAY[kind], None, True
        else:
            (due, phrase), guessed = parsed, False
        found.append(
            Suggestion(
                kind=kind,
                wording=clause,
                due_at=due,
                due_phrase=phrase,
                due_guessed=guessed,
                start=start,
                end=start + len(clause),
            )
        )
    return found


def _clauses(text: str) -> list[tuple[int, str]]:
    """(start, clause) per sentence, a sentence split where a second commitment begins."""
    out: list[tuple[int, str]] = []
    for m in _SENTENCE.finditer(text):
        cuts = [m.start()]
        for c in _COMMIT.finditer(m.group(0)):
            at = m.start() + c.start()
            if c.start() > 0 and _CLAUSE_BREAK.search(text[cuts[-1] : at]):
                cuts.append(at)
        for a, b in zip(cuts, [*cuts[1:], m.end()], strict=True):
            piece = text[a:b]
            if b != m.end():
                piece = _CLAUSE_BREAK.sub("", piece)
            clause = piece.strip()
            if clause:
                out.append((a + len(piece) - len(piece.lstrip()), clause))
    return out
