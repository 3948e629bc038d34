"""`complaint-monitor connect email` as a subprocess against the fake authorization server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from monitor.models import OAuthGrant
from monitor.storage.secret_box import SecretBox
from tests.cli_helpers import REPO, one_line_error, run_cli
from tests.connections.support import SECRET
from tests.fakes.oauth_server import OAuthState
from tests.fakes.x_api import XApiState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_config(tmp_path: Path, server: OAuthState, **oauth: Any) -> Path:
    settings = {
        "provider": "custom",
        "client_id": "desk-client",
        "flow": "device",
        "device_authorization_url": f"{server.base_url}/device/code",
        "authorization_url": f"{server.base_url}/authorize",
        "token_url": f"{server.base_url}/token",
        "scopes": ["mail", "offline_access"],
        **oauth,
    }
    config = {
        "sources": {"email": {"username": "desk@example.com", "auth": "oauth2", "oauth2": settings}}
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def env(db_url: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "COMPLAINT_MONITOR_SECRET": SECRET, **extra}


def start(config: Path, db_url: str, *args: str) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if k != "COMPLAINT_MONITOR_CONFIG"}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "connect", "email", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**full, **env(db_url)},
        cwd=REPO,
    )


def read_until(proc: subprocess.Popen[str], marker: str) -> str:
    assert proc.stdout is not None
    seen = ""
    for line in proc.stdout:
        seen += line
        if marker in line:
            return line
    raise AssertionError(f"{marker!r} never printed; stdout: {seen}; stderr: {proc.stderr}")


def stored_grant(engine: Engine) -> OAuthGrant:
    with Session(engine) as s:
        grant = s.get(OAuthGrant, "email")
        assert grant is not None
        s.expunge(grant)
        return grant


@pytest.mark.db
def test_device_flow_connects_and_stores_the_grant_sealed(
    tmp_path: Path, db_url: str, committed_engine: Engine, oauth_server: OAuthState
) -> None:
    oauth_server.device_script = ["pending"]
    proc = start(write_config(tmp_path, oauth_server), db_url)
    line = read_until(proc, "enter the code")
    code = line.rsplit(" ", 1)[1].strip()
    oauth_server.approve(code, "desk@example.com")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "email connected as desk@example.com" in out
    grant = stored_grant(committed_engine)
    assert grant.refresh_token and SecretBox.is_sealed(grant.refresh_token)
    issued = [t for t in oauth_server.refresh]
    assert issued and all(t not in out + err for t in issued)  # never printed


@pytest.mark.db
def test_denied_is_one_line_and_stores_nothing(
    tmp_path: Path, db_url: str, committed_engine: Engine, oauth_server: OAuthState
) -> None:
    oauth_server.device_script = ["denied"]
    proc = run_cli(
        "--config", str(write_config(tmp_path, oauth_server)), "connect", "email", env=env(db_url)
    )
    assert "access was denied" in one_line_error(proc)
    with Session(committed_engine) as s:
        assert s.get(OAuthGrant, "email") is None


@pytest.mark.db
def test_code_flow_with_the_loopback_listener(
    tmp_path: Path, db_url: str, committed_engine: Engine, oauth_server: OAuthState
) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    config = write_config(tmp_path, oauth_server, flow="authorization_code", redirect_uri=redirect)
    proc = start(config, db_url)
    read_until(proc, "Open this URL")
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    read_until(proc, "Waiting for the provider")
    # the admin's browser: sign in at the provider, which sends it to the loopback listener
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "Signed in" in page.text
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert stored_grant(committed_engine).state == "active"
    assert oauth_server.grant_types() == ["authorization_code"]


@pytest.mark.db
def test_code_flow_with_a_pasted_redirect_and_a_state_check(
    tmp_path: Path, db_url: str, committed_engine: Engine, oauth_server: OAuthState
) -> None:
    config = write_config(
        tmp_path,
        oauth_server,
        flow="authorization_code",
        redirect_uri="https://desk.example.com/oauth/done",
    )
    proc = start(config, db_url, "--paste")
    read_until(proc, "Open this URL")
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().strip()
    answer = requests.get(url, allow_redirects=False, timeout=10)
    forged = answer.headers["location"].replace("state=", "state=x")
    _, err = proc.communicate(forged + "\n", timeout=60)
    assert proc.returncode != 0 and "state mismatch" in err and "Traceback" not in err
    with Session(committed_engine) as s:
        assert s.get(OAuthGrant, "email") is None


def test_connect_without_the_session_secret_is_one_line(
    tmp_path: Path, oauth_server: OAuthState
) -> None:
    config = write_config(tmp_path, oauth_server)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    assert run_cli("db", "upgrade", env=env).returncode == 0  # else: "not migrated" first
    proc = run_cli("--config", str(config), "connect", "email", env=env)
    assert "COMPLAINT_MONITOR_SECRET is not set" in one_line_error(proc)


@pytest.mark.db
def test_connect_x_names_the_account_from_users_me(
    tmp_path: Path, db_url: str, committed_engine: Engine, x_api: XApiState
) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    config = {
        "sources": {
            "twitter": {
                "api_base_url": x_api.base_url,
                "auth": "oauth2",
                "oauth2": {
                    "provider": "x",
                    "client_id": x_api.oauth_client_id,
                    "redirect_uri": redirect,
                    "authorization_url": f"{x_api.base_url}/i/oauth2/authorize",
                    "token_url": f"{x_api.base_url}/2/oauth2/token",
                },
            }
        }
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    full = {k: v for k, v in os.environ.items() if k != "COMPLAINT_MONITOR_CONFIG"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(path), "connect", "x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**full, **env(db_url)},
        cwd=REPO,
    )
    read_until(proc, "Open this URL")
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert "code_challenge_method=S256" in url and "offline.access" in url
    read_until(proc, "Waiting for the provider")
    assert requests.get(url, timeout=10).status_code == 200
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "x connected as @brand" in out
    with Session(committed_engine) as s:
        grant = s.get(OAuthGrant, "x")
        assert grant is not None and grant.account_id == x_api.brand_id
