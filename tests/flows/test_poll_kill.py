"""Issue 12 item 2: a `poll --once` killed with kill -9 while paging X must not blind
its source (a lease held it for 5 minutes); two live pollers still never poll one
source together. Real processes, the fake X API (slow on page 2), both databases."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select

from monitor.db import make_sessionmaker
from monitor.models import Mention
from tests.cli_helpers import run_cli, start_cli

MENTIONS = 150  # X pages at 100: two pages


def write_config(tmp_path: Path, engine: Engine, x_api) -> Path:
    cfg = tmp_path / "config.yaml"
    url = engine.url.render_as_string(hide_password=False)
    cfg.write_text(
        f"""
database:
  url: {url}
sources:
  twitter:
    enabled: true
    user_id: "{x_api.brand_id}"
    bearer_token_env: CM_TEST_X_BEARER
    api_base_url: {x_api.base_url}
    timeout_seconds: 20
    first_poll: {{start: all}}
""",
        encoding="utf-8",
    )
    return cfg


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the poller ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def stored(engine: Engine) -> int:
    with make_sessionmaker(engine)() as s:
        return s.scalar(select(func.count()).select_from(Mention)) or 0


def test_a_poller_killed_mid_paging_does_not_hold_up_the_next(
    tmp_path: Path, committed_engine: Engine, x_api
) -> None:
    cfg = write_config(tmp_path, committed_engine, x_api)
    env = {"CM_TEST_X_BEARER": x_api.bearer_token}
    author = x_api.add_user("pat")
    for i in range(MENTIONS):
        x_api.mention(author, f"@brand complaint number {i}")
    x_api.delay_next(15, endpoint="mentions", after=1)  # page 2 hangs
    victim = start_cli("--config", str(cfg), "poll", "--once", env=env)
    try:
        wait_for(lambda: len(x_api.requests_to("mentions")) >= 2, victim, "page 2")
    finally:
        victim.kill()  # SIGKILL: no finally blocks, no clean-up in the process
        victim.communicate()

    started = time.monotonic()
    again = run_cli("--config", str(cfg), "poll", "--once", env=env, timeout=60)

    assert again.returncode == 0, again.stderr
    assert f"x:mentions: fetched {MENTIONS}, new {MENTIONS}" in again.stdout, again.stdout
    assert time.monotonic() - started < 30  # at once: not after a 5-minute lease
    assert stored(committed_engine) == MENTIONS


def test_two_live_pollers_never_poll_one_source_together(
    tmp_path: Path, committed_engine: Engine, x_api
) -> None:
    cfg = write_config(tmp_path, committed_engine, x_api)
    env = {"CM_TEST_X_BEARER": x_api.bearer_token}
    author = x_api.add_user("pat")
    for i in range(MENTIONS):
        x_api.mention(author, f"@brand complaint number {i}")
    # page 2 is held until the second poller has finished, however slow the machine is
    page_two = x_api.hold_next(endpoint="mentions", after=1, limit=120)
    first = start_cli("--config", str(cfg), "poll", "--once", env=env)
    try:
        wait_for(lambda: len(x_api.requests_to("mentions")) >= 2, first, "page 2")
        second = run_cli("--config", str(cfg), "poll", "--once", env=env, timeout=60)
        page_two.set()
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert "x:mentions: skipped (another process is polling this source)" in second.stdout, (
        second.stdout + second.stderr
    )
    assert len(x_api.requests_to("mentions")) == 2  # the second asked X nothing
    assert first.returncode == 0, err
    assert f"x:mentions: fetched {MENTIONS}, new {MENTIONS}" in out
    assert stored(committed_engine) == MENTIONS
