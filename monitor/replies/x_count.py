"""Counting a post the way X counts it (twitter-text v3 weighting).

A URL counts 23 whatever its length; code points outside the light ranges (most CJK,
emoji sequences) count 2; everything else 1. The limit applies to this number.
"""

from __future__ import annotations

import re
import unicodedata

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
