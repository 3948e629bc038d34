"""Queue latency with 100,000 open cases, on SQLite and PostgreSQL.

Prints, per backend:
- GET /               (the console's queue page, signed in)   p50 / p95
- GET /api/v1/queue   (bearer token)                          p50 / p95
- ingest -> row visible in a connected browser (headless Chromium, SSE)  p50 / p95

Goals: first page p95 < 50 ms; a new mention appears in < 1 s.

    .venv/bin/python bench/queue_latency.py [--cases 100000] [--requests 200] [--appear 20]
        [--backends sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

The PostgreSQL run creates (and drops) its own database on the given server.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/queue_latency.py`: the repository root first on sys.path, for
# monitor and bench.support.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from bench.support import PASSWORD, fmt, load_cases, pg_database, served, sign_in, timed
from monitor.db import make_engine, make_sessionmaker, utcnow
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.models import Role
from monitor.sources.base import Batch
from monitor.staff import accounts
from monitor.storage import migrate


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
        with pg_database(args.pg) as url:
            bench(url, args, scorer)
    print(
        f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        "goals: p95 < 50 ms first page, < 1 s to appear)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
