"""The X sources with the brand's OAuth 2.0 grant, the cost meter and the monthly cap,
against the fake X API (its /2/oauth2/token issues and rotates the tokens)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.config.costs import XPrices
from monitor.config.oauth import OAuth2ClientSettings
from monitor.connections.tokens import StoredTokens, store_grant
from monitor.db import make_sessionmaker
from monitor.ingest.health import source_health
from monitor.ingest.polling import poll_source
from monitor.ingest.service import IngestOptions
from monitor.priority.service import Scorer
from monitor.sources.base import MonthlyCapReached, NeedsReauthorisation
from monitor.sources.oauth import OAuthSession, TokenSet
from monitor.sources.twitter import FirstPollRule, XDirectMessagesSource, XMentionsSource
from monitor.storage.secret_box import SecretBox
from monitor.usage.meter import StoredMeter, summary
from tests.fakes.x_api import XApiState

NOW = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
BOX = SecretBox("x-test-secret")


def x_client(x_api: XApiState) -> OAuthSession:
    settings = OAuth2ClientSettings(
        provider="x",
        client_id=x_api.oauth_client_id,
        authorization_url=f"{x_api.base_url}/i/oauth2/authorize",
        token_url=f"{x_api.base_url}/2/oauth2/token",
    )
    return OAuthSession(settings.client("x"), None, timeout=5)


def connected(engine: Engine, x_api: XApiState, *, expires_in: int = 7200) -> StoredTokens:
    issued = x_api.oauth.issue(
        x_api.brand_id, "tweet.read users.read dm.read offline.access", x_api.oauth_client_id
    )
    tokens = TokenSet(
        issued["access_token"], issued["refresh_token"], NOW + timedelta(seconds=expires_in), ""
    )
    with make_sessionmaker(engine).begin() as s:
        store_grant(
            s,
            BOX,
            name="x",
            provider="x",
            tokens=tokens,
            account="@brand",
            account_id=x_api.brand_id,
            now=NOW,
            connected_by="test",
        )
    return StoredTokens(make_sessionmaker(engine), "x", BOX, x_client(x_api))


def mentions(x_api: XApiState, engine: Engine, **kw: object) -> XMentionsSource:
    return XMentionsSource(
        user_id=x_api.brand_id,
        tokens=connected(engine, x_api),
        api_base_url=x_api.base_url,
        timeout=2,
        meter=StoredMeter(make_sessionmaker(engine)),
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.db
def test_mentions_are_read_with_the_user_token_and_metered_as_owned_reads(
    x_api: XApiState, committed_engine: Engine
) -> None:
    carol = x_api.add_user("carol")
    posted = [x_api.mention(carol, f"@brand problem {i}") for i in range(3)]
    src = mentions(x_api, committed_engine)
    batch = src.fetch(None, now=NOW)
    assert [m.external_id for m in batch.mentions] == posted
    auth = x_api.requests_to("mentions")[0].headers["authorization"]
    assert auth.startswith("Bearer ") and auth != f"Bearer {x_api.bearer_token}"
    with Session(committed_engine) as s:
        figures = summary(s, prices=XPrices(), now=NOW).today
    by_kind = {(line.resource, line.owned): line.count for line in figures.lines}
    assert by_kind == {("post", True): 3, ("user", False): 1}
    assert figures.usd == pytest.approx(3 * 0.001 + 0.010)
    # the same posts again today cost nothing more: X counts a resource once per UTC day
    src.fetch(None, now=NOW + timedelta(hours=1))
    with Session(committed_engine) as s:
        assert summary(s, prices=XPrices(), now=NOW).today.count == 4


@pytest.mark.db
def test_an_expiring_token_is_refreshed_at_the_x_token_endpoint(
    x_api: XApiState, committed_engine: Engine
) -> None:
    tokens = connected(committed_engine, x_api, expires_in=60)  # inside the refresh margin
    src = XMentionsSource(user_id=x_api.brand_id, tokens=tokens, api_base_url=x_api.base_url)
    src.fetch(None, now=NOW)
    assert x_api.oauth.grant_types() == ["refresh_token"]


@pytest.mark.db
def test_a_revoked_grant_is_needs_reauthorisation(
    x_api: XApiState, committed_engine: Engine
) -> None:
    src = mentions(x_api, committed_engine)
    x_api.oauth.revoke(x_api.brand_id)  # 401 on the token, then invalid_grant on refresh
    with pytest.raises(NeedsReauthorisation):
        src.fetch(None, now=NOW)


@pytest.mark.db
def test_the_monthly_cap_is_its_own_state_not_a_rate_limit(
    x_api: XApiState, committed_engine: Engine, scorer: Scorer
) -> None:
    src = mentions(x_api, committed_engine)
    x_api.fail_next(429, usage_capped=True, reset_at=int(NOW.timestamp()) + 60)
    with pytest.raises(MonthlyCapReached):
        src.fetch(None, now=NOW)
    x_api.fail_next(429, usage_capped=True)
    result = poll_source(
        make_sessionmaker(committed_engine),
        src,
        now=NOW,
        scorer=scorer,
        options=IngestOptions(),
    )
    assert result.status == "monthly_cap"
    with Session(committed_engine) as s:
        health = {h["source"]: h for h in source_health(s)}["x:mentions"]
    assert health["state"] == "monthly cap reached"
    assert health["next_poll_at"] == (NOW + timedelta(hours=1)).isoformat()


@pytest.mark.db
def test_first_poll_now_takes_only_the_backlog_window(
    x_api: XApiState, committed_engine: Engine
) -> None:
    carol = x_api.add_user("carol")
    old = [x_api.mention(carol, f"@brand old {i}") for i in range(3)]  # fake clock: minutes apart
    cutoff = datetime.fromisoformat(x_api.tweets[old[-1]]["created_at"].replace("Z", "+00:00"))
    recent = x_api.mention(carol, "@brand new one")
    rule = FirstPollRule("now", backlog_hours=0)
    src = mentions(x_api, committed_engine, first_poll=rule)
    batch = src.fetch(None, now=cutoff + timedelta(seconds=30))
    assert [m.external_id for m in batch.mentions] == [recent]
    assert x_api.requests_to("mentions")[0].query["start_time"].endswith("Z")
    assert batch.next_cursor == {"since_id": recent}  # later polls continue from here


@pytest.mark.db
def test_dm_polls_do_not_buy_the_same_events_again(
    x_api: XApiState, committed_engine: Engine
) -> None:
    hana = x_api.add_user("hana")
    for i in range(30):
        x_api.dm(hana, f"message {i}")
    meter = StoredMeter(make_sessionmaker(committed_engine))
    src = XDirectMessagesSource(
        user_id=x_api.brand_id,
        oauth1=None,
        tokens=connected(committed_engine, x_api),
        api_base_url=x_api.base_url,
        meter=meter,
    )
    first = src.fetch(None, now=NOW)
    assert len(first.mentions) == 30 and meter.billed == 31  # 30 events + hana
    quiet = src.fetch(first.next_cursor, now=NOW + timedelta(minutes=1))
    assert quiet.mentions == []
    assert x_api.requests_to("dm_events")[-1].query["max_results"] == "5"
    assert meter.billed == 31  # re-read today: already paid
    x_api.dm(hana, "one more")
    newer = src.fetch(quiet.next_cursor, now=NOW + timedelta(minutes=2))
    assert len(newer.mentions) == 1 and meter.billed == 32
    tomorrow = NOW + timedelta(days=1)
    src.fetch(newer.next_cursor, now=tomorrow)
    assert meter.billed == 32 + 5 + 1  # a new UTC day: at most the small first page again
