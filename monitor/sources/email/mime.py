"""Parse raw RFC 822 bytes into what the monitor needs, without any I/O.

Everything here is lenient about what real mail looks like (wrong or unknown
charsets, broken encodings, missing headers) and never crashes on it: the only
error is :class:`MalformedEmail`, for bytes that cannot be used as a mention at
all (no sender, not a message). The raw bytes are always kept by the caller, so a
lossy decode here loses nothing for good.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from monitor.mentions import Attachment, Author, Channel, IdentityKind, MentionIn
from monitor.sources.email.html import html_to_text
from monitor.sources.email.quotes import strip_quoted_and_signature

__all__ = [
    "MalformedEmail",
    "ParsedEmail",
    "decode_bytes",
    "decode_header_value",
    "html_to_text",
    "parse_email",
    "strip_quoted_and_signature",
    "to_mention",
]

DEFAULT_MAX_BODY_BYTES = 1_000_000
TRUNCATION_MARKER = "[… message truncated: the body was {size} bytes; the original is kept]"

# Charsets that are declared as Latin-1/ASCII but are in practice windows-1252
# (the WHATWG encoding standard makes the same substitution).
_CP1252_ALIASES = frozenset({"ascii", "us-ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1"})
_MSGID = re.compile(r"<([^<>\s]+)>")
_WS_RUN = re.compile(r"[ \t\r\f\v\u00a0]+")


class MalformedEmail(ValueError):
    """The bytes cannot be turned into a mention; quarantine them with this reason."""


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # without angle brackets; synthesised when the message has none
    message_id_synthesised: bool
    from_address: str  # as written
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str | None
    date: datetime  # aware, UTC
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    truncated: bool
    attachments: tuple[Attachment, ...]


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text whatever its declared charset; never raises.

    Order: the declared charset (Latin-1/ASCII read as windows-1252), strict UTF-8,
    mostly-valid UTF-8 with replacement characters, windows-1252, Latin-1.
    """
    declared_codec = _codec(declared)
    if declared_codec is not None:
        try:
            return data.decode(declared_codec)
        except (UnicodeError, LookupError):  # LookupError: "zlib", "rot13"... not text codecs
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lossy = data.decode("utf-8", errors="replace")
    bad = lossy.count("\ufffd")
    good = sum(1 for ch in lossy if ord(ch) > 127 and ch != "\ufffd")
    if good > bad:
        return lossy
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    if name in _CP1252_ALIASES:
        return "cp1252"
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_header_value(value: object) -> str:
    """An RFC 2047 header value as one line of text (never raises)."""
    if value is None:
        return ""
    try:
        parts = decode_header(value)  # type: ignore[arg-type]  # str or email.header.Header
    except Exception:
        return _WS_RUN.sub(" ", str(value).replace("\r", "").replace("\n", " ")).strip()
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, "utf-8" if charset == "unknown-8bit" else charset))
        else:
            out.append(chunk)
    text = "".join(out).replace("\r", "").replace("\n", " ")
    return _WS_RUN.sub(" ", text).strip()


def _raw_header(msg: Message, name: str) -> str:
    """The header as a string, 8-bit bytes decoded, encoded-words left alone."""
    value = msg.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # compat32 hands back an email.header.Header when the header had raw 8-bit bytes
    return decode_header_value(value)


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    raw = _raw_header(msg, name)
    if not raw.strip():
        return []
    out: list[tuple[str, str]] = []
    for display, addr in getaddresses([raw]):
        addr = addr.strip()
        if "@" in addr and not any(c.isspace() for c in addr):
            out.append((decode_header_value(display), addr))
    return out


def _msg_ids(value: str) -> list[str]:
    ids = _MSGID.findall(value)
    if ids:
        return list(ids)
    token = value.strip()
    return [token] if token and not any(c.isspace() for c in token) else []


def _date(msg: Message, fallback: datetime, now: datetime) -> datetime:
    raw = _raw_header(msg, "Date")
    if raw:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:  # "-0000": UTC, origin unknown
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
            # A date far in the future is a broken clock or spam, not information.
            if parsed <= now.astimezone(UTC) + timedelta(days=1):
                return parsed
    return fallback.astimezone(UTC)


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _size(part: Message) -> int:
    if part.get_content_maintype() != "message":
        return len(_payload(part))
    try:  # message/rfc822: the payload is the enclosed message
        inner = part.get_payload()
        if isinstance(inner, str):
            return len(inner.encode("utf-8", "surrogateescape"))
        return sum(len(m.as_bytes()) for m in inner if isinstance(m, Message))
    except Exception:
        return 0


