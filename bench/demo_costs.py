"""What the demo's simulated X traffic would cost on X pay-per-use, through the real meter.

Runs the demo stream (monitor.demo.world.DemoSource) for --minutes simulated minutes,
polled every 2 s by the production poller as `complaint-monitor demo` does, with the cost
meter the demo uses, then prints the meter's figures per endpoint and resource next to
the naive count (every resource of every response billed, no per-day deduplication), and
the cost of the same traffic read the old way (app-only token: posts at the full price).

    .venv/bin/python bench/demo_costs.py [--minutes 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # bench/queue.py shadows queue

from sqlalchemy.orm import Session

from monitor.config.costs import XPrices
from monitor.db import make_engine, make_sessionmaker
from monitor.demo.costs import batch_reads
from monitor.demo.world import DemoSource, demo_settings
from monitor.storage import migrate
from monitor.usage.meter import StoredMeter, summary, unit_price
from monitor.wiring.demo import poll_job
from monitor.wiring.sources import build_scorer


class Counting:
    """Wraps the stream to count what a meter without deduplication would bill."""

    def __init__(self, inner: DemoSource) -> None:
        self.inner, self.name, self.naive = inner, inner.name, 0

    @property
    def run(self) -> str:
        return self.inner.run

    def fetch(self, cursor, *, now):  # type: ignore[no-untyped-def]
        batch = self.inner.fetch(cursor, now=now)
        self.naive += sum(len(items) for items in batch_reads(batch).values())
        return batch


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--minutes", type=int, default=30)
    minutes = args.parse_args().minutes
    db = Path(tempfile.mkdtemp(prefix="cm-demo-costs-")) / "demo.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    scorer = build_scorer(demo_settings(str(engine.url), "127.0.0.1", 0))
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    meter = StoredMeter(make_sessionmaker(engine))
    stream = Counting(DemoSource(run="bench", started_at=start))
    job = poll_job(engine, stream, scorer, meter=meter)  # type: ignore[arg-type]
    polls = 0
    for second in range(0, minutes * 60, 2):
        job.run(start + timedelta(seconds=second))
        polls += 1
    prices = XPrices()
    with Session(engine) as s:
        today = summary(s, prices=prices, now=start).today
    print(f"demo stream, {minutes} simulated minutes, {polls} polls, prices of {prices.as_of}")
    print(f"{'endpoint':34} {'resource':16} {'count':>6} {'unit $':>7} {'cost $':>8}")
    for line in today.lines:
        kind = line.resource + (" (owned)" if line.owned else "")
        print(f"{line.endpoint:34} {kind:16} {line.count:>6} {line.unit_usd:>7.3f} "
              f"{line.usd:>8.4f}")  # fmt: skip
    print(f"{'total (deduplicated per UTC day)':58} {today.count:>6} {'':>7} {today.usd:>8.4f}")
    app_only = sum(line.count * unit_price(prices, line.resource, False) for line in today.lines)
    print(f"resources in the responses (no deduplication): {stream.naive}")
    print(f"same traffic with the app-only token (no owned-read price): ${app_only:.4f}")


if __name__ == "__main__":
    main()
