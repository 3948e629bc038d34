"""What the customer already told us, pulled out of their messages so nobody asks twice.

Pure functions over text: order numbers, email addresses, phone numbers, dates, amounts
and product names that the customer wrote, and what an outage needs to know (error
codes, app versions, device models, OS versions). Each fact remembers which message it came
from and the words around it, so staff can check it in context. Precision matters more
than recall: a wrong "order number" on the case page is worse than a missing one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FactKind(StrEnum):
    ORDER = "order"
    EMAIL = "email"
    PHONE = "phone"
    DATE = "date"
    AMOUNT = "amount"
    PRODUCT = "product"
    ERROR_CODE = "error_code"
    APP_VERSION = "app_version"
    DEVICE = "device"
    OS_VERSION = "os_version"


# What staff can ask a customer for (an incident's "ask for details"), as a question.
ASKABLE: dict[FactKind, str] = {
    FactKind.ERROR_CODE: "the error code or message you see",
    FactKind.APP_VERSION: "the version of the app (in Settings > About)",
    FactKind.DEVICE: "the phone, tablet or computer you use",
    FactKind.OS_VERSION: "its system version (iOS, Android, Windows...)",
    FactKind.DATE: "when it started",
    FactKind.ORDER: "your order or account number",
}


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    value: str  # normalised for display and de-duplication
    quote: str  # the surrounding words as written
    source_id: int | None = None  # the message it came from


_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
ORDER_RE = re.compile(
    r"\b(?:order|ord|invoice|booking|ticket|case|ref(?:erence)?|tracking)"
    r"(?:\s+(?:no\.?|number|num|id|#))?\s*(?:is\s+)?[:#]?\s*"
    r"(?P<v>#?[A-Z0-9][A-Z0-9-]{3,24})\b",
    re.IGNORECASE,
)
HASH_ID_RE = re.compile(r"(?<![\w&])#(?P<v>[A-Z]{0,4}-?\d{4,12})\b", re.IGNORECASE)
EMAIL_RE = re.compile(r"(?<![\w.+-])(?P<v>[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
PHONE_RE = re.compile(r"(?<![\w+])(?P<v>\+?\(?\d[\d ()./-]{7,18}\d)(?![\w])")
DATE_RES = (
    re.compile(r"\b(?P<v>\d{4}-\d{2}-\d{2})\b"),
    re.compile(r"\b(?P<v>\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2}))\b"),
    re.compile(
        rf"\b(?P<v>\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?(?:\s+\d{{4}})?)\b", re.I
    ),
    re.compile(rf"\b(?P<v>(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)\b", re.I),
)
AMOUNT_RE = re.compile(
    r"(?P<v>(?:[$£€¥]\s?\d[\d,]*(?:\.\d{1,2})?)"
    r"|(?:\b\d[\d,]*(?:\.\d{1,2})?\s?(?:USD|EUR|GBP|CHF|dollars|euros?|pounds|bucks)\b))",
    re.IGNORECASE,
)
PRODUCT_RE = re.compile(
    r"\b(?i:my|the|our|a|new)\s+(?P<v>(?:[A-Z][\w+-]*\s){0,2}[A-Z][\w+-]*(?:\s(?:\d{1,4}|Pro|Max|Mini|Plus))?)"
    r"(?=\s+(?:is|was|has|keeps|stopped|broke|arrived|won't|doesn't|isn't|never|subscription|order)\b)"
)
ERROR_RES = (
    re.compile(r"(?<![\w-])(?P<v>(?i:ERR)-?\d{2,6}|E-?\d{3,5})\b"),
    re.compile(
        r"\b(?:error|err|fault|code|status)(?:\s+(?:code|number|no\.?|message))?\s*(?:is\s+)?[:#]?\s*"
        r"(?P<v>0x[0-9A-F]{4,8}|[A-Z]{0,4}-?\d{2,6}[A-Z]?)\b",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w-])(?P<v>0x[0-9A-F]{6,8})\b", re.IGNORECASE),
)
OS_RE = re.compile(
    r"\b(?P<v>(?i:ios|ipados|android|macos|mac os|windows|watchos|chromeos|harmonyos)"
    r"\s?\d{1,2}(?:\.\d{1,2}){0,2})\b"
)
APP_VERSION_RES = (
    re.compile(
        r"\b(?:app|update|version|ver\.?|build|release)\s+(?:version\s+)?v?"
        r"(?P<v>\d{1,3}(?:\.\d{1,4}){1,3})\b",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w.])v(?P<v>\d{1,3}(?:\.\d{1,4}){1,3})\b", re.IGNORECASE),
    re.compile(
        r"(?<![\w.])(?P<v>\d{1,3}(?:\.\d{1,4}){1,3})\s+(?:update|version|release|build)\b",
        re.IGNORECASE,
    ),
)
DEVICE_RE = re.compile(
    r"\b(?P<v>"
    r"iPhone\s?(?:\d{1,2}|SE|XR|XS|X)(?:\s?(?:Pro\s?Max|Pro|Plus|Max|mini))?"
    r"|iPad(?:\s?(?:Pro|Air|mini))?(?:\s?\d{1,2}(?:th|rd|nd)?)?"
    r"|Pixel\s?\d{1,2}a?(?:\s?(?:Pro|XL|Fold))?"
    r"|Galaxy\s?(?:[SAMNZ]\d{1,3}\+?|Z\s?(?:Fold|Flip)\s?\d|Note\s?\d{1,2}|Tab\s?S\d{1,2})"
    r"(?:\s?(?:Ultra|FE|Plus|Lite))?"
    r"|OnePlus\s?\d{1,2}[RT]?|Redmi\s?Note\s?\d{1,2}(?:\s?Pro)?|Moto\s?[GE]\d{1,3}"
    r"|MacBook\s?(?:Air|Pro)?|Surface\s?(?:Pro|Laptop|Go)\s?\d{0,2}"
    r")(?![\w+])",
    re.IGNORECASE,
)
_DEVICE_CASE = {"iphone": "iPhone", "ipad": "iPad", "oneplus": "OnePlus", "macbook": "MacBook"}
_OS_CASE = {"ios": "iOS", "ipados": "iPadOS", "macos": "macOS", "mac os": "macOS",
            "android": "Android", "windows": "Windows", "watchos": "watchOS",
            "chromeos": "ChromeOS", "harmonyos": "HarmonyOS"}  # fmt: skip
_STOP_PRODUCTS = frozenset({"I", "It", "This", "That", "The", "My", "Your", "Order", "Refund"})
_QUOTE = 40


def _quote(text: str, start: int, end: int) -> str:
    a, b = max(0, start - _QUOTE), min(len(text), end + _QUOTE)
    snippet = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + snippet + ("…" if b < len(text) else "")


def _phone(value: str) -> str | None:
    digits = re.sub(r"\D", "", value)
    if not 8 <= len(digits) <= 15:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()) or re.fullmatch(
        r"\d{1,2}[./]\d{1,2}[./]\d{2,4}", value.strip()
    ):
        return None  # a date, not a phone number
    return ("+" if value.strip().startswith("+") else "") + digits


def _order(value: str) -> str | None:
    v = value.lstrip("#").upper()
    return v if any(ch.isdigit() for ch in v) else None  # "order status" is not an id


def _error_code(value: str) -> str | None:
    v = value.upper()
    if v.startswith("0X"):
        return "0x" + v[2:]
    v = v.lstrip("-")
    return v if any(ch.isdigit() for ch in v) else None


def _device(value: str) -> str:
    words = value.split()
    first = _DEVICE_CASE.get(words[0].lower(), words[0][:1].upper() + words[0][1:])
    return " ".join([first, *(w[:1].upper() + w[1:] for w in words[1:])])


def _os(value: str) -> str:
    m = re.match(r"(?i)(mac os|[a-z]+)\s?(.*)", value.strip())
    assert m is not None
    return f"{_OS_CASE.get(m.group(1).lower(), m.group(1))} {m.group(2)}"


def _outage_facts(text: str, add: Any) -> None:
    """Error codes, OS versions, app versions, devices: before dates (5.2.1 is a version)."""
    for rx in ERROR_RES:
        for m in rx.finditer(text):
            add(FactKind.ERROR_CODE, _error_code(m.group("v")), m)
    for m in OS_RE.finditer(text):
        add(FactKind.OS_VERSION, _os(m.group("v")), m)
    for rx in APP_VERSION_RES:
        for m in rx.finditer(text):
            add(FactKind.APP_VERSION, m.group("v"), m)
    for m in DEVICE_RE.finditer(text):
        add(FactKind.DEVICE, _device(" ".join(m.group("v").split())), m)


def extract(text: str, *, source_id: int | None = None) -> list[Fact]:
    """Every fact in one message, in the order they appear, without duplicates."""
    found: list[tuple[int, Fact]] = []
    taken: list[tuple[int, int]] = []  # spans already claimed (an order id is not a phone)

    def add(kind: FactKind, value: str | None, m: re.Match[str]) -> None:
        if not value:
            return
        start, end = m.span("v")
        if any(start < b and a < end for a, b in taken):
            return
        taken.append((start, end))
        found.append((start, Fact(kind, value, _quote(text, start, end), source_id)))

    for m in EMAIL_RE.finditer(text):
        add(FactKind.EMAIL, m.group("v").lower(), m)
    for m in ORDER_RE.finditer(text):
        add(FactKind.ORDER, _order(m.group("v")), m)
    for m in HASH_ID_RE.finditer(text):
        add(FactKind.ORDER, _order(m.group("v")), m)
    _outage_facts(text, add)
    for rx in DATE_RES:
        for m in rx.finditer(text):
            add(FactKind.DATE, " ".join(m.group("v").split()), m)
    for m in AMOUNT_RE.finditer(text):
        add(FactKind.AMOUNT, " ".join(m.group("v").split()), m)
    for m in PHONE_RE.finditer(text):
        add(FactKind.PHONE, _phone(m.group("v")), m)
    for m in PRODUCT_RE.finditer(text):
        name = m.group("v").strip()
        if name.split()[0] not in _STOP_PRODUCTS:
            add(FactKind.PRODUCT, name, m)
    seen: set[tuple[FactKind, str]] = set()
    out: list[Fact] = []
    for _, fact in sorted(found, key=lambda pair: pair[0]):
        key = (fact.kind, fact.value.lower())
        if key not in seen:
            seen.add(key)
            out.append(fact)
    return out


def collect(
    messages: Iterable[tuple[int | None, str]], *, ignore: Iterable[str] = ()
) -> list[Fact]:
    """Facts across a customer's messages (oldest first); the first mention of each wins.

    ``ignore`` drops values we know are ours (our own support address, say).
    """
    skip = {v.lower() for v in ignore}
    seen: set[tuple[FactKind, str]] = set()
    out: list[Fact] = []
    for source_id, text in messages:
        for fact in extract(text, source_id=source_id):
            key = (fact.kind, fact.value.lower())
            if key in seen or fact.value.lower() in skip:
                continue
            seen.add(key)
            out.append(fact)
    return out
