"""Polling under faults: crashes, rate limits, back-off and competing pollers."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, func, select

from monitor.db import make_sessionmaker
from monitor.ingest.polling import poll_source
from monitor.ingest.service import IngestOptions
from monitor.models import Mention, Quarantine, SourceCursor
from monitor.priority.service import Scorer
from monitor.sources.base import PermanentSourceError, RateLimited, TransientSourceError
from monitor.storage import leases
from tests.factories import T0, later
from tests.factories.mentions import ListSource, tweet

OPTS = IngestOptions()


def stored_ids(engine: Engine) -> list[str]:
    with make_sessionmaker(engine)() as s:
        return sorted(s.scalars(select(Mention.external_id)), key=int)


def cursor(engine: Engine, name: str) -> SourceCursor | None:
    with make_sessionmaker(engine)() as s:
        return s.get(SourceCursor, name)


def poll(engine: Engine, source: ListSource, scorer: Scorer, now=None, **kw):
    return poll_source(
        make_sessionmaker(engine),
        source,
        now=now or later(hours=1),
        scorer=scorer,
        options=OPTS,
        poll_seconds=60,
        **kw,
    )


def test_crash_between_fetch_and_commit_loses_and_duplicates_nothing(
    committed_engine: Engine, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = ListSource("list", [tweet(i, f"@acme problem {i}") for i in range(1, 8)], page_size=5)
    import monitor.ingest.polling as polling

    real = polling.ingest_batch

    def crash(*args, **kwargs):
        real(*args, **kwargs)  # everything is written ... then the process "dies"
        raise SystemExit("killed before commit")

    monkeypatch.setattr(polling, "ingest_batch", crash)
    with pytest.raises(SystemExit):
        poll(committed_engine, src, scorer)
    assert stored_ids(committed_engine) == []
    row = cursor(committed_engine, "list")
    assert row is None or row.cursor is None
    monkeypatch.setattr(polling, "ingest_batch", real)
    # The lock died with the poll: the next one proceeds at once (a lease row made it
    # wait out its 5 minutes). A real kill -9: tests/flows/test_poll_kill.py.
    assert poll(committed_engine, src, scorer).status == "ok"
    assert poll(committed_engine, src, scorer).status == "ok"
    assert stored_ids(committed_engine) == [str(i) for i in range(1, 8)]
    assert cursor(committed_engine, "list").cursor == {"pos": 7}


def test_rate_limit_skips_until_reset(committed_engine: Engine, scorer: Scorer) -> None:
    src = ListSource("list", [tweet(1, "@acme hi")])
    reset = later(hours=1, minutes=15)
    src.fail_with = RateLimited("429", reset_at=reset)
    assert poll(committed_engine, src, scorer).status == "rate_limited"
    row = cursor(committed_engine, "list")
    assert row.rate_limit_reset_at == reset and row.rate_limit_remaining == 0
    fetches = src.fetches
    r = poll(committed_engine, src, scorer, now=later(hours=1, minutes=5), ignore_backoff=True)
    assert r.status == "rate_limited" and src.fetches == fetches  # did not even ask
    assert poll(committed_engine, src, scorer, now=reset + timedelta(seconds=1)).status == "ok"
    assert stored_ids(committed_engine) == ["1"]


def test_transient_errors_back_off_exponentially(committed_engine: Engine, scorer: Scorer) -> None:
    src = ListSource("list", [tweet(1, "@acme hi")])
    now = later(hours=1)
    src.fail_with = TransientSourceError("503")
    assert poll(committed_engine, src, scorer, now=now).status == "failed"
    first = cursor(committed_engine, "list").next_poll_at - now
    src.fail_with = TransientSourceError("timeout")
    now2 = now + first
    assert poll(committed_engine, src, scorer, now=now2).status == "failed"
    second = cursor(committed_engine, "list").next_poll_at - now2
    assert second == 2 * first
    assert poll(committed_engine, src, scorer, now=now2 + timedelta(seconds=1)).status == "skipped"
    assert poll(committed_engine, src, scorer, now=now2 + second).status == "ok"
    row = cursor(committed_engine, "list")
    assert row.consecutive_failures == 0 and row.last_error is None


def test_permanent_error_is_recorded_for_the_health_page(
    committed_engine: Engine, scorer: Scorer
) -> None:
    src = ListSource("list", [])
    src.fail_with = PermanentSourceError("401 Unauthorized: check X_BEARER_TOKEN")
    assert poll(committed_engine, src, scorer).status == "failed"
    assert "401" in (cursor(committed_engine, "list").last_error or "")


def test_lease_is_exclusive_and_expires(committed_engine: Engine) -> None:
    """Leases still throttle the periodic re-score across processes."""
    sessions = make_sessionmaker(committed_engine)
    ttl = timedelta(minutes=5)
    with sessions.begin() as s:
        assert leases.acquire(s, "job", holder="a", now=T0, ttl=ttl)
    with sessions.begin() as s:
        assert not leases.acquire(s, "job", holder="b", now=T0 + timedelta(minutes=1), ttl=ttl)
        assert leases.acquire(s, "job", holder="a", now=T0 + timedelta(minutes=1), ttl=ttl)
    with sessions.begin() as s:
        assert leases.acquire(s, "job", holder="b", now=T0 + timedelta(minutes=7), ttl=ttl)
        assert leases.holds(s, "job", holder="b", now=T0 + timedelta(minutes=7))


def test_two_pollers_at_once_no_duplicate_no_gap(committed_engine: Engine, scorer: Scorer) -> None:
    """Two pollers (own engines, as two processes would have) race over one source."""
    items = [tweet(i, f"@acme order {i} late", user_id=str(i % 9 + 1)) for i in range(1, 121)]
    src_a = ListSource("shared", items, page_size=7)
    src_b = ListSource("shared", items, page_size=7)
    from monitor.db import make_engine

    errors: list[BaseException] = []
    results: list[str] = []

    def run(src: ListSource) -> None:
        eng = make_engine(committed_engine.url.render_as_string(hide_password=False))
        try:
            for step in range(60):
                r = poll(eng, src, scorer, now=later(hours=1, minutes=step * 6))
                results.append(r.status)
        except BaseException as exc:
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [
        threading.Thread(target=run, args=(src_a,)),
        threading.Thread(target=run, args=(src_b,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    # The loser of each race skips at once, so the race may end before the source is
    # read to the end: finish it, then nothing may be missing (a gap) or twice.
    for step in range(30):
        last = poll(committed_engine, src_a, scorer, now=later(hours=7, minutes=step))
        if last.status == "ok" and last.result.fetched == 0:
            break
    assert stored_ids(committed_engine) == [str(i) for i in range(1, 121)]
    with make_sessionmaker(committed_engine)() as s:
        assert s.scalar(select(func.count()).select_from(Mention)) == 120
    assert "ok" in results


def test_healthz_reports_each_sources_state(committed_engine: Engine, scorer: Scorer) -> None:
    from fastapi.testclient import TestClient

    from monitor.config import load_config
    from monitor.web.app import create_app

    ok_src = ListSource("x:mentions", [tweet(1, "@acme hi")])
    bad_src = ListSource("email:INBOX", [])
    bad_src.fail_with = TransientSourceError("connection refused")
    poll(committed_engine, ok_src, scorer)
    poll(committed_engine, bad_src, scorer)
    app = create_app(
        load_config(None, environ={}, require_file=False), committed_engine, session_secret="s" * 40
    )
    with TestClient(app) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    by_name = {s["source"]: s for s in body["sources"]}
    assert by_name["x:mentions"]["fetched_total"] == 1
    assert by_name["x:mentions"]["consecutive_failures"] == 0
    assert "connection refused" in by_name["email:INBOX"]["last_error"]
    assert by_name["email:INBOX"]["next_poll_at"] is not None


def test_a_batch_that_cannot_be_stored_is_recorded_and_retried(
    committed_engine: Engine, scorer: Scorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import monitor.ingest.polling as polling

    src = ListSource("list", [tweet(1, "@acme hi")])
    real = polling.ingest_batch

    def broken(*args, **kwargs):
        raise ValueError("value too long for type character varying(1000)")

    monkeypatch.setattr(polling, "ingest_batch", broken)
    r = poll(committed_engine, src, scorer)
    assert r.status == "failed" and not r.ok
    row = cursor(committed_engine, "list")
    assert row.consecutive_failures == 1 and "too long" in (row.last_error or "")
    assert row.cursor is None and row.next_poll_at is not None
    monkeypatch.setattr(polling, "ingest_batch", real)
    # the lease was released: the next poll (after the back-off) stores the batch
    assert poll(committed_engine, src, scorer, now=row.next_poll_at).status == "ok"
    assert stored_ids(committed_engine) == ["1"]


def x_mentions(x_api):
    from monitor.sources.twitter import XMentionsSource

    return XMentionsSource(
        user_id=x_api.brand_id,
        bearer_token=x_api.bearer_token,
        api_base_url=x_api.base_url,
        timeout=5,
    )


def test_x_mentions_that_cannot_be_stored_are_quarantined_and_the_rest_go_in(
    committed_engine: Engine, scorer: Scorer, x_api
) -> None:
    """Issue 12 item 1: a lone surrogate ("\\ud800" is valid JSON) stopped X polling for
    good; a follower count beyond 64 bits made the database refuse the whole batch."""
    carol = x_api.add_user("carol")
    huge = x_api.add_user("huge", followers=2**70)
    first = x_api.mention(carol, "@brand my order is late")
    odd_text = x_api.mention(carol, "@brand half an emoji \ud83d and nothing else")
    refused = x_api.mention(huge, "@brand I count too many followers")
    bad_author = x_api.mention("12\ud800", "@brand from an id that is not text")
    last = x_api.mention(carol, "@brand still waiting")
    src = x_mentions(x_api)

    r = poll(committed_engine, src, scorer)

    assert r.status == "ok", r
    assert (r.result.fetched, r.result.new, r.result.quarantined) == (5, 3, 2)
    with make_sessionmaker(committed_engine)() as s:
        stored = {m.external_id: m for m in s.scalars(select(Mention))}
        kept = {q.external_id: q for q in s.scalars(select(Quarantine))}
        row = s.get(SourceCursor, "x:mentions")
    assert sorted(stored) == sorted([first, odd_text, last])
    assert stored[odd_text].text == "@brand half an emoji \ufffd and nothing else"
    assert b"\\ud83d" in stored[odd_text].raw  # the original, as its JSON escape
    assert set(kept) == {refused, bad_author}
    assert kept[bad_author].reason == "author contains a lone surrogate (not valid Unicode)"
    assert kept[refused].reason.startswith("cannot be stored: ")
    assert b"1180591620717411303424" in kept[refused].raw
    assert row.cursor == {"since_id": last} and row.consecutive_failures == 0
    assert row.quarantined_total == 2 and row.last_success_at is not None
    # the source goes on: the next mention is polled and stored
    later_one = x_api.mention(carol, "@brand hello again")
    assert poll(committed_engine, src, scorer).result.new == 1
    assert later_one in stored_ids(committed_engine)


def test_an_unexpected_failure_is_recorded_shown_and_alerts_the_admins(
    committed_engine: Engine, scorer: Scorer
) -> None:
    from fastapi.testclient import TestClient

    from monitor.config import load_config
    from monitor.ingest.health import FailureAlerts
    from monitor.models import Alert
    from monitor.web.app import create_app

    src = ListSource("x:mentions", [tweet(1, "@acme hi")])
    alerts = FailureAlerts(after=3, channels=())
    now = later(hours=1)

    def fail(step_now):
        src.fail_with = RuntimeError("a bug nobody foresaw")
        return poll(committed_engine, src, scorer, now=step_now, alerts=alerts)

    def alert_count() -> int:
        with make_sessionmaker(committed_engine)() as s:
            return len(s.scalars(select(Alert).where(Alert.kind == "source.failing")).all())

    for _ in range(2):
        r = fail(now)
        assert r.status == "failed" and "RuntimeError: a bug nobody foresaw" in r.detail
        now = cursor(committed_engine, "x:mentions").next_poll_at  # the back-off, no longer
    assert alert_count() == 0
    fail(now)
    assert alert_count() == 1  # the third failure in a row alerts (console: "admins")
    now = cursor(committed_engine, "x:mentions").next_poll_at
    fail(now)
    assert alert_count() == 1  # once per run of failures
    row = cursor(committed_engine, "x:mentions")
    assert row.consecutive_failures == 4 and "a bug nobody foresaw" in row.last_error
    app = create_app(
        load_config(None, environ={}, require_file=False), committed_engine, session_secret="s" * 40
    )
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # /metrics: this host
        health = client.get("/healthz").json()
        metrics = client.get("/metrics").text
    assert health["status"] == "degraded"
    (source,) = health["sources"]
    assert source["state"] == "failing" and source["consecutive_failures"] == 4
    assert source["last_success_at"] is None
    assert 'complaint_monitor_source_consecutive_failures{source="x:mentions"} 4.0' in metrics
    # the lease was released each time: after the back-off the poll succeeds
    ok = poll(committed_engine, src, scorer, now=row.next_poll_at, alerts=alerts)
    assert ok.status == "ok"
    row = cursor(committed_engine, "x:mentions")
    assert row.consecutive_failures == 0 and row.last_success_at == row.updated_at
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        metrics = client.get("/metrics").text
    (last_success,) = (
        s.value
        for f in text_string_to_metric_families(metrics)
        for s in f.samples
        if s.name == "complaint_monitor_source_last_success_timestamp_seconds"
    )
    assert last_success == row.last_success_at.timestamp()
    # a new run of failures alerts again
    now = row.next_poll_at or row.updated_at
    for _ in range(3):
        fail(now)
        now = cursor(committed_engine, "x:mentions").next_poll_at
    assert alert_count() == 2
