"""monitor.sources.email.mime on hand-written messages in tests/emails/."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from monitor.mentions import Attachment, Channel, IdentityKind, normalise_subject
from monitor.sources.email.mime import (
    MalformedEmail,
    decode_bytes,
    html_to_text,
    parse_email,
    strip_quoted_and_signature,
    to_mention,
)
from tests.paths import EMAILS

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


def eml(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def mention(name: str, **kw: object):  # type: ignore[no-untyped-def]
    return to_mention(eml(name), folder="INBOX", uid=7, now=NOW, **kw)  # type: ignore[arg-type]


def test_multipart_alternative_prefers_plain_text_and_decodes_headers() -> None:
    m = mention("multipart_alternative.eml")
    assert m.channel is Channel.EMAIL
    assert m.external_id == "c0ffee-4471@mail.example.org"
    assert m.author.kind is IdentityKind.EMAIL
    assert m.author.handle == "zoe.martin@example.org"
    assert m.author.username == "Zoe.Martin@Example.ORG"
    assert m.author.name == "Zoë Martín"
    assert m.subject == "Refund still not received – order 4471"
    assert m.created_at == datetime(2024, 6, 4, 7, 15, 42, tzinfo=UTC)
    assert "59,90 € is still\nnot on my card" in m.text
    assert "HTML VERSION" not in m.text
    assert m.public is False
    assert m.raw == eml("multipart_alternative.eml")
    assert m.extra == {
        "folder": "INBOX",
        "uid": "7",
        "to": "support@shop.example",
        "cc": "billing@shop.example",
    }


def test_html_only_drops_script_style_and_head_and_keeps_link_text() -> None:
    m = mention("html_only.eml")
    for leak in ("SCRIPT LEAK", "STYLE LEAK", "SECRET TITLE", "alert(", "color: red", "<p>"):
        assert leak not in m.text
    assert "You charged me £12 & then again £12 — see the statement." in m.text
    assert "https://bank.example" not in m.text
    assert "- first charge\n- second charge" in m.text
    assert "Café <not a tag>" in m.text
    assert m.text.startswith("Charged twice\n")


def test_latin1_quoted_printable_body_and_rfc2047_headers() -> None:
    m = mention("latin1_qp.eml")
    assert m.author.name == "François Lévesque"
    assert m.subject == "Commande reçue à la place"
    # Declared ISO-8859-1 but uses 0x80 for € (windows-1252), as real mailers do.
    assert "crème brûlée à 8,50 € et reçu" in m.text
    assert "Très déçu. Où est mon remboursement ?" in m.text
    assert m.created_at == datetime(2024, 6, 8, 12, 20, tzinfo=UTC)


def test_reply_thread_ids_and_scoring_text() -> None:
    first, follow_up = mention("reply_thread_1.eml"), mention("reply_thread_3.eml")
    assert first.in_reply_to is None and first.thread_refs == ()
    assert follow_up.in_reply_to == "reply-from-us-2@shop.example"
    assert follow_up.thread_refs == (
        "thread-start-1@customer.example",
        "reply-from-us-2@shop.example",
    )
    assert (
        normalise_subject(follow_up.subject) == normalise_subject(first.subject) == "broken kettle"
    )
    # The full original is kept; scoring sees only the customer's new words.
    assert "> Hi Jane" in follow_up.text and "Customer since 2019" in follow_up.text
    assert follow_up.text_for_scoring == (
        "It has been four days and still no replacement. This is ridiculous.\nI want a refund now."
    )
    assert follow_up.scoring_text() == follow_up.text_for_scoring


def test_attachments_are_recorded_not_stored() -> None:
    m = mention("attachment.eml")
    pdf = base64.b64decode(
        "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls"
        "ZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg=="
    )
    assert m.attachments == (
        Attachment(filename="receipt.pdf", content_type="application/pdf", size=len(pdf)),
        Attachment(filename="reçu photo.png", content_type="image/png", size=70),
    )
    assert m.text == "The parcel arrived crushed, photos and receipt attached."
    assert m.created_at == datetime(2024, 6, 6, 17, 0, tzinfo=UTC)


def test_forwarded_message_is_an_attachment_not_body() -> None:
    inner = b"From: old@example.com\r\nSubject: old\r\n\r\nINNER TEXT\r\n"
    raw = (
        b"From: a@example.com\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--b--\r\n"
    )
    m = to_mention(raw, folder="INBOX", uid=1, now=NOW)
    assert m.text == "See below."
    (att,) = m.attachments
    assert att.content_type == "message/rfc822" and att.filename == "forwarded message"
    assert att.size >= len(b"INNER TEXT")


def test_unknown_charset_and_raw_8bit_header_do_not_crash() -> None:
    m = mention("broken_charset.eml")
    assert m.text == "Die Lieferung kam nie an. Größe 42, Farbe grün."
    assert m.subject == "Ärger mit der Lieferung"
    assert m.created_at == NOW  # "Date: not a date at all" -> now


def test_mislabelled_charset_and_missing_message_id() -> None:
    internal = datetime(2024, 6, 9, 22, 0, tzinfo=UTC)
    m = mention("mislabelled_charset.eml", internal_date=internal)
    assert m.text == "Ma commande est arrivée cassée, c'est inadmissible."
    assert m.created_at == internal  # no Date header -> INTERNALDATE
    again = mention("mislabelled_charset.eml", internal_date=internal)
    assert m.external_id == again.external_id  # synthesised, stable
    assert m.external_id.endswith("@synthesised.invalid")
    assert m.extra["message_id_synthesised"] == "true"


@pytest.mark.parametrize(
    ("name", "reason"),
    [("no_sender.eml", "no sender"), ("not_a_message.bin", "not an RFC 822 message")],
)
def test_unusable_messages_raise_malformed_email(name: str, reason: str) -> None:
    with pytest.raises(MalformedEmail, match=reason):
        mention(name)


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\x01\x02garbage"])
def test_empty_and_garbage_bytes_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedEmail):
        to_mention(raw, folder="INBOX", uid=1, now=NOW)


def test_large_bodies_are_truncated_with_a_marker() -> None:
    body = ("All work and no refund. " * 200).encode()
    raw = b"From: a@example.com\r\nSubject: long\r\n\r\n" + body
    m = to_mention(raw, folder="INBOX", uid=1, now=NOW, max_body_bytes=1024)
    assert len(m.text.encode()) < 1024 + 120
    assert m.text.endswith(
        f"[… message truncated: the body was {len(body.strip())} bytes; the original is kept]"
    )
    assert m.extra["truncated"] == "true"
    assert m.raw == raw


def test_future_date_falls_back_to_now() -> None:
    raw = b"From: a@example.com\r\nDate: Fri, 01 Jan 2100 00:00:00 +0000\r\n\r\nhi\r\n"
    assert parse_email(raw, now=NOW).date == NOW


def test_naive_date_is_read_as_utc() -> None:
    raw = b"From: a@example.com\r\nDate: Mon, 03 Jun 2024 08:00:00 -0000\r\n\r\nhi\r\n"
    assert parse_email(raw, now=NOW).date == datetime(2024, 6, 3, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("Größe".encode(), "utf-8", "Größe"),
        ("Größe".encode("latin-1"), "iso-8859-1", "Größe"),
        ("€5".encode("cp1252"), "iso-8859-1", "€5"),
        ("Größe".encode(), "x-bogus", "Größe"),
        ("Größe".encode("latin-1"), "utf-8", "Größe"),
        ("Größe".encode(), None, "Größe"),
        (b"ok \xff\xfe", "us-ascii", "ok ÿþ"),
        ("Größe".encode(), "zlib", "Größe"),  # a bytes-to-bytes codec is not a charset
        ("Größe".encode(), "rot13", "Größe"),
    ],
)
def test_decode_bytes_fallbacks(data: bytes, declared: str | None, expected: str) -> None:
    assert decode_bytes(data, declared) == expected


def test_html_to_text_unclosed_script_and_entities() -> None:
    assert html_to_text("<p>a &amp; b</p><script>never closed") == "a & b"
    assert html_to_text("<head><title>t</title><body>x<br>y") == "x\ny"
    assert html_to_text("<pre>keep\nthis</pre>") == "keep\nthis"


@pytest.mark.parametrize(
    "text",
    [
        "Still broken!\n\n-----Original Message-----\nFrom: Support\nSent: Monday\nold text",
        "Still broken!\n\nFrom: Shop Support <support@shop.example>\nSent: Monday, June 3\n"
        "To: Jane\nSubject: RE: kettle\n\nold text",
        "Still broken!\n________________________________\nFrom: Support\nold text",
        "Still broken!\n\nOn Mon, Jun 3, 2024 at 10:30 AM Support <s@shop.example> wrote:\n"
        "old text",
        "Still broken!\n\nLe lun. 3 juin 2024 à 10:30, Support a écrit :\nold text",
        "Still broken!\n\nAm 03.06.2024 um 10:30 schrieb Support:\nold text",
        "Still broken!\n-- \nJane Doe\nold text",
        "Still broken!\n\nSent from my Galaxy\n\nold text",
        "Still broken!\n\nGet Outlook for iOS\nold text",
        "> old text\n>> older text\nStill broken!",
    ],
)
def test_strip_quoted_and_signature(text: str) -> None:
    assert strip_quoted_and_signature(text) == "Still broken!"


def test_strip_keeps_inline_answers_and_ordinary_words() -> None:
    text = (
        "> Did you try turning it off?\nYes, twice.\n> And?\nOn Monday nobody wrote back.\n"
        "From: my point of view this is unacceptable."
    )
    assert strip_quoted_and_signature(text) == (
        "Yes, twice.\nOn Monday nobody wrote back.\nFrom: my point of view this is unacceptable."
    )
