"""Promises falling due across two `serve`-like processes: exactly once, and how late.

Seeds N promises whose deadlines fall within ``--window`` seconds of the start, then
runs two processes, each with the real scheduler and the real promise jobs from
``monitor.wiring.jobs.promise_jobs`` (clock + alert worker, check interval ``--interval``),
sending Slack alerts through slack-sdk to the fake Slack API served by this process.
Prints alerts sent (must equal N), duplicates (must be 0) and the p50/p95/max delay
from each deadline to its alert arriving at Slack; the goal is p95 under the scheduler
interval plus 5 s.

    .venv/bin/python bench/promises.py [--n 10000] [--pg URL | --sqlite] [--interval 60]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/promises.py`: the repository root first on sys.path, for monitor.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import multiprocessing as mp
import os
import re
import statistics
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from monitor.config import LoadedConfig, parse_settings
from monitor.db import make_engine, make_sessionmaker
from monitor.models import Case, Customer, Promise, Staff
from monitor.storage import migrate
from tests.fakes.slack_api import SlackState
from tests.fixtures.slack_server import start_slack_server

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHANNEL_NAME = "promise-alerts"


def config(slack_url: str, token: str, channel: str, interval: int) -> LoadedConfig:
    settings = parse_settings(
        {
            "responders": {
                "slack": {"enabled": True, "api_base_url": slack_url, "alert_channel": channel}
            },
            "alerts": {
                "channels": ["slack"],
                "remind_before_minutes": 0,
                "ladder": [{"after_minutes": 0, "notify": "owner"}],
                "check_seconds": interval,
            },
            "webhooks": {"enabled": False},
        }
    )
    return LoadedConfig(settings, {"SLACK_BOT_TOKEN": SecretStr(token)}, None)


def worker(url: str, slack_url: str, token: str, channel: str, interval: int, stop: object) -> None:
    from monitor.scheduler import Scheduler
    from monitor.wiring.jobs import promise_jobs

    engine = make_engine(url)
    jobs = [j for j in promise_jobs(config(slack_url, token, channel, interval), engine)]
    scheduler = Scheduler(jobs)
    scheduler.start()
    stop.wait()  # type: ignore[attr-defined]
    scheduler.shutdown()
    engine.dispose()


def seed(url: str, n: int, first_due: datetime, window: float) -> dict[int, datetime]:
    engine = make_engine(url)
    now = datetime.now(UTC)
    dues: dict[int, datetime] = {}
    with make_sessionmaker(engine).begin() as s:
        owner = Staff(
            name="omar",
            password_hash="x",
            role="agent",
            timezone="UTC",
            active=True,
            created_at=now,
        )  # no email: alerts go to the channel
        s.add(owner)
        s.flush()
        customers = [{"display_name": f"c{i}", "value": 0.0, "created_at": now} for i in range(200)]
        cust = s.scalars(insert(Customer).returning(Customer.id), customers).all()
        cases = [
            {
                "customer_id": c,
                "channel": "x",
                "status": "open",
                "created_at": now,
                "updated_at": now,
            }
            for c in cust
        ]
        case_ids = s.scalars(insert(Case).returning(Case.id), cases).all()
        rows = []
        for i in range(n):
            due = first_due + timedelta(seconds=window * i / max(1, n - 1))
            rows.append(
                {
                    "case_id": case_ids[i % 200],
                    "customer_id": cust[i % 200],
                    "owner_id": owner.id,
                    "kind": "callback",
                    "wording": f"call back {i}",
                    "due_at": due,
                    "owner_timezone": "UTC",
                    "state": "open",
                    "escalation_step": 0,
                    "next_action_at": due,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for i in range(0, n, 2000):
            ids = s.scalars(insert(Promise).returning(Promise.id), rows[i : i + 2000]).all()
            dues.update(zip(ids, (r["due_at"] for r in rows[i : i + 2000]), strict=True))
    engine.dispose()
    return dues


def database(args: argparse.Namespace) -> tuple[str, object]:
    if args.sqlite:
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite:///{path}", None
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    name = f"cm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(args.pg).set(database=name).render_as_string(hide_password=False), (admin, name)


def drop(handle: object) -> None:
    if handle is None:
        return
    admin, name = handle  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--interval", type=int, default=60, help="scheduler check interval (s)")
    ap.add_argument("--window", type=float, default=30.0, help="deadlines spread over (s)")
    ap.add_argument("--lead", type=float, default=10.0, help="first deadline after start (s)")
    args = ap.parse_args()

    url, handle = database(args)
    state = SlackState(page_size=200)
    server, thread, slack_url = start_slack_server(state)
    channel = state.add_channel(CHANNEL_NAME)
    try:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        first_due = datetime.now(UTC) + timedelta(seconds=args.lead)
        dues = seed(url, args.n, first_due, args.window)
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        procs = [
            ctx.Process(
                target=worker, args=(url, slack_url, state.token, channel, args.interval, stop)
            )
            for _ in range(2)
        ]
        for p in procs:
            p.start()
        deadline = time.time() + args.lead + args.window + 3 * args.interval + 60
        while time.time() < deadline:
            if len({m["text"] for m in state.messages}) >= args.n:
                break
            time.sleep(0.5)
        time.sleep(min(5.0, args.interval))  # let any duplicate arrive before counting
        stop.set()
        for p in procs:
            p.join(timeout=60)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        drop(handle)

    per_promise: Counter[int] = Counter()
    delays: list[float] = []
    for m in state.messages:
        found = re.match(r"Promise #(\d+)", m["text"])
        if found is None:
            continue
        pid = int(found.group(1))
        per_promise[pid] += 1
        if per_promise[pid] == 1:
            delays.append(m["at"] - dues[pid].timestamp())
    delays.sort()
    p95 = delays[int(0.95 * (len(delays) - 1))] if delays else float("nan")
    backend = "sqlite" if args.sqlite else "postgresql"
    print(
        f"backend: {backend}, processes: 2, promises due: {args.n}, "
        f"scheduler interval: {args.interval}s, deadlines over {args.window:.0f}s"
    )
    print(
        f"alerts sent: {len(per_promise)} (due {args.n}) "
        f"{'OK' if len(per_promise) == args.n else 'MISSING'}"
    )
    print(f"duplicates: {sum(c - 1 for c in per_promise.values())}")
    if delays:
        print(
            f"delay deadline->alert: p50 {statistics.median(delays):.2f}s, p95 {p95:.2f}s, "
            f"max {delays[-1]:.2f}s (goal p95 < {args.interval + 5}s: "
            f"{'met' if p95 < args.interval + 5 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
