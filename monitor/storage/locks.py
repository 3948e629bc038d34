"""Locks that die with their holder: one process at a time runs a singleton job
(polling one source, the webhook fan-out), and a holder killed with ``kill -9`` frees
its lock at once.

An expiring lease row (:mod:`monitor.storage.leases`) outlives a dead holder until it
expires: a crashed poller blinded its source for the lease's whole TTL. These locks
belong to something the operating system or the database server ends with the process:

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) taken on a connection
  of its own, held while the work runs; the server drops it with the connection.
  :func:`in_transaction` takes a transaction-level one for work done in one transaction.
- SQLite: an OS file lock (``flock``) on a file beside the database, in the folder
  ``<database>.locks``; the kernel drops it when the process's file is closed, however
  the process ends. (A transaction on SQLite already holds the database's write lock:
  the engine begins every transaction with ``BEGIN IMMEDIATE``.)

Both are non-blocking: a job that finds the lock taken skips its turn. Lock names are
hashed to the 64-bit keys PostgreSQL wants, and to file names.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def _key(name: str) -> int:
    """A signed 64-bit key for ``name`` (PostgreSQL's advisory lock space)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[bool]:
    """Hold the lock ``name`` for the ``with`` block if nobody else holds it.

    Yields whether it is held; the block decides what to do when it is not.
    """
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name) as held:
            yield held
    else:
        with _flocked(lock_path(engine, name)) as held:
            yield held


def in_transaction(session: Session, name: str) -> bool:
    """Take the lock ``name`` until the session's transaction ends, if nobody holds it.

    PostgreSQL: ``pg_try_advisory_xact_lock``. SQLite: the transaction's own write lock
    already keeps every other writer out, so this is always true.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _key(name)}))


@contextmanager
def _advisory(engine: Engine, name: str) -> Iterator[bool]:
    key = {"k": _key(name)}
    conn = engine.connect()
    try:
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), key))
        conn.commit()  # a session lock outlives the transaction: don't sit idle in one
        if not held:
            yield False
            return
        try:
            yield True
        finally:
            _unlock(conn, key)
    finally:
        conn.close()


def _unlock(conn: Connection, key: dict[str, int]) -> None:
    try:
        conn.rollback()  # the block may have left this connection's transaction open
        conn.scalar(text("SELECT pg_advisory_unlock(:k)"), key)
        conn.commit()
    except Exception:
        # The lock must not go back to the pool with the connection: closing the
        # connection (invalidate) makes the server drop the lock.
        log.warning("advisory unlock failed; closing its connection", exc_info=True)
        conn.invalidate()


def lock_path(engine: Engine, name: str) -> Path:
    """The file locked for ``name``: beside the database file, or for an in-memory
    database (only ever one process) in the temporary folder."""
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60] + "-" + f"{_key(name) & 0xFFFFFFFF:08x}"
    database = engine.url.database
    if database and database != ":memory:" and "mode=memory" not in str(engine.url.query):
        folder = Path(database).resolve().parent / f"{Path(database).name}.locks"
    else:
        folder = Path(tempfile.gettempdir()) / f"complaint-monitor-{os.getpid()}-{id(engine)}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{slug}.lock"


@contextmanager
def _flocked(path: Path) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True  # closing the file below (or the process ending) releases the lock
    finally:
        os.close(fd)
