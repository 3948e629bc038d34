"""The SMTP responder against aiosmtpd: threading headers, quoting, AUTH, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from responders.base import Outbound, PermanentError, TransientError, Unverifiable
from responders.email import SmtpOptions, SmtpResponder
from tests.fixtures.smtp import SmtpSink

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def outbound(to: str = "dan@example.org", **kw: object) -> Outbound:
    base: dict[str, object] = dict(
        channel="email",
        body="Hi Dan,\n\nI'm sorry the invite never came. I've sent it now.\n\nPriya",
        recipient=to,
        recipient_name="Dan Devlin",
        in_reply_to="<c2@example.org>",
        references=("<c1@example.org>",),
        subject="Slack invite",
        message_id="<reply-1@support.example.com>",
        quoted="Second time asking: where is my Slack invite?\nOrder 4411",
        sender_name="Priya Shah",
        idempotency_key="k1",
    )
    base.update(kw)
    return Outbound(**base)  # type: ignore[arg-type]


def smtp(sink: SmtpSink, **kw: object) -> SmtpResponder:
    opts = dict(host=sink.host, port=sink.port, from_address="support@example.com", tls="none")
    opts.update(kw)
    return SmtpResponder(SmtpOptions(**opts), clock=lambda: NOW)  # type: ignore[arg-type]


def test_threading_headers_sender_name_and_quote(smtp_sink: SmtpSink) -> None:
    delivery = smtp(smtp_sink).send(outbound())
    assert delivery.external_id == "<reply-1@support.example.com>"
    [mail] = smtp_sink.messages
    msg = mail.message
    assert mail.rcpt_tos == ("dan@example.org",)
    assert msg["Message-ID"] == "<reply-1@support.example.com>"
    assert msg["In-Reply-To"] == "<c2@example.org>"
    assert msg["References"].split() == ["<c1@example.org>", "<c2@example.org>"]
    assert msg["From"].addresses[0].display_name == "Priya Shah"
    assert msg["From"].addresses[0].addr_spec == "support@example.com"
    assert msg["Subject"] == "Re: Slack invite"
    assert msg.get_content_type() == "text/plain"
    body = msg.get_content()
    assert body.index("I've sent it now") < body.index("> Second time asking")
    assert "> Order 4411" in body


def test_html_alternative_is_sanitised(smtp_sink: SmtpSink) -> None:
    out = outbound(body="Hi Dan <script>alert(1)</script>, sorry.")
    smtp(smtp_sink, html_alternative=True).send(out)
    msg = smtp_sink.messages[0].message
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<blockquote>" in html


def test_auth(smtp_sink_auth: SmtpSink) -> None:
    good = smtp(smtp_sink_auth, username="mailer", password="s3cret-test-password")
    assert good.send(outbound()).external_id
    bad = smtp(smtp_sink_auth, username="mailer", password="wrong")
    with pytest.raises(PermanentError, match="authentication"):
        bad.send(outbound(message_id="<reply-2@support.example.com>"))
    assert len(smtp_sink_auth.messages) == 1


def test_refused_recipient_is_permanent(smtp_sink_refusing: SmtpSink) -> None:
    with pytest.raises(PermanentError, match="550"):
        smtp(smtp_sink_refusing).send(outbound(to="dan@refused.example"))
    assert smtp_sink_refusing.messages == []


def test_unreachable_server_is_transient_and_smtp_cannot_be_asked(smtp_sink: SmtpSink) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    r = SmtpResponder(
        SmtpOptions(host="127.0.0.1", port=port, from_address="s@x.example", tls="none", timeout=2)
    )
    with pytest.raises(TransientError) as info:
        r.send(outbound())
    assert not info.value.maybe_sent
    with pytest.raises(Unverifiable):
        r.find_sent(outbound())


def test_starttls_required_but_not_offered_is_permanent(smtp_sink: SmtpSink) -> None:
    with pytest.raises(PermanentError):
        smtp(smtp_sink, tls="starttls").send(outbound())
