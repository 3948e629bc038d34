"""/healthz and /metrics over HTTP: prometheus-client histograms in a registry per app,
and the ops gate (allow-list or bearer token, 404 for everyone else)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from monitor.config import LoadedConfig, OpsSettings
from monitor.scheduler import JobSpec, _guarded
from monitor.web.app import create_app
from tests.fixtures.web import SECRET, web_settings

pytestmark = pytest.mark.db


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_are_real_histograms_labelled_by_route_template(app_client: Any) -> None:
    app_client.get("/api/v1/cases/7")  # 401, no token
    app_client.get("/healthz")
    found = families(app_client.get("/metrics").text)
    latency = found["complaint_monitor_http_request_duration_seconds"]
    assert latency.type == "histogram"
    counts = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in latency.samples
        if s.name.endswith("_count")
    }
    assert counts[("/api/v1/cases/{case_id}", "401")] == 1
    assert counts[("/healthz", "200")] == 1
    assert found["complaint_monitor_job_duration_seconds"].type == "histogram"
    assert found["complaint_monitor_poll_duration_seconds"].type == "histogram"
    # the old gauges keep their names
    assert found["complaint_monitor_cases"].type == "gauge"
    assert "complaint_monitor_mentions_total" in app_client.get("/metrics").text


def test_each_app_has_its_own_registry_and_none_touches_the_global_one(
    committed_engine: Engine, web_config: LoadedConfig
) -> None:
    before = {m.name for m in REGISTRY.collect()}
    one = create_app(web_config, committed_engine, session_secret=SECRET)
    two = create_app(web_config, committed_engine, session_secret=SECRET)
    assert one.state.metrics.registry is not two.state.metrics.registry
    with (
        TestClient(one, client=("127.0.0.1", 1)) as a,
        TestClient(two, client=("127.0.0.1", 1)) as b,
    ):
        for _ in range(3):
            a.get("/healthz")
        count = [
            s.value
            for s in families(b.get("/metrics").text)[
                "complaint_monitor_http_request_duration_seconds"
            ].samples
            if s.name.endswith("_count") and s.labels["route"] == "/healthz"
        ]
        assert count == []  # app two saw none of app one's requests
    assert {m.name for m in REGISTRY.collect()} == before


def test_scheduled_job_and_poll_durations_are_observed(app_client: Any, web_app: Any) -> None:
    metrics = web_app.app.state.metrics

    def fails(now: Any) -> None:
        raise RuntimeError("boom")

    _guarded(JobSpec("poll:x", 60, lambda now: None), metrics.observe_job)()
    _guarded(JobSpec("promises:clock", 60, fails), metrics.observe_job)()
    found = families(app_client.get("/metrics").text)
    jobs = {
        (s.labels["job"], s.labels["outcome"]): s.value
        for s in found["complaint_monitor_job_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    assert jobs == {("poll:x", "ok"): 1, ("promises:clock", "error"): 1}
    polls = [
        (s.labels["source"], s.value)
        for s in found["complaint_monitor_poll_duration_seconds"].samples
        if s.name.endswith("_count")
    ]
    assert polls == [("x", 1)]


@pytest.fixture
def gated(committed_engine: Engine) -> Iterator[Any]:
    ops = OpsSettings(allow_networks=("10.1.0.0/16",), token_env="OPS_TOKEN")
    loaded = web_settings(ops=ops)
    loaded = LoadedConfig(
        settings=loaded.settings, secrets={"OPS_TOKEN": _secret("s3cret-ops")}, path=None
    )
    yield create_app(loaded, committed_engine, session_secret=SECRET)


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


@pytest.mark.parametrize("path", ["/metrics", "/openapi.json", "/docs", "/redoc"])
def test_ops_endpoints_are_off_the_public_listener(gated: Any, path: str) -> None:
    with TestClient(gated, client=("203.0.113.9", 4000)) as outsider:
        assert outsider.get(path).status_code == 404
        assert outsider.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        token = outsider.get(path, headers={"Authorization": "Bearer s3cret-ops"})
        assert token.status_code == 200
        assert outsider.get("/healthz").status_code == 200  # load balancers keep it
    with TestClient(gated, client=("10.1.2.3", 4000)) as inside:
        assert inside.get(path).status_code == 200


def test_by_default_only_this_host_reads_them(app_client: Any, web_app: Any) -> None:
    assert app_client.get("/metrics").status_code == 200  # the fixture's client is 127.0.0.1
    with TestClient(web_app.app, client=("192.0.2.1", 4000)) as remote:
        assert remote.get("/metrics").status_code == 404
        assert remote.get("/openapi.json").status_code == 404
        assert remote.get("/healthz").status_code == 200
