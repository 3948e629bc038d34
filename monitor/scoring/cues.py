"""Intensity cues the text model does not explain well on its own, found by rules.

Each cue is a named pattern with base points. The text score scales the points by the
complaint probability (a cheerful "WOW!!!" is not frustration), so the cues amplify a
complaint rather than invent one. Patterns are matched on the original text (case kept
for the capitals cue), in one pass of one combined regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.scoring.features import MAX_CHARS

_NUM = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|few|many)"
_UNIT = r"(?:hours?|hrs?|days?|weeks?|wks?|months?|years?)"
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday)"

# Patterns run on features.normalise(text) (lower case).
# name -> (pattern, base points, wording for the reason)
CUES: dict[str, tuple[str, int, str]] = {
    "profanity": (
        r"\b(?:fuck\w*|f\*+k\w*|shit\w*|bullshit|crap+y?|damn\w*|wtf|ffs|piss(?:ed)?|"
        r"arse\w*|asshole\w*|bollocks|screw(?:ed)? (?:you|me|us))\b",
        5,
        "profanity",
    ),
    "leave": (
        r"\b(?:cancel+(?:ing|ed)? (?:my|our|the) (?:account|subscription|order|contract|"
        r"membership|plan)|switch(?:ing)? (?:to|providers?|banks?)|"
        r"tak(?:e|ing) (?:my|our) (?:business|money|custom)|never (?:again|buy|use|fly|"
        r"order|shop|book|recommend)\w*|(?:i'?m|we'?re|i am|we are) done with|"
        r"close (?:my|our) account|go(?:ing)? elsewhere|last time i|unsubscrib\w*|"
        r"(?:find|finding|look(?:ing)? for) (?:another|a new|a different) )",
        6,
        "threatens to leave",
    ),
    "public": (
        r"\b(?:lawyers?|solicitors?|su(?:e|ing)|legal action|court|ombudsman|"
        r"trading standards|bbb|better business bureau|report(?:ing)? (?:you|this|it) to|"
        r"the (?:press|media|news)|go(?:ing)? public|(?:tell|telling|warn|warning) "
        r"(?:everyone|everybody|all my|people)|(?:1|one)[- ]star)\b",
        6,
        "threatens to go public",
    ),
    "repeat": (
        r"\b(?:again|still|yet again|(?:second|2nd|third|3rd|fourth|4th|fifth|5th|\d+th) time|"
        r"(?:\d+|two|three|four|five|several|many|multiple|countless|numerous) times|"
        r"keep (?:getting|having|saying|telling|asking)|every (?:single )?time|repeatedly)\b",
        4,
        "repeated problem",
    ),
    "elapsed": (
        rf"\b(?:(?:for|over|in|after|almost|nearly|about) {_NUM} {_UNIT}|"
        rf"since (?:{_DAY}|last (?:week|month|year|night)|\d+(?:st|nd|rd|th)?\b)|"
        rf"{_NUM} {_UNIT} (?:now|ago|later|and counting)|still waiting|waiting (?:for|since))",
        4,
        "long wait mentioned",
    ),
    "punctuation": (r"[!?]{2,}", 2, "repeated punctuation"),
}
_PATTERNS = {name: re.compile(pattern) for name, (pattern, _, _) in CUES.items()}

# A cue's pattern runs only when one of its trigger tokens is present (a set look-up),
# which keeps the rules cheap on the common text that has none.
TRIGGERS: dict[str, frozenset[str]] = {
    "profanity": frozenset(
        [
            "fuck",
            "fucking",
            "fucked",
            "fuckin",
            "fucks",
            "shit",
            "shitty",
            "shite",
            "bullshit",
            "crap",
            "crappy",
            "damn",
            "damned",
            "wtf",
            "ffs",
            "piss",
            "pissed",
            "arse",
            "arsehole",
            "asshole",
            "bollocks",
            "screw",
            "screwed",
        ]
    ),
    "leave": frozenset(
        [
            "cancel",
            "cancelling",
            "canceling",
            "cancelled",
            "canceled",
            "switch",
            "switching",
            "take",
            "taking",
            "never",
            "done",
            "close",
            "elsewhere",
            "last",
            "unsubscribe",
            "unsubscribed",
            "unsubscribing",
            "find",
            "finding",
            "look",
            "looking",
        ]
    ),
    "public": frozenset(
        [
            "lawyer",
            "lawyers",
            "solicitor",
            "solicitors",
            "sue",
            "suing",
            "legal",
            "court",
            "ombudsman",
            "trading",
            "bbb",
            "better",
            "report",
            "reporting",
            "press",
            "media",
            "news",
            "public",
            "tell",
            "telling",
            "warn",
            "warning",
            "star",
        ]
    ),
    "repeat": frozenset(["again", "still", "time", "times", "keep", "every", "repeatedly"]),
    "elapsed": frozenset(
        [
            "hour",
            "hours",
            "hr",
            "hrs",
            "day",
            "days",
            "week",
            "weeks",
            "wk",
            "wks",
            "month",
            "months",
            "year",
            "years",
            "since",
            "waiting",
        ]
    ),
}
_CAPS_WORD = re.compile(r"[A-Z][A-Z][A-Z]+")
_WORD = re.compile(r"\b[^\W\d_]{3,}\b")
CAPS_POINTS = 3
CAPS_LABEL = "shouting in capitals"


@dataclass(frozen=True)
class Cue:
    name: str
    label: str
    base_points: int


def find_cues(text: str, normalised: str, token_set: frozenset[str] | set[str]) -> list[Cue]:
    """The distinct cues present, each once, in a stable order.

    ``normalised`` and ``token_set`` are :func:`features.normalise` of ``text`` and its
    tokens (the text model has them already; pass them to avoid redoing the work).
    """
    found: list[Cue] = []
    for name, (_, points, label) in CUES.items():
        if name == "punctuation":
            hit = (
                "!!" in normalised
                or "??" in normalised
                or "?!" in normalised
                or ("!?" in normalised)
            )
        else:
            hit = not TRIGGERS[name].isdisjoint(token_set) and bool(
                _PATTERNS[name].search(normalised)
            )
        if hit:
            found.append(Cue(name, label, points))
    head = text[:MAX_CHARS]
    caps = len(_CAPS_WORD.findall(head))
    if caps >= 3 or (caps >= 2 and caps * 4 >= len(_WORD.findall(head))):
        found.append(Cue("caps", CAPS_LABEL, CAPS_POINTS))
    return found
