"""Which cause a complaint is about, suggested from its words (pure, no database).

Rules, not a model: each cause of the configured taxonomy (``reports.causes``) lists the
words that suggest it; a case's text is matched on word boundaries, case-insensitively.
The best cause wins with a confidence in 0-1 that grows with how many of its words
matched and how clearly it beat the runner-up, so "my card was charged twice for one
invoice" is billing with high confidence, and a text matching two causes once each is a
coin toss (0.25) that is not stored on the case. The matched words are returned so
staff see why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from monitor.config import CauseSettings


@dataclass(frozen=True)
class Suggestion:
    cause: str
    confidence: float
    matched: tuple[str, ...]


@lru_cache(maxsize=256)
def _pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(keyword.lower()) + r"(?!\w)")


def _hits(text: str, keywords: Iterable[str]) -> tuple[str, ...]:
    return tuple(k for k in keywords if _pattern(k).search(text))


def suggest(texts: Sequence[str], causes: Sequence[CauseSettings]) -> Suggestion | None:
    """The likeliest cause for these messages, or None when no cause's words appear.

    confidence = (1 - 0.5 ** hits) * hits / (hits + runner-up hits): one word alone
    gives 0.5, two 0.75, three 0.875; a tie halves it.
    """
    text = "\n".join(texts).lower()
    scored = []
    for cause in causes:
        matched = _hits(text, cause.keywords)
        if matched:
            scored.append((len(matched), cause.name, matched))
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    hits, name, matched = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0
    confidence = (1 - 0.5**hits) * hits / (hits + runner_up)
    return Suggestion(cause=name, confidence=round(confidence, 3), matched=matched)
