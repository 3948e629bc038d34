"""IMAP login with SASL XOAUTH2 against a real Dovecot whose oauth2 passdb checks each
token by RFC 7662 introspection at the fake authorization server (no password works)."""

from __future__ import annotations

import imaplib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from monitor.sources.base import NeedsReauthorisation
from monitor.sources.email.imap import ImapFolderSource
from tests.fakes.oauth_server import OAuthState
from tests.fixtures.dovecot import ImapAccount

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MAIL = (
    b"From: Dana <dana@example.com>\r\nTo: support@shop.example\r\nSubject: refund\r\n"
    b"Message-ID: <oauth-1@example.com>\r\nDate: Tue, 01 Dec 2026 08:00:00 +0000\r\n\r\n"
    b"Where is my refund?\r\n"
)


@dataclass
class IssuedTokens:
    """Tokens straight from the fake server (the token store is tested on its own)."""

    server: OAuthState
    username: str
    current: str | None = None
    rejections: int = 0
    issued: list[str] = field(default_factory=list)

    def token(self, *, now: datetime) -> str:
        if self.current is None:
            self.current = self.server.issue(self.username, "mail")["access_token"]
            self.issued.append(self.current)
        return self.current

    def rejected(self, *, now: datetime) -> None:
        self.rejections += 1
        self.current = None


def oauth_source(account: ImapAccount, tokens: IssuedTokens) -> ImapFolderSource:
    settings = account.settings(auth="oauth2", first_poll={"start": "all"})
    return ImapFolderSource(settings, "INBOX", None, tokens=tokens)


def test_xoauth2_login_reads_the_mailbox(
    oauth_imap_account: ImapAccount, oauth_server: OAuthState
) -> None:
    oauth_imap_account.deliver(MAIL)
    tokens = IssuedTokens(oauth_server, oauth_imap_account.username)
    batch = oauth_source(oauth_imap_account, tokens).fetch(None, now=NOW)
    assert [m.external_id for m in batch.mentions] == ["oauth-1@example.com"]
    assert tokens.rejections == 0
    assert oauth_server.introspections >= 1  # Dovecot really asked the authorization server


def test_an_expired_token_is_refreshed_once_and_the_poll_succeeds(
    oauth_imap_account: ImapAccount, oauth_server: OAuthState
) -> None:
    oauth_imap_account.deliver(MAIL)
    tokens = IssuedTokens(oauth_server, oauth_imap_account.username)
    tokens.token(now=NOW)
    oauth_server.expire_access_tokens()  # the cached token is now refused by Dovecot
    batch = oauth_source(oauth_imap_account, tokens).fetch(None, now=NOW)
    assert len(batch.mentions) == 1
    assert tokens.rejections == 1 and len(tokens.issued) == 2


def test_a_revoked_grant_is_needs_reauthorisation_not_a_crash(
    oauth_imap_account: ImapAccount, oauth_server: OAuthState
) -> None:
    tokens = IssuedTokens(oauth_server, "someone-else@example.com")  # token for another user
    with pytest.raises(NeedsReauthorisation, match="connect the mailbox again"):
        oauth_source(oauth_imap_account, tokens).fetch(None, now=NOW)
    assert tokens.rejections == 2


def test_the_oauth_server_refuses_a_password(oauth_imap_account: ImapAccount) -> None:
    imap = imaplib.IMAP4(oauth_imap_account.server.host, oauth_imap_account.server.port)
    with pytest.raises(imaplib.IMAP4.error):
        imap.login(oauth_imap_account.username, "any password")
    imap.logout()
