"""A larger bounded schemathesis campaign against the app in-process, on SQLite and on
PostgreSQL; prints requests sent, 5xx answers and schema violations per backend.

tests/web/test_fuzz.py runs the same campaign small (6 examples per operation and mode)
in the suite; this one runs --examples (default 30) positive and as many negative
examples for each of the ~46 operations, within --budget seconds per backend.

    .venv/bin/python bench/fuzz.py [--examples 30] [--budget 600] [--backends sqlite postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
import warnings
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository root, for monitor

from sqlalchemy import create_engine, make_url, text

from monitor.db import make_engine
from monitor.storage import migrate
from tests.fixtures.web import web_settings
from tests.web.fuzz_support import fuzz

PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def run(backend: str, examples: int, budget: float) -> None:
    admin, name = None, None
    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'fuzz.db'}"
    else:
        admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        name = f"cm_fuzz_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        report = fuzz(web_settings(), engine, examples=examples, budget_seconds=budget)
        print(report.line(backend), flush=True)
        for sample in report.samples:
            print("   ", sample)
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--budget", type=float, default=600.0)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # SQLAlchemy's reflection notes on expression indexes
    print(f"schemathesis campaign: {args.examples} positive + {args.examples} negative "
          f"examples per operation, budget {args.budget:.0f} s per backend")  # fmt: skip
    for backend in args.backends:
        run(backend, args.examples, args.budget)


if __name__ == "__main__":
    main()
