"""Bulk actions from the queue's toolbar at the largest batch (500 cases), on SQLite and
PostgreSQL, beside references measured in the same run.

Seeds ``--cases`` open cases, serves the app in its own process, signs in as a lead and
posts the toolbar's forms as a browser does (CSRF token, ``case_ids``), each batch a
fresh set of cases. Prints, per backend, p50 / p95 of:
- GET /healthz and POST /queue/resolve of 1 case (the references)
- POST /queue/resolve, /queue/tag (2 tags and a cause), /queue/attach: 500 cases each,
  one transaction, with a history event per case (and a check-in task per resolved case)

    .venv/bin/python bench/bulk.py [--cases 20000] [--batches 5]
        [--backends sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/bulk.py`: the repository root first on sys.path, for monitor
# and bench.support.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import re
import tempfile
import time
from collections.abc import Callable, Iterator

import httpx
from sqlalchemy import func, select

from bench.support import PASSWORD, fmt, load_cases, pg_database, served, sign_in
from monitor.db import make_engine, make_sessionmaker, utcnow
from monitor.incidents import service as incidents
from monitor.models import Case, Event, Role
from monitor.staff import accounts
from monitor.storage import migrate

BATCH = 500


def timed_posts(call: Callable[[list[int]], httpx.Response], batches: Iterator[list[int]],
                n: int) -> list[float]:  # fmt: skip
    out = []
    for _ in range(n):
        ids = next(batches)
        t = time.perf_counter()
        r = call(ids)
        out.append(time.perf_counter() - t)
        assert r.status_code == 303, (r.status_code, r.text[:300])
    return out


def bench(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    now = utcnow()
    load_cases(engine, args.cases, now)
    with make_sessionmaker(engine).begin() as s:
        lead = accounts.create_staff(s, name="bench", password=PASSWORD, role=Role.LEAD, now=now)
        incident = incidents.declare(s, title="Bench outage", staff=lead, now=now).id
        ids = list(s.scalars(select(Case.id).order_by(Case.id)))
    chunks = iter([ids[i : i + BATCH] for i in range(0, len(ids), BATCH)])
    singles = iter([[i] for i in ids[-args.batches * 3 - 10 :]])
    with (
        served(url) as base,
        httpx.Client(base_url=base, follow_redirects=True, timeout=300) as client,
    ):
        sign_in(client)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
        assert token

        def post(action: str, **form: str) -> Callable[[list[int]], httpx.Response]:
            def call(case_ids: list[int]) -> httpx.Response:
                data = {"csrf_token": token.group(1), "case_ids": [str(c) for c in case_ids]}
                return client.post(f"/queue/{action}", data={**data, **form},
                                   follow_redirects=False)  # fmt: skip

            return call

        health = [0.0] * (args.batches * 3)
        for k in range(len(health)):
            t = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            health[k] = time.perf_counter() - t
        one = timed_posts(post("resolve"), singles, args.batches * 3)
        resolve = timed_posts(post("resolve"), chunks, args.batches)
        tag = timed_posts(
            post("tag", tags="bench, outage-1", cause="billing"), chunks, args.batches
        )
        attach = timed_posts(post("attach", incident_id=str(incident)), chunks, args.batches)
    with make_sessionmaker(engine)() as s:
        events = s.scalar(select(func.count()).select_from(Event).where(Event.actor == "bench"))
    engine.dispose()
    print(f"  GET /healthz                       {fmt(health)}")
    print(f"  POST /queue/resolve (1 case)       {fmt(one)}")
    print(f"  POST /queue/resolve ({BATCH} cases)   {fmt(resolve)}")
    print(f"  POST /queue/tag ({BATCH} cases)       {fmt(tag)}")
    print(f"  POST /queue/attach ({BATCH} cases)    {fmt(attach)}")
    print(f"  history events written by the lead: {events:,}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    assert args.cases >= BATCH * args.batches * 3 + args.batches * 3 + 10, "--cases too small"
    for backend in args.backends.split(","):
        print(f"{backend}: {args.cases:,} open cases, batches of {BATCH}")
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench(f"sqlite:///{tmp}/bench.db", args)
        else:
            with pg_database(args.pg) as url:
                bench(url, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
