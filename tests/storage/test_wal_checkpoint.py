"""The background WAL checkpointer copies committed pages back into the SQLite file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

from monitor.db import make_engine
from monitor.storage.wal_checkpoint import WalCheckpointer, checkpoint


def _fill(engine: Engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO t (body) VALUES (:b)"), [{"b": "x" * 500}] * rows)


def _wait_for(condition, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_commits_reach_the_database_file_without_a_checkpoint_in_any_commit(
    tmp_path: Path,
) -> None:
    db = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        _fill(engine, 10)
        checkpoint(engine)
        before = db.stat().st_size
        _fill(engine, 2000)  # ~1 MB: in the WAL only, far below wal_autocheckpoint
        assert db.stat().st_size == before
        with WalCheckpointer(engine, every=0.02):
            assert _wait_for(lambda: db.stat().st_size > before + 500_000)
        busy, logged, copied = checkpoint(engine)
        assert busy == 0 and copied == logged  # nothing was left behind
    finally:
        engine.dispose()


def test_start_and_shutdown_are_idempotent_and_stop_the_thread(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        checkpointer = WalCheckpointer(engine, every=0.01)
        checkpointer.start()
        checkpointer.start()
        assert [t.name for t in threading.enumerate()].count("wal-checkpoint") == 1
        checkpointer.shutdown()
        checkpointer.shutdown()
        assert "wal-checkpoint" not in [t.name for t in threading.enumerate()]
    finally:
        engine.dispose()


def test_runs_on_sqlite_only(engine: Engine) -> None:
    with WalCheckpointer(engine, every=0.01):
        running = "wal-checkpoint" in [t.name for t in threading.enumerate()]
    assert running == (engine.dialect.name == "sqlite")
