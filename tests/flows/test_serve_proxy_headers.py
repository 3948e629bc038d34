"""`complaint-monitor serve` believes X-Forwarded-For only from `server.trusted_proxies`.

uvicorn, left to its defaults, believes the header from 127.0.0.1: a local client that
named a new address on every try was never limited (30 of 30 guesses went through).
These run the real command on a SQLite file and talk to it over loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from monitor.db import make_engine, make_sessionmaker
from monitor.models import SignInFailure
from monitor.storage import migrate
from tests.cli_helpers import REPO
from tests.factories.staff import make_staff
from tests.fixtures.web import PASSWORD, csrf_of

SECRET = "serve-proxy-test-secret-" + "s" * 32


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(tmp_path: Path, trusted: list[str]) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "serve.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    with make_sessionmaker(engine).begin() as s:
        make_staff(s, "alice")
    engine.dispose()
    port = _free_port()
    config = {
        "database": {"url": f"sqlite:///{db}"},
        "server": {
            "host": "127.0.0.1",
            "port": port,
            "secure_cookies": False,
            "run_scheduler": False,
            "trusted_proxies": trusted,
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "COMPLAINT_MONITOR_SECRET": SECRET}
    env.pop("FORWARDED_ALLOW_IPS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(path), "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        yield url, db
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture
def untrusted(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path, [])


@pytest.fixture
def behind_proxy(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from _serve(tmp_path, ["127.0.0.1", "10.9.0.0/16"])


def _try(client: httpx.Client, name: str, password: str, forwarded: str) -> int:
    token = csrf_of(client.get("/login").text)
    form = {"username": name, "password": password, "csrf_token": token}
    r = client.post("/login", data=form, headers={"X-Forwarded-For": forwarded})
    return r.status_code


def _address_keys(db: Path) -> set[str]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with make_sessionmaker(engine)() as s:
            keys = s.scalars(select(SignInFailure.key).where(SignInFailure.key.like("ip:%")))
            return set(keys)
    finally:
        engine.dispose()


def test_rotating_x_forwarded_for_does_not_dodge_the_address_limit(
    untrusted: tuple[str, Path],
) -> None:
    url, db = untrusted
    with httpx.Client(base_url=url, timeout=10) as client:
        codes = [_try(client, f"guess{i}", "wrong", f"198.51.100.{i}") for i in range(22)]
    assert codes[:20] == [401] * 20  # each on a new name: only the address counts them
    assert codes[20:] == [429, 429]  # the 21st and later wait, whatever the header says
    assert _address_keys(db) == {"ip:127.0.0.1"}


def test_a_trusted_proxy_names_the_client(behind_proxy: tuple[str, Path]) -> None:
    url, db = behind_proxy
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(20):  # one client behind the proxy uses up its own bucket...
            assert _try(client, f"someone{i}", "wrong", "203.0.113.7") == 401
        assert _try(client, "other", "wrong", "203.0.113.7") == 429
        # ...another client behind the same proxy is not held up by it; hops through
        # an inner proxy of the trusted network are skipped to the real client.
        assert _try(client, "alice", PASSWORD, "203.0.113.8, 10.9.1.2") == 303
    assert _address_keys(db) == {"ip:203.0.113.7"}
