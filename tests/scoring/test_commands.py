"""The real `complaint-monitor score` command, run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import REPO

ROOT = REPO


def run_score(stdin: bytes, cwd: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "COMPLAINT_MONITOR_CONFIG"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "monitor", *extra, "score"],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def lines_of(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]


def test_scores_lines_in_order(tmp_path: Path) -> None:
    rows = [
        {"id": 1, "text": "@acme third time asking: where is my refund?!! Useless."},
        {"id": "b", "text": "@acme love the new app, thanks", "channel": "twitter"},
        {
            "id": 3,
            "text": "Dear team, the laptop you sent is broken and support never "
            "replied to my two emails. I want a refund.",
            "channel": "email",
            "author": "a@example.com",
            "created_at": "2026-01-01T10:00:00Z",
        },
        {"id": 4, "text": "psst, my DM: you lost my parcel", "channel": "x_dm"},
    ]
    stdin = "".join(json.dumps(r) + "\n" for r in rows).encode()
    out = lines_of(run_score(stdin, tmp_path))
    assert [o["id"] for o in out] == [1, "b", 3, 4]
    for o in out:
        assert set(o) == {"id", "score", "band", "reasons"}
        assert isinstance(o["score"], int) and 0 <= o["score"] <= 100
        assert o["band"] in {"low", "medium", "high", "critical"}
        assert isinstance(o["reasons"], list) and str(o["reasons"][0]).startswith("text: ")
    assert out[0]["score"] > out[1]["score"]
    assert out[2]["score"] > 30
    assert not any("public" in r for r in out[3]["reasons"])  # a DM is not public


def test_bad_lines_give_error_lines_and_the_run_continues(tmp_path: Path) -> None:
    good = b'{"id": "ok1", "text": "you broke it again"}\n'
    bad = [
        (b"this is not json\n", None, "not JSON"),
        (b"[1, 2, 3]\n", None, "JSON object"),
        (b'"just a string"\n', None, "JSON object"),
        (b'{"id": 7}\n', 7, 'missing "text"'),
        (b'{"id": 8, "text": 42}\n', 8, '"text" must be a string'),
        (b'{"id": 9, "text": null}\n', 9, '"text" must be a string'),
        (b'{"id": 10, "text": "' + b"a" * 1_500_000 + b'"}\n', None, "longer than"),
        (b'{"id": 11, "text": "caf\xe9 \xff"}\n', None, "UTF-8"),
        (b'{"id": 12, "text": "hi", "channel": "fax"}\n', 12, "channel"),
        (b"\n", None, "empty line"),
    ]
    stdin = good + b"".join(line + good for line, _, _ in bad)
    out = lines_of(run_score(stdin, tmp_path))
    assert len(out) == 1 + 2 * len(bad)
    assert all(o["id"] == "ok1" and "score" in o for o in out[0::2])
    for o, (_, ident, message) in zip(out[1::2], bad, strict=True):
        assert set(o) == {"id", "error"}
        assert o["id"] == ident
        assert message in str(o["error"])


def test_last_line_without_newline_and_empty_input(tmp_path: Path) -> None:
    out = lines_of(run_score(b'{"id": 1, "text": "a"}\n{"id": 2, "text": "b"}', tmp_path))
    assert [o["id"] for o in out] == [1, 2]
    assert run_score(b"", tmp_path).stdout == b""


@pytest.mark.slow
def test_many_lines_stream_across_batches(tmp_path: Path) -> None:
    n = 3000
    stdin = "".join(
        json.dumps({"id": i, "text": f"order {i} is late AGAIN!!"}) + "\n" if i % 7 else "{\n"
        for i in range(n)
    ).encode()
    out = lines_of(run_score(stdin, tmp_path))
    assert len(out) == n
    assert [o["id"] for o in out if "score" in o] == [i for i in range(n) if i % 7]
