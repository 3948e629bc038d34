"""Checkpoint a SQLite database's write-ahead log from a background thread.

In WAL mode every commit appends the pages it changed to the log, and a *checkpoint*
copies them back into the database file (with fsyncs). Left to SQLite, the checkpoint
runs inside whichever commit crosses ``wal_autocheckpoint`` pages, so an ingest batch
pays for it: measured on ``bench/ingest.py`` it doubled commit time. Here a thread of
its own runs a PASSIVE checkpoint a few times a second instead; it never blocks
writers or readers, and SQLite releases the GIL while it copies, so on a machine with
two cores it runs beside ingestion rather than inside it.

``serve`` and ``import`` run one for as long as they write (the connections' own
``wal_autocheckpoint``, see :mod:`monitor.db`, stays as a safety net for processes that
don't). On PostgreSQL this is a no-op.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def checkpoint(engine: Engine) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: copies what no reader still needs, waits for nobody.

    Runs on the driver connection outside any transaction (a SQLAlchemy connection
    would BEGIN IMMEDIATE first and take the write lock). Returns SQLite's answer:
    (busy, pages in the log, pages copied back).
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        busy, logged, copied = cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        cursor.close()
        return int(busy), int(logged), int(copied)
    finally:
        raw.close()


class WalCheckpointer:
    """Runs :func:`checkpoint` every ``every`` seconds on SQLite until shut down."""

    def __init__(self, engine: Engine, *, every: float = 0.25) -> None:
        self._engine = engine
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._engine.dialect.name != "sqlite" or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                checkpoint(self._engine)
            except DBAPIError as exc:  # e.g. locked by a schema change: try again later
                log.warning("WAL checkpoint skipped: %s", exc.orig)

    def __enter__(self) -> WalCheckpointer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()