def _walk(msg: Message, plain: list[str], html: list[str], files: list[Attachment]) -> None:
    if msg.get_content_maintype() == "message":  # a forwarded message: an attachment
        name = decode_header_value(msg.get_filename()) or "forwarded message"
        files.append(
            Attachment(filename=name, content_type=msg.get_content_type(), size=_size(msg))
        )
        return
    if msg.is_multipart():
        for sub in msg.get_payload():
            if isinstance(sub, Message):
                _walk(sub, plain, html, files)
        return
    ctype = msg.get_content_type()
    disposition = (msg.get_content_disposition() or "").lower()
    filename = msg.get_filename()
    if disposition == "attachment" or filename or ctype not in {"text/plain", "text/html"}:
        name = decode_header_value(filename) if filename else "unnamed"
        files.append(Attachment(filename=name, content_type=ctype, size=_size(msg)))
        return
    text = decode_bytes(_payload(msg), msg.get_content_charset())
    (plain if ctype == "text/plain" else html).append(text)


def _truncate(text: str, limit: int) -> tuple[str, bool]:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, False
    head = encoded[:limit].decode("utf-8", errors="ignore").rstrip()
    return f"{head}\n\n{TRUNCATION_MARKER.format(size=len(encoded))}", True


def _body(msg: Message, limit: int) -> tuple[str, bool, tuple[Attachment, ...]]:
    plain: list[str] = []
    html: list[str] = []
    files: list[Attachment] = []
    _walk(msg, plain, html, files)
    texts = [t.replace("\r\n", "\n").replace("\r", "\n").strip() for t in plain]
    texts = [t for t in texts if t]
    if not texts:
        # Bound the HTML parser's work: a huge page is truncated anyway.
        texts = [html_to_text(h[: limit * 4]) for h in html]
        texts = [t for t in texts if t]
    text, truncated = _truncate("\n\n".join(texts), limit)
    return text, truncated, tuple(files)


def parse_email(
    raw: bytes,
    *,
    now: datetime,
    fallback_date: datetime | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> ParsedEmail:
    """Parse one message. Raises :class:`MalformedEmail` when it cannot be used."""
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise MalformedEmail("empty message")
    try:
        msg = message_from_bytes(bytes(raw))
    except Exception as exc:  # the parser is lenient; this is a last resort
        raise MalformedEmail(f"not an RFC 822 message: {exc}") from exc
    if not msg.keys():
        raise MalformedEmail("not an RFC 822 message: no header lines")
    senders = _addresses(msg, "From") or _addresses(msg, "Sender")
    if not senders:
        raw_from = _raw_header(msg, "From").strip()
        detail = f" (From: {raw_from[:80]!r})" if raw_from else ""
        raise MalformedEmail(f"no sender address{detail}")
    name, address = senders[0]
    ids = _msg_ids(_raw_header(msg, "Message-ID"))
    synthesised = not ids
    message_id = ids[0] if ids else _synthetic_id(bytes(raw))
    in_reply_to = _msg_ids(_raw_header(msg, "In-Reply-To"))
    references = _msg_ids(_raw_header(msg, "References"))
    subject = decode_header_value(msg.get("Subject")) or None
    text, truncated, files = _body(msg, max_body_bytes)
    return ParsedEmail(
        message_id=message_id,
        message_id_synthesised=synthesised,
        from_address=address,
        from_name=name or None,
        to=tuple(a for _, a in _addresses(msg, "To")),
        cc=tuple(a for _, a in _addresses(msg, "Cc")),
        subject=subject,
        date=_date(msg, fallback_date or now, now),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=tuple(references),
        text=text,
        truncated=truncated,
        attachments=files,
    )


def _synthetic_id(raw: bytes) -> str:
    return f"sha256-{hashlib.sha256(raw).hexdigest()[:40]}@synthesised.invalid"


def to_mention(
    raw: bytes,
    *,
    folder: str,
    uid: int,
    now: datetime,
    internal_date: datetime | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> MentionIn:
    """Turn one fetched message into a :class:`MentionIn` (raises :class:`MalformedEmail`)."""
    parsed = parse_email(raw, now=now, fallback_date=internal_date, max_body_bytes=max_body_bytes)
    refs = list(
        dict.fromkeys([*parsed.references, *([parsed.in_reply_to] if parsed.in_reply_to else [])])
    )
    extra = {"folder": folder, "uid": str(uid)}
    if parsed.to:
        extra["to"] = ", ".join(parsed.to)
    if parsed.cc:
        extra["cc"] = ", ".join(parsed.cc)
    if parsed.truncated:
        extra["truncated"] = "true"
    if parsed.message_id_synthesised:
        extra["message_id_synthesised"] = "true"
    return MentionIn(
        channel=Channel.EMAIL,
        external_id=parsed.message_id,
        author=Author(
            kind=IdentityKind.EMAIL,
            handle=parsed.from_address.strip().lower(),
            username=parsed.from_address,
            name=parsed.from_name,
        ),
        text=parsed.text,
        created_at=parsed.date,
        raw=raw,
        text_for_scoring=strip_quoted_and_signature(parsed.text),
        public=False,
        subject=parsed.subject,
        in_reply_to=parsed.in_reply_to,
        thread_refs=tuple(refs),
        attachments=parsed.attachments,
        extra=extra,
    )
