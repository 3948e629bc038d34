"""What the benchmarks share: seeding open cases in bulk, the app served in its own
process, signing in, timing requests, percentiles, a throwaway PostgreSQL database."""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from monitor.models import Case, Customer, Identity, Mention

REPO = Path(__file__).resolve().parents[1]
CaseHook = Callable[[int, dict[str, Any]], None]

PASSWORD = "bench-password-123"
CHUNK = 5000
WORDS = (
    "refund",
    "order",
    "late",
    "broken",
    "charged",
    "twice",
    "app",
    "crash",
    "support",
    "parcel",
)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def fmt(samples: list[float]) -> str:
    return f"p50 {pct(samples, 50) * 1000:7.1f} ms   p95 {pct(samples, 95) * 1000:7.1f} ms"


def load_cases(engine: Engine, n: int, now: datetime, *, extra: CaseHook | None = None) -> None:
    """n open cases, each with a customer, an identity and one mention (bulk Core inserts).

    ``extra(i, row)`` may add columns to case ``i``'s row (e.g. a response-time target)."""
    rng = random.Random(5)
    with engine.begin() as conn:
        for start in range(1, n + 1, CHUNK):
            ids = range(start, min(n, start + CHUNK - 1) + 1)
            conn.execute(
                insert(Customer.__table__),
                [
                    {"id": i, "display_name": f"Customer {i}", "value": 0.0, "created_at": now}
                    for i in ids
                ],
            )
            conn.execute(
                insert(Identity.__table__),
                [
                    {
                        "id": i,
                        "customer_id": i,
                        "kind": "x",
                        "handle": f"b{i}",
                        "username": f"user{i}",
                        "linked_by": "auto",
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            cases = []
            for i in ids:
                score = rng.randint(0, 40)  # injected mentions must be able to reach page one
                waiting = now - timedelta(minutes=rng.randint(1, 60 * 24 * 5))
                cases.append(
                    {
                        "id": i,
                        "customer_id": i,
                        "status": "open",
                        "channel": rng.choice(["x", "email"]),
                        "subject": "",
                        "priority": float(score),
                        "score": score,
                        "band": "low" if score < 25 else "medium",
                        "reasons": [f"text: {rng.choice(WORDS)} (+{score})"],
                        "unanswered_count": 1,
                        "public": True,
                        "created_at": waiting,
                        "updated_at": waiting,
                        "last_customer_at": waiting,
                        "first_unanswered_at": waiting,
                    }
                )
                if extra is not None:
                    extra(i, cases[-1])
            conn.execute(insert(Case.__table__), cases)
            conn.execute(
                insert(Mention.__table__),
                [
                    {
                        "id": i,
                        "channel": c["channel"],
                        "external_id": f"bench-{i}",
                        "source": "bench",
                        "customer_id": i,
                        "identity_id": i,
                        "case_id": i,
                        "author": f"user{i}",
                        "text": " ".join(rng.choice(WORDS) for _ in range(12)),
                        "text_for_scoring": "",
                        "public": True,
                        "thread_refs": [],
                        "attachments": [],
                        "created_at": c["created_at"],
                        "received_at": c["created_at"],
                        "raw": b"{}",
                        "reasons": [],
                    }
                    for i, c in zip(ids, cases, strict=True)
                ],
            )
        if engine.dialect.name == "postgresql":
            for table in ("customers", "identities", "cases", "mentions"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


SERVER = """
import sys, uvicorn
from monitor.config import LoadedConfig, ServerSettings, Settings
from monitor.db import make_engine
from monitor.web.app import create_app
url, port = sys.argv[1], int(sys.argv[2])
loaded = LoadedConfig(Settings(server=ServerSettings(secure_cookies=False)), {}, None)
app = create_app(loaded, make_engine(url), session_secret="bench-" + "s" * 40)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)
"""


@contextmanager
def served(url: str) -> Iterator[str]:
    """The app in its own process, as `serve` runs it (a server thread inside the client
    process would measure GIL contention, not the app)."""
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)], cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bench server did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sign_in(client: httpx.Client) -> None:
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert r.status_code == 200 and "queue-rows" in r.text, r.status_code


def timed(call: Callable[[], httpx.Response], n: int) -> list[float]:
    for _ in range(5):
        call()  # warm up
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = call()
        out.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
    return out


@contextmanager
def pg_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url``; dropped afterwards."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
