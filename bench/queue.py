"""Queue latency with 100,000 open cases, on SQLite and PostgreSQL.

Prints, per backend:
- GET /               (the console's queue page, signed in)   p50 / p95
- GET /api/v1/queue   (bearer token)                          p50 / p95
- ingest -> row visible in a connected browser (headless Chromium, SSE)  p50 / p95

Goals: first page p95 < 50 ms; a new mention appears in < 1 s.

    .venv/bin/python bench/queue.py [--cases 100000] [--requests 200] [--appear 20]
        [--backends sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

The PostgreSQL run creates (and drops) its own database on the given server.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/queue.py`, this file's folder comes first on sys.path and its name
# would shadow the standard library's `queue` (which asyncio/anyio import): drop it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from monitor.db import make_engine, make_sessionmaker, utcnow
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.models import Case, Customer, Identity, Mention, Role
from monitor.sources.base import Batch
from monitor.staff import accounts
from monitor.storage import migrate

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


def load_cases(engine: Engine, n: int, now: datetime) -> None:
    """n open cases, each with a customer, an identity and one mention (bulk Core inserts)."""
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
    proc = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)], cwd=_HERE.parent)
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


def angry(i: int, run: str) -> MentionIn:
    text_ = (
        f"@acme [{run}-{i}] THIRD time asking!!! You charged me twice and nobody answers. "
        "Refund NOW or I go to my bank. Disgusting service."
    )
    return MentionIn(
        channel=Channel.X,
        external_id=f"appear-{run}-{i}",
        author=Author(IdentityKind.X, f"appear-{run}-{i}", f"angry{i}", f"Angry {i}", 90_000),
        text=text_,
        text_for_scoring=text_,
        created_at=utcnow() - timedelta(days=3),
        raw=b"{}",
        public=True,
        thread_refs=(f"appear-{run}-{i}",),
    )


def appear_latency(base: str, engine: Engine, scorer: Any, n: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    sessions = make_sessionmaker(engine)
    run = uuid.uuid4().hex[:6]
    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(base + "/login")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#live-status.on", timeout=10_000)
        for i in range(n):
            with sessions.begin() as s:
                batch = Batch(mentions=[angry(i, run)], next_cursor={})
                ingest_batch(
                    s, batch, source="bench", now=utcnow(), scorer=scorer, options=IngestOptions()
                )
            t = time.perf_counter()  # committed
            try:
                row = f"#queue-rows tr.row:has-text('[{run}-{i}]')"
                page.wait_for_selector(row, timeout=10_000)
            except Exception:
                page.screenshot(path="artifacts/bench-appear.png", full_page=True)
                raise
            out.append(time.perf_counter() - t)
            time.sleep(0.3)
        browser.close()
    return out


def bench(url: str, args: argparse.Namespace, scorer: Any) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = utcnow()
    t = time.perf_counter()
    load_cases(engine, args.cases, now)
    print(f"  loaded {args.cases:,} open cases in {time.perf_counter() - t:.1f} s")
    with make_sessionmaker(engine).begin() as s:
        staff = accounts.create_staff(s, name="bench", password=PASSWORD, role=Role.LEAD, now=now)
        token = accounts.create_token(
            s, name="bench", scopes=["queue:read"], now=now, staff=staff
        ).secret
    with served(url) as base, httpx.Client(base_url=base, follow_redirects=True) as client:
        sign_in(client)
        page = timed(lambda: client.get("/"), args.requests)
        api = timed(
            lambda: client.get("/api/v1/queue", headers={"Authorization": f"Bearer {token}"}),
            args.requests,
        )
        print(f"  GET /                {fmt(page)}")
        print(f"  GET /api/v1/queue    {fmt(api)}")
        if args.appear:
            appear = appear_latency(base, engine, scorer, args.appear)
            print(
                f"  ingest -> browser    {fmt(appear)}   "
                f"(n={len(appear)}, max {max(appear) * 1000:.0f} ms)"
            )
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--appear", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    from monitor.config import ScoringSettings
    from monitor.priority.service import ModelScorer
    from monitor.scoring import load_model

    scorer = ModelScorer(load_model(None), ScoringSettings())
    for backend in args.backends.split(","):
        print(f"{backend}:")
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench(f"sqlite:///{tmp}/bench.db", args, scorer)
            continue
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"cm_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            bench(
                make_url(args.pg).set(database=name).render_as_string(hide_password=False),
                args,
                scorer,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(
        f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        "goals: p95 < 50 ms first page, < 1 s to appear)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
