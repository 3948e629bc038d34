"""Email replies over SMTP (smtplib): implicit TLS, STARTTLS or plain, optional AUTH.

The message is plain text: the staff member's reply, then the customer's message quoted
below it (``> `` lines). It carries the staff member's name as the From display name,
our ``Message-ID`` (generated and stored by the outbox BEFORE the first attempt), and
``In-Reply-To``/``References`` so it threads under the customer's mail. An HTML
alternative can be added; it is built from the escaped text and sanitised with nh3.

Errors
    Refused before the message was accepted: SMTP 4xx -> TransientError, 5xx ->
    PermanentError; connection refused, TLS or connect timeout -> TransientError;
    authentication refused -> PermanentError (with OAuth: after one retry on a fresh
    token; the token source raises its own errors). A connection lost or timing out while the
    message is being transferred -> TransientError(maybe_sent=True): the server may
    have accepted it.

Reconciliation
    SMTP cannot be asked what it accepted, so :meth:`SmtpResponder.find_sent` raises
    :class:`~responders.base.Unverifiable`; the outbox's configured policy decides
    (see ``replies.email_unknown_outcome``).
"""

from __future__ import annotations

import html
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import nh3

from responders import sasl
from responders.base import Delivery, Outbound, PermanentError, TransientError, Unverifiable

QUOTE_LIMIT = 20_000


@dataclass(frozen=True)
class BearerTokens:
    """OAuth access tokens for SASL XOAUTH2 (``token`` raises Permanent/TransientError)."""

    token: Callable[[], str]
    rejected: Callable[[], None]


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int
    from_address: str
    tls: str = "starttls"  # ssl | starttls | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    html_alternative: bool = False
    ca_file: str | None = None
    oauth: BearerTokens | None = None  # log in with XOAUTH2 as ``username`` instead


def quote(text: str, *, who: str | None, when: datetime | None = None) -> str:
    """The customer's message as ``> `` lines under an attribution line."""
    lines = text[:QUOTE_LIMIT].strip().splitlines() or [""]
    quoted = "\n".join(("> " + line).rstrip() for line in lines)
    stamp = f"On {format_datetime(when)}, " if when else ""
    return f"{stamp}{who or 'you'} wrote:\n{quoted}"


def _html(body: str, quoted: str | None) -> str:
    def paras(text: str) -> str:
        blocks = [b for b in text.split("\n\n") if b.strip()]
        return "".join(
            "<p>" + "<br>".join(html.escape(x) for x in b.splitlines()) + "</p>" for b in blocks
        )

    doc = paras(body)
    if quoted:
        doc += "<blockquote>" + paras(quoted) + "</blockquote>"
    return nh3.clean(doc, tags={"p", "br", "blockquote"}, attributes={})


def build_message(outbound: Outbound, options: SmtpOptions, *, now: datetime) -> EmailMessage:
    if not outbound.message_id:
        raise PermanentError("an email reply needs the Message-ID the outbox generated for it")
    msg = EmailMessage()
    msg["From"] = formataddr((outbound.sender_name or "", options.from_address))
    msg["To"] = formataddr((outbound.recipient_name or "", outbound.recipient))
    subject = (outbound.subject or "").strip() or "Your message"
    if not subject.lower().startswith("re:"):
        subject = "Re: " + subject
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = outbound.message_id
    if outbound.in_reply_to:
        parent = _angle(outbound.in_reply_to)
        msg["In-Reply-To"] = parent
        refs = [_angle(r) for r in outbound.references if r]
        refs = [r for r in dict.fromkeys(refs) if r != parent][-20:]
        msg["References"] = " ".join([*refs, parent])
    text = outbound.body.rstrip() + "\n"
    quoted = quote(outbound.quoted, who=outbound.recipient_name) if outbound.quoted else None
    if quoted:
        text += "\n" + quoted + "\n"
    msg.set_content(text)
    if options.html_alternative:
        msg.add_alternative(_html(outbound.body, quoted), subtype="html")
    return msg


def _angle(message_id: str) -> str:
    mid = message_id.strip()
    return mid if mid.startswith("<") else f"<{mid}>"


def _code_error(label: str, code: int, text: object) -> Exception:
    message = f"{label}: the mail server answered {code} {text!r}"
    if 400 <= code < 500:
        return TransientError(message)
    return PermanentError(message)


class SmtpResponder:
    """Sends one email per :meth:`send` on a fresh SMTP connection."""

    def __init__(
        self, options: SmtpOptions, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        if options.tls not in ("ssl", "starttls", "none"):
            raise ValueError(f"tls must be ssl, starttls or none, not {options.tls!r}")
        self.options = options
        self._clock = clock or (lambda: datetime.now(UTC))

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.options.ca_file)

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        try:
            if o.tls == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    o.host, o.port, timeout=o.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(o.host, o.port, timeout=o.timeout)
            try:
                if o.tls == "starttls":
                    smtp.starttls(context=self._context())
                if o.oauth is not None:
                    self._xoauth2(smtp, o.oauth)
                elif o.username:
                    smtp.login(o.username, o.password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(f"smtp: authentication refused ({exc.smtp_code})") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(f"smtp: the server does not support it: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _code_error("smtp connect", exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, timeout, TLS failure
            raise TransientError(f"smtp: cannot connect to {o.host}:{o.port}: {exc}") from exc
        return smtp

    def _xoauth2(self, smtp: smtplib.SMTP, oauth: BearerTokens) -> None:
        """AUTH XOAUTH2, retried once on a fresh token when the first is refused."""
        user = self.options.username or self.options.from_address
        smtp.ehlo_or_helo_if_needed()
        for attempt in (1, 2):
            token = oauth.token()

            def respond(challenge: bytes | None = None, token: str = token) -> str:
                # A challenge after the initial response is the server's error: answer empty.
                return sasl.initial_response(user, token) if challenge is None else ""

            try:
                smtp.auth(sasl.MECHANISM, respond)
                return
            except smtplib.SMTPAuthenticationError:
                oauth.rejected()
                if attempt == 2:
                    raise

    def send(self, outbound: Outbound) -> Delivery:
        if outbound.channel != "email":
            raise PermanentError(f"the SMTP responder cannot send on {outbound.channel!r}")
        now = self._clock()
        msg = build_message(outbound, self.options, now=now)
        smtp = self._connect()
        try:
            refused = smtp.send_message(
                msg, from_addr=self.options.from_address, to_addrs=[outbound.recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (550, b"refused"))
            raise _code_error("smtp recipient", code, text) from exc
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused
            raise _code_error("smtp", exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:  # lost mid-transfer: unknown
            lost = f"smtp: connection lost while sending: {exc}"
            raise TransientError(lost, maybe_sent=True) from exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        if refused:
            code, text = next(iter(refused.values()))
            raise _code_error("smtp recipient", code, text)
        detail = {"kind": "email", "to": outbound.recipient}
        return Delivery(str(msg["Message-ID"]), now, detail)

    def find_sent(self, outbound: Outbound) -> Delivery | None:
        raise Unverifiable("SMTP cannot be asked whether it accepted a message")
