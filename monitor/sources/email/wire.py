"""IMAP wire details for :mod:`monitor.sources.email.imap`: sequence sets, dates, names."""

from __future__ import annotations

import base64
import imaplib
import logging
import re
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

UID = re.compile(rb"\bUID (\d+)")
INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
TRANSIENT_CODES = (b"[UNAVAILABLE]", b"[SERVERBUG]", b"[INUSE]", b"[LIMIT]")


def auth_refused(text: str) -> bool:
    return not any(code.decode() in text for code in TRANSIENT_CODES)


def check(typ: str, data: list[Any], command: str) -> None:
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise imaplib.IMAP4.error(f"{command} failed: {typ} {detail}")


def uid_set(uids: list[int]) -> str:
    """Sorted UIDs as a compact IMAP sequence set: ``1:3,7,9:10``."""
    ranges: list[str] = []
    start = prev = uids[0]
    for uid in [*uids[1:], -1]:
        if uid == prev + 1:
            prev = uid
            continue
        ranges.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = uid
    return ",".join(ranges)


def internal_date(head: bytes) -> datetime | None:
    match = INTERNALDATE.search(head)
    if match is None:
        return None
    try:
        value = datetime.strptime(match.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    return value.astimezone(UTC)


def quote(folder: str) -> str:
    """A mailbox name as an IMAP quoted string, in modified UTF-7 (RFC 3501 5.1.3)."""
    escaped = imap_utf7(folder).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def imap_utf7(name: str) -> str:
    """Encode a mailbox name: printable ASCII as is, ``&`` as ``&-``, the rest base64."""
    out: list[str] = []
    pending: list[str] = []
    for ch in [*name, ""]:
        if ch and not 0x20 <= ord(ch) <= 0x7E:
            pending.append(ch)
            continue
        if pending:
            b64 = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + b64.decode().replace("/", ",") + "-")
            pending.clear()
        out.append("&-" if ch == "&" else ch)
    return "".join(out)


def logout(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except Exception:
        log.debug("IMAP logout failed", exc_info=True)
        try:
            imap.shutdown()
        except OSError:
            log.debug("IMAP shutdown failed", exc_info=True)
