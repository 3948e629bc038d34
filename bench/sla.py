"""Response-time targets at 100,000 open cases: the SLA check in two processes, and the
queue sorted by "breaching soon".

1. PostgreSQL: ``--cases`` open cases with targets (``bench.support.load_cases``); the
   warnings of ``--due`` of them fall within a simulated window of ``--window`` minutes
   (their targets 30 minutes later), the rest are due days ahead. Two processes, each
   with the real scheduled jobs of ``serve`` (``monitor.wiring.jobs.promise_jobs``: the
   ``sla:clock`` job, then ``promises:alerts``), run every check at the same simulated
   ``now``, stepping by ``--interval`` seconds, as two `serve` processes would. Alerts go
   through slack-sdk to the fake Slack API served here. Printed: alert rows and Slack
   messages per case and kind (each exactly once), and the delay from each warning time
   and target to its alert's send time on the simulated clock (goal: p95 < interval + 5 s).
2. Both databases: the queue's first page over HTTP (the app in its own process) sorted
   by "breaching soon", filtered to it, and on the console, beside references from the
   same run: ``/healthz`` and the default (priority) sort. Goal: p95 < 50 ms.

    .venv/bin/python bench/sla.py [--cases 100000] [--due 10000] [--window 120]
        [--interval 60] [--requests 200] [--backends sqlite,postgresql] [--pg URL]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repo root, not bench/

import argparse
import multiprocessing as mp
import random
import re
import tempfile
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SAWarning

from bench.promises import config
from bench.support import PASSWORD, fmt, load_cases, pct, pg_database, served, sign_in, timed
from monitor.cases.queries import QueueFilter, list_queue
from monitor.db import make_engine, make_sessionmaker, utcnow
from monitor.models import Alert, Case, Role
from monitor.staff import accounts
from monitor.storage import migrate
from tests.fakes.slack_api import SlackState
from tests.fixtures.slack_server import start_slack_server

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WARN_BEFORE = timedelta(minutes=30)
KINDS = {"nobody has answered yet": "case.sla_warning", "target missed": "case.sla_breached"}


def targets(n: int, due: int, start: datetime, window: timedelta) -> Any:
    """The per-case hook: every (n // due)-th case warns within the window, the rest later."""
    every = max(1, n // max(1, due))
    rng = random.Random(14)

    def hook(i: int, row: dict[str, Any]) -> None:
        k, rest = divmod(i - 1, every)  # case ids start at 1
        if rest == 0 and k < due:
            warn = start + window * ((k + 1) / due)
        else:
            warn = start + timedelta(days=2, minutes=rng.randint(0, 60 * 24 * 5))
        row.update(
            sla_kind="first", sla_started_at=row["first_unanswered_at"],
            sla_due_at=warn + WARN_BEFORE, sla_warn_at=warn, sla_state="running",
            sla_step=0, sla_next_action_at=warn,
        )  # fmt: skip

    return hook


def worker(url: str, slack: tuple[str, str, str], interval: int, start: datetime,
           steps: int, barrier: Any, out: Any) -> None:  # fmt: skip
    from monitor.wiring.jobs import promise_jobs

    engine = make_engine(url)
    loaded = config(*slack, interval)
    jobs = {j.id: j for j in promise_jobs(loaded, engine)}
    took = []
    for k in range(steps):
        now = start + timedelta(seconds=interval * k)
        barrier.wait(timeout=900)  # both processes check at the same simulated now
        t = time.perf_counter()
        jobs["sla:clock"].run(now)
        jobs["promises:alerts"].run(now)
        took.append(time.perf_counter() - t)
    engine.dispose()
    out.put(took)


def run_checks(url: str, args: argparse.Namespace, start: datetime) -> tuple[SlackState, list]:
    state = SlackState(page_size=200)
    server, thread, slack_url = start_slack_server(state)
    channel = state.add_channel("sla-alerts")
    steps = int((timedelta(minutes=args.window) + WARN_BEFORE).total_seconds() // args.interval)
    steps += 2
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    slack = (slack_url, state.token, channel)
    procs = [ctx.Process(target=worker, args=(url, slack, args.interval, start, steps,
                                              barrier, out)) for _ in range(2)]  # fmt: skip
    t = time.perf_counter()
    try:
        for p in procs:
            p.start()
        took = [out.get(timeout=3600) for _ in procs]
        for p in procs:
            p.join(timeout=60)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"  {steps} checks x 2 processes in {time.perf_counter() - t:.0f} s (real time)")
    return state, [s for per in took for s in per]


def report_checks(engine: Engine, state: SlackState, took: list[float], args: Any) -> None:
    with make_sessionmaker(engine)() as s:
        rows = s.execute(
            select(Alert.case_id, Alert.kind, Alert.state, Alert.sent_at,
                   Case.sla_warn_at, Case.sla_due_at).join(Case, Case.id == Alert.case_id)
        ).all()  # fmt: skip
    per: Counter[tuple[int, str]] = Counter((r[0], r[1]) for r in rows)
    slack: Counter[tuple[int, str]] = Counter()
    for m in state.messages:
        case = re.search(r"Case #(\d+)", m["text"])
        kind = next((k for words, k in KINDS.items() if words in m["text"]), m["text"][:20])
        slack[(int(case.group(1)) if case else 0, kind)] += 1
    goal = args.interval + 5
    for kind, since in (("case.sla_warning", 4), ("case.sla_breached", 5)):
        mine = [r for r in rows if r[1] == kind]
        sent = [r for r in mine if r[2] == "sent" and r[3] is not None]
        delays = [(r[3] - r[since]).total_seconds() for r in sent]
        dup = sum(c - 1 for (_, k), c in per.items() if k == kind)
        msgs = [c for (_, k), c in slack.items() if k == kind]
        print(f"  {kind}: {len(mine)} alert rows for {args.due} cases due, {dup} duplicate "
              f"rows, {len(sent)} sent; Slack messages {sum(msgs)}, duplicates "
              f"{sum(c - 1 for c in msgs)}")  # fmt: skip
        if delays:
            p95 = pct(delays, 95)
            print(f"    delay after the {'warning time' if since == 4 else 'target'}: "
                  f"p50 {pct(delays, 50):.2f} s, p95 {p95:.2f} s, max {max(delays):.2f} s "
                  f"(goal p95 < {goal} s: {'met' if p95 < goal else 'NOT met'})")  # fmt: skip
    print(f"  one check (sla:clock + promises:alerts) per process: {fmt(took)}")


def seed(url: str, args: argparse.Namespace, start: datetime) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    t = time.perf_counter()
    window = timedelta(minutes=args.window)
    load_cases(engine, args.cases, start, extra=targets(args.cases, args.due, start, window))
    print(f"  loaded {args.cases:,} open cases with targets in {time.perf_counter() - t:.1f} s")
    return engine


def query_timings(engine: Engine, args: argparse.Namespace) -> None:
    """The queue's query alone (``list_queue``, in this process), beside ``SELECT 1``."""
    soon = timedelta(minutes=60)
    asks: list[tuple[str, Any]] = [
        ("reference: SELECT 1", None),
        ("reference: list_queue (priority)", QueueFilter(soon=soon)),
        ("list_queue sort=due", QueueFilter(sort="due", soon=soon)),
        ("list_queue sort=due sla=soon", QueueFilter(sort="due", sla="soon", soon=soon)),
    ]
    with make_sessionmaker(engine)() as s:
        for label, f in asks:
            samples = []
            for n in range(args.requests + 5):
                t = time.perf_counter()
                if f is None:
                    s.execute(text("SELECT 1")).all()
                else:
                    list_queue(s, now=utcnow(), filters=f, limit=50)
                if n >= 5:  # the first five warm up
                    samples.append(time.perf_counter() - t)
                s.rollback()
            print(f"  {label:42} {fmt(samples)}")


def queue_timings(url: str, engine: Engine, args: argparse.Namespace) -> None:
    with make_sessionmaker(engine).begin() as s:
        staff = accounts.create_staff(s, name="bench", password=PASSWORD, role=Role.LEAD,
                                      now=utcnow())  # fmt: skip
        token = accounts.create_token(s, name="bench", scopes=["queue:read"], now=utcnow(),
                                      staff=staff).secret  # fmt: skip
    bearer = {"Authorization": f"Bearer {token}"}
    asks = [
        ("reference: GET /healthz", "/healthz", False),
        ("reference: GET /api/v1/queue (priority)", "/api/v1/queue", True),
        ("GET /api/v1/queue?sort=due", "/api/v1/queue?sort=due", True),
        ("GET /api/v1/queue?sort=due&sla=soon", "/api/v1/queue?sort=due&sla=soon", True),
        ("reference: GET / (console, priority)", "/", False),
        ("GET /?sort=due (console)", "/?sort=due", False),
    ]
    with served(url) as base, httpx.Client(base_url=base, follow_redirects=True) as client:
        sign_in(client)
        first = client.get("/api/v1/queue?sort=due", headers=bearer).json()["items"]
        dues = [i["sla_due_at"] for i in first]
        assert len(first) == 50 and dues == sorted(dues), "not sorted by due time"
        for label, path, api in asks:
            got = timed(lambda p=path, a=api: client.get(p, headers=bearer if a else {}),
                        args.requests)  # fmt: skip
            mark = "" if label.startswith("reference") else (
                "  goal met" if pct(got, 95) < 0.05 else "  goal NOT met")  # fmt: skip
            print(f"  {label:42} {fmt(got)}{mark}")


def bench(backend: str, url: str, args: argparse.Namespace) -> None:
    print(f"{backend}:")
    start = utcnow()
    engine = seed(url, args, start)
    if backend == "postgresql" and args.due:
        state, took = run_checks(url, args, start)
        report_checks(engine, state, took, args)
    if args.requests:
        query_timings(engine, args)
        queue_timings(url, engine, args)
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=10_000, help="cases due within the window")
    ap.add_argument("--window", type=int, default=120, help="simulated minutes of warnings")
    ap.add_argument("--interval", type=int, default=60, help="check interval (simulated s)")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg", default=DEFAULT_PG)
    args = ap.parse_args()
    warnings.filterwarnings("ignore", category=SAWarning)  # SQLite's expression indexes
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench(backend, f"sqlite:///{tmp}/bench.db", args)
        else:
            with pg_database(args.pg) as url:
                bench(backend, url, args)
    print(f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
