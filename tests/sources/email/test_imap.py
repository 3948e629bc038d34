"""ImapFolderSource against a real Dovecot (tests/fixtures/dovecot.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import EmailSourceSettings
from monitor.sources.base import PermanentSourceError, Source, TransientSourceError
from monitor.sources.email.imap import ImapFolderSource, from_settings, imap_utf7
from tests.fixtures.dovecot import DovecotServer, ImapAccount
from tests.paths import EMAILS

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


def eml(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def simple(n: int, sender: str = "customer@example.com") -> bytes:
    return (
        f"From: Customer {n} <{sender}>\r\nTo: support@shop.example\r\n"
        f"Subject: complaint {n}\r\nMessage-ID: <simple-{n}@example.com>\r\n"
        f"Date: Mon, 03 Jun 2024 08:00:00 +0000\r\n\r\nThis is complaint number {n}.\r\n"
    ).encode()


def source(account: ImapAccount, folder: str = "INBOX", **kw: object) -> ImapFolderSource:
    return ImapFolderSource(account.settings((folder,)), folder, account.password, **kw)  # type: ignore[arg-type]


def test_first_poll_gets_everything_then_nothing_then_only_the_new_one(
    imap_account: ImapAccount,
) -> None:
    uids = [
        imap_account.deliver(eml(n))
        for n in ("multipart_alternative.eml", "html_only.eml", "latin1_qp.eml")
    ]
    src: Source = source(imap_account)
    assert src.name == "email:INBOX"

    first = src.fetch(None, now=NOW)
    assert [m.external_id for m in first.mentions] == [
        "c0ffee-4471@mail.example.org",
        "html-only-1@mailer.example.net",
        "latin1-qp-5@example.fr",
    ]
    validity = imap_account.uidvalidity()
    assert first.next_cursor == {"uidvalidity": validity, "last_uid": max(uids)}
    assert first.mentions[0].raw == eml("multipart_alternative.eml").replace(b"\n", b"\r\n")
    assert first.mentions[0].extra["uid"] == str(uids[0])
    assert "SCRIPT LEAK" not in first.mentions[1].text

    # "UID n:*" still matches the highest UID: nothing new must mean nothing.
    second = src.fetch(first.next_cursor, now=NOW)
    assert second.mentions == [] and second.quarantined == []
    assert second.next_cursor == first.next_cursor

    new_uid = imap_account.deliver(eml("reply_thread_1.eml"))
    third = src.fetch(second.next_cursor, now=NOW)
    assert [m.external_id for m in third.mentions] == ["thread-start-1@customer.example"]
    assert third.next_cursor == {"uidvalidity": validity, "last_uid": new_uid}


def test_messages_stay_unseen_and_existing_flags_are_untouched(imap_account: ImapAccount) -> None:
    a = imap_account.deliver(simple(1))
    b = imap_account.deliver(simple(2), flags="\\Flagged")
    batch = source(imap_account).fetch(None, now=NOW)
    assert len(batch.mentions) == 2
    flags = imap_account.flags()
    assert "\\Seen" not in flags[a] and "\\Seen" not in flags[b]
    assert "\\Flagged" in flags[b]
    assert "\\Deleted" not in flags[a] | flags[b]
    # Already-read mail is still picked up: the cursor decides, not UNSEEN.
    c = imap_account.deliver(simple(3), flags="\\Seen")
    again = source(imap_account).fetch(batch.next_cursor, now=NOW)
    assert [m.extra["uid"] for m in again.mentions] == [str(c)]


def test_uidvalidity_change_rescans_the_folder(imap_account: ImapAccount) -> None:
    imap_account.create_folder("Support")
    imap_account.deliver(simple(1), folder="Support")
    imap_account.deliver(simple(2), folder="Support")
    src = source(imap_account, "Support")
    first = src.fetch(None, now=NOW)
    assert len(first.mentions) == 2

    new_validity = imap_account.recreate_folder("Support")
    imap_account.deliver(simple(1), folder="Support")  # UID 1 again, new validity
    imap_account.deliver(simple(3), folder="Support")
    second = src.fetch(first.next_cursor, now=NOW)
    assert second.next_cursor["uidvalidity"] == new_validity != first.next_cursor["uidvalidity"]
    assert second.next_cursor["last_uid"] == 2
    # Everything is read again; ingest dedupes simple-1 by Message-ID.
    assert [m.external_id for m in second.mentions] == [
        "simple-1@example.com",
        "simple-3@example.com",
    ]


def test_batch_limit_and_chunks_continue_next_poll(imap_account: ImapAccount) -> None:
    for n in range(7):
        imap_account.deliver(simple(n))
    src = source(imap_account, chunk_size=2, max_per_poll=5)
    first = src.fetch(None, now=NOW)
    assert [m.external_id for m in first.mentions] == [f"simple-{n}@example.com" for n in range(5)]
    assert first.next_cursor["last_uid"] == 5
    second = src.fetch(first.next_cursor, now=NOW)
    assert [m.external_id for m in second.mentions] == [
        "simple-5@example.com",
        "simple-6@example.com",
    ]
    assert src.fetch(second.next_cursor, now=NOW).mentions == []


def test_malformed_message_is_quarantined_and_the_rest_pass(imap_account: ImapAccount) -> None:
    imap_account.deliver(simple(1))
    bad_uid = imap_account.deliver(eml("no_sender.eml"))
    imap_account.deliver(simple(2))
    batch = source(imap_account).fetch(None, now=NOW)
    assert [m.external_id for m in batch.mentions] == [
        "simple-1@example.com",
        "simple-2@example.com",
    ]
    assert len(batch.quarantined) == 1
    q = batch.quarantined[0]
    assert q.source == "email:INBOX"
    assert q.external_id == str(bad_uid)
    assert "no sender" in q.reason
    assert q.raw == eml("no_sender.eml").replace(b"\n", b"\r\n")
    assert batch.next_cursor["last_uid"] == 3  # the bad message does not block the cursor


def test_own_addresses_are_skipped(imap_account: ImapAccount) -> None:
    for n in (1, 2, 3):
        imap_account.deliver(eml(f"reply_thread_{n}.eml"))
    settings = imap_account.settings(own_addresses=("Support@Shop.Example",))
    batch = ImapFolderSource(settings, "INBOX", imap_account.password).fetch(None, now=NOW)
    assert [m.author.handle for m in batch.mentions] == ["jane@customer.example"] * 2
    assert batch.next_cursor["last_uid"] == 3
    follow_up = batch.mentions[1]
    assert follow_up.thread_refs == (
        "thread-start-1@customer.example",
        "reply-from-us-2@shop.example",
    )
    assert follow_up.text_for_scoring.endswith("I want a refund now.")


def test_wrong_password_is_permanent(imap_account: ImapAccount) -> None:
    src = ImapFolderSource(imap_account.settings(), "INBOX", "not-the-password")
    with pytest.raises(PermanentSourceError, match="login"):
        src.fetch(None, now=NOW)


def test_missing_password_is_permanent(imap_account: ImapAccount) -> None:
    src = ImapFolderSource(imap_account.settings(), "INBOX", None)
    with pytest.raises(PermanentSourceError, match="TEST_IMAP_PASSWORD"):
        src.fetch(None, now=NOW)


def test_missing_folder_is_permanent_and_names_it(imap_account: ImapAccount) -> None:
    with pytest.raises(PermanentSourceError, match="No Such Folder"):
        source(imap_account, "No Such Folder").fetch(None, now=NOW)


def test_unreachable_port_is_transient(imap_account: ImapAccount) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        settings = imap_account.settings(port=port)
        with pytest.raises(TransientSourceError):
            ImapFolderSource(settings, "INBOX", imap_account.password).fetch(None, now=NOW)


def test_silent_server_times_out_as_transient(imap_account: ImapAccount) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # accepts the TCP connection but never greets
        settings = imap_account.settings(port=s.getsockname()[1], timeout_seconds=0.3)
        with pytest.raises(TransientSourceError):
            ImapFolderSource(settings, "INBOX", imap_account.password).fetch(None, now=NOW)


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_tls_modes_with_the_self_signed_certificate(imap_account: ImapAccount, tls: str) -> None:
    imap_account.deliver(simple(1))
    src = ImapFolderSource(imap_account.settings(tls=tls), "INBOX", imap_account.password)
    assert [m.external_id for m in src.fetch(None, now=NOW).mentions] == ["simple-1@example.com"]


def test_untrusted_certificate_is_permanent(imap_account: ImapAccount) -> None:
    settings = imap_account.settings(tls="ssl", ca_file=None)  # system store: not trusted
    with pytest.raises(PermanentSourceError, match="certificate"):
        ImapFolderSource(settings, "INBOX", imap_account.password).fetch(None, now=NOW)


def test_from_settings_builds_one_source_per_folder(
    imap_account: ImapAccount, dovecot_server: DovecotServer
) -> None:
    imap_account.create_folder("Complaints")
    imap_account.deliver(simple(1), folder="Complaints")
    settings = imap_account.settings(("INBOX", "Complaints"), tls="ssl")
    secrets = {"TEST_IMAP_PASSWORD": imap_account.password}
    sources = from_settings(settings, secrets.get)
    assert [s.name for s in sources] == ["email:INBOX", "email:Complaints"]
    assert sources[0].fetch(None, now=NOW).mentions == []
    assert len(sources[1].fetch(None, now=NOW).mentions) == 1
    # No password in the environment: building works, polling says what is missing.
    (unset,) = from_settings(EmailSourceSettings(host="127.0.0.1"), {}.get)
    with pytest.raises(PermanentSourceError, match="IMAP_PASSWORD"):
        unset.fetch(None, now=NOW)


def test_dovecot_runs_unprivileged(dovecot_server: DovecotServer) -> None:
    status = Path(f"/proc/{dovecot_server.pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert "0" not in uids


def test_non_ascii_folder_and_internaldate_fallback(imap_account: ImapAccount) -> None:
    folder = "Réclamations & Co"
    when = datetime(2024, 6, 9, 22, 0, 5, tzinfo=UTC)
    imap_account.deliver(eml("mislabelled_charset.eml"), folder=folder, when=when)
    (m,) = source(imap_account, folder).fetch(None, now=NOW).mentions
    assert m.created_at == when  # no Date header: the server's INTERNALDATE
    assert m.extra["folder"] == folder
    assert imap_utf7(folder) == "R&AOk-clamations &- Co"


def test_first_poll_now_takes_the_last_day_and_never_the_older_mail(
    imap_account: ImapAccount,
) -> None:
    old = imap_account.deliver(simple(1), when=NOW - timedelta(days=3))
    recent = imap_account.deliver(simple(2), when=NOW - timedelta(hours=2))
    older_but_later = imap_account.deliver(simple(3), when=NOW - timedelta(days=40))
    src = ImapFolderSource(imap_account.settings(), "INBOX", imap_account.password)
    first = src.fetch(None, now=NOW)
    assert [m.extra["uid"] for m in first.mentions] == [str(recent)]
    assert first.next_cursor["last_uid"] == older_but_later  # the old ones stay unread
    assert "since" not in first.next_cursor
    assert src.fetch(first.next_cursor, now=NOW).mentions == []
    assert old < recent < older_but_later


def test_first_poll_from_a_date_or_everything(imap_account: ImapAccount) -> None:
    imap_account.deliver(simple(1), when=datetime(2024, 5, 20, 9, 0, tzinfo=UTC))
    imap_account.deliver(simple(2), when=datetime(2024, 6, 2, 9, 0, tzinfo=UTC))
    dated = imap_account.settings(first_poll={"start": "2024-06-01"})
    got = ImapFolderSource(dated, "INBOX", imap_account.password).fetch(None, now=NOW)
    assert [m.external_id for m in got.mentions] == ["simple-2@example.com"]
    everything = imap_account.settings(first_poll={"start": "all"})
    got = ImapFolderSource(everything, "INBOX", imap_account.password).fetch(None, now=NOW)
    assert len(got.mentions) == 2


def test_a_long_first_poll_keeps_its_start_until_it_has_caught_up(
    imap_account: ImapAccount,
) -> None:
    imap_account.deliver(simple(1), when=NOW - timedelta(days=9))
    for n in range(2, 5):
        imap_account.deliver(simple(n), when=NOW - timedelta(hours=n))
    imap_account.deliver(simple(5), when=NOW - timedelta(days=9))
    src = ImapFolderSource(imap_account.settings(), "INBOX", imap_account.password, max_per_poll=2)
    first = src.fetch(None, now=NOW)
    assert len(first.mentions) == 2 and "since" in first.next_cursor
    second = src.fetch(first.next_cursor, now=NOW + timedelta(minutes=1))
    assert [m.external_id for m in second.mentions] == ["simple-4@example.com"]
    assert "since" not in second.next_cursor  # caught up: the old 5th is skipped for good
