"""SMTP AUTH XOAUTH2 against aiosmtpd offering only XOAUTH2, tokens from the fake server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from responders.base import PermanentError
from responders.email import BearerTokens, SmtpOptions, SmtpResponder
from tests.fakes.oauth_server import OAuthState
from tests.fixtures.smtp import SmtpSink
from tests.responders.test_email import outbound

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@dataclass
class Tokens:
    server: OAuthState
    user: str
    current: str | None = None
    rejections: int = 0
    issued: list[str] = field(default_factory=list)

    def token(self) -> str:
        if self.current is None:
            self.current = self.server.issue(self.user, "smtp")["access_token"]
            self.issued.append(self.current)
        return self.current

    def rejected(self) -> None:
        self.rejections += 1
        self.current = None

    def bearer(self) -> BearerTokens:
        return BearerTokens(token=self.token, rejected=self.rejected)


def responder(sink: SmtpSink, tokens: Tokens, user: str = "desk@example.com") -> SmtpResponder:
    options = SmtpOptions(
        host=sink.host,
        port=sink.port,
        from_address="desk@example.com",
        tls="none",
        username=user,
        oauth=tokens.bearer(),
    )
    return SmtpResponder(options, clock=lambda: NOW)


def test_reply_is_sent_after_xoauth2(smtp_sink_oauth: SmtpSink, oauth_server: OAuthState) -> None:
    tokens = Tokens(oauth_server, "desk@example.com")
    assert responder(smtp_sink_oauth, tokens).send(outbound()).external_id
    assert smtp_sink_oauth.oauth_logins == ["desk@example.com"]
    assert len(smtp_sink_oauth.messages) == 1 and tokens.rejections == 0


def test_a_stale_token_is_replaced_once(
    smtp_sink_oauth: SmtpSink, oauth_server: OAuthState
) -> None:
    tokens = Tokens(oauth_server, "desk@example.com")
    tokens.token()
    oauth_server.revoke("desk@example.com")  # the cached token dies; a new one is issued
    responder(smtp_sink_oauth, tokens).send(outbound())
    assert tokens.rejections == 1 and len(tokens.issued) == 2
    assert len(smtp_sink_oauth.messages) == 1


def test_a_token_for_the_wrong_account_is_permanent(
    smtp_sink_oauth: SmtpSink, oauth_server: OAuthState
) -> None:
    tokens = Tokens(oauth_server, "other@example.com")
    with pytest.raises(PermanentError, match="authentication refused"):
        responder(smtp_sink_oauth, tokens).send(outbound())
    assert smtp_sink_oauth.messages == [] and tokens.rejections == 2
