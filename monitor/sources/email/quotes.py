"""The customer's own words in a mail reply: quoted text, reply headers, signatures cut.

A line-based heuristic over the common clients: "> " quotes, attribution lines ("On …
wrote:" in several languages, also wrapped over two lines), Outlook's "From: / Sent:"
blocks, "-----Original Message-----", the "-- " signature marker and "Sent from my
phone" footers. Everything from the first cut on is dropped.
"""

from __future__ import annotations

import re

_BLANK_RUN = re.compile(r"\n{3,}")

_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,300}\bwrote|le\b.{0,300}\ba écrit|am\b.{0,300}\bschrieb\b.{0,200}|"
    r"el\b.{0,300}\bescribió|op\b.{0,300}\bschreef|il\b.{0,300}\bha scritto)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(on|le|am|el|op|il)\s", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|forwarded message|ursprüngliche "
    r"nachricht|message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von|de|van)\s*:\*?\s+\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(
    r"^\s*\*?(sent|date|to|subject|gesendet|envoyé|datum)\s*:", re.IGNORECASE
)
_DEVICE = re.compile(
    r"^\s*(sent from my \w[\w\s-]{0,40}|sent from (mail|outlook) for \w+|"
    r"get outlook for \w+|sent via \w[\w\s-]{0,30}|envoyé de mon \w+|von meinem \w[\w\s-]{0,40}"
    r" gesendet)\.?\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")


def _cut_here(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.rstrip("\r") in {"-- ", "--"} or _ORIGINAL.match(line) or _DEVICE.match(line):
        return True
    if _ATTRIBUTION.match(line):
        return True
    # An attribution wrapped over two lines: "On Mon, ... Alice <a@b>\nwrote:"
    if (
        _ATTRIBUTION_START.match(line)
        and i + 1 < len(lines)
        and _ATTRIBUTION.match(f"{line} {lines[i + 1].strip()}")
    ):
        return True
    if _UNDERSCORES.match(line) and i + 1 < len(lines) and _OUTLOOK_FROM.match(lines[i + 1]):
        return True
    if _OUTLOOK_FROM.match(line):
        following = [ln for ln in lines[i + 1 : i + 5] if ln.strip()]
        return any(_OUTLOOK_NEXT.match(ln) for ln in following[:3])
    return False


def strip_quoted_and_signature(text: str) -> str:
    """The customer's own words: quoted replies, reply headers and signatures removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _cut_here(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return _BLANK_RUN.sub("\n\n", "\n".join(kept)).strip()
