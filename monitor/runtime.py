"""Process-level entry points behind the CLI: serve, poll once, export, import, demo."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine

from monitor.config import ConfigError, LoadedConfig
from monitor.db import check_connection, make_engine

log = logging.getLogger(__name__)


class NotYetAvailable(Exception):
    """A command whose feature is planned but not built yet."""


def _session_secret(loaded: LoadedConfig) -> str:
    env_name = loaded.settings.server.session_secret_env
    secret = loaded.secret(env_name)
    if not secret:
        raise ConfigError(
            f"server.session_secret_env: environment variable {env_name} is not set "
            "(it signs session cookies; e.g. export it from a secrets manager)"
        )
    if len(secret) < 32:
        raise ConfigError(f"server.session_secret_env: {env_name} must be at least 32 characters")
    return secret


def serve(loaded: LoadedConfig, *, host: str | None, port: int | None) -> int:
    import uvicorn

    from monitor.scheduler import Scheduler, Services
    from monitor.storage import migrate
    from monitor.storage.wal_checkpoint import WalCheckpointer
    from monitor.web.app import create_app
    from monitor.wiring.build import scheduled_jobs

    secret = _session_secret(loaded)
    engine = make_engine(loaded.settings.database.url, echo=loaded.settings.database.echo)
    check_connection(engine)
    if migrate.current_revision(engine) != migrate.head_revision():
        raise ConfigError(
            "database.url: the schema is not at the latest revision; "
            "run `complaint-monitor db upgrade` first"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _seal_webhook_secrets(engine, secret)
    run_jobs = loaded.settings.server.run_scheduler
    jobs = [Scheduler(scheduled_jobs(loaded, engine))] if run_jobs else []
    # SQLite: the checkpointer copies the WAL back beside ingestion, not inside its commits.
    background = Services(WalCheckpointer(engine), *jobs)
    app = create_app(loaded, engine, background=background)
    uvicorn.run(
        app,
        host=host or loaded.settings.server.host,
        port=port if port is not None else loaded.settings.server.port,
        log_level="info",
    )
    return 0


def _seal_webhook_secrets(engine: Engine, session_secret: str) -> None:
    """Seal webhook secrets stored before sealing existed; report ones this key cannot open."""
    from monitor.alerts import webhooks
    from monitor.db import make_sessionmaker
    from monitor.storage.secret_box import SecretBox

    with make_sessionmaker(engine).begin() as session:
        sealed, unreadable = webhooks.seal_stored_secrets(session, SecretBox(session_secret))
    if sealed:
        log.info("sealed %d webhook signing secret(s) stored in plain text", sealed)
    if unreadable:
        log.error(
            "%d webhook subscription(s) have secrets sealed under another session secret: "
            "their deliveries cannot be signed; restore the previous secret or create "
            "them again",
            unreadable,
        )


def poll_once(loaded: LoadedConfig, engine: Engine, *, out: TextIO) -> int:
    from monitor.wiring.build import poll_all

    results = poll_all(loaded, engine)
    if not results:
        print("no sources are enabled (sources.twitter.enabled / sources.email.enabled)", file=out)
        return 0
    failed = 0
    for r in results:
        print(r.summary(), file=out)
        failed += 0 if r.ok else 1
    return 1 if failed == len(results) else 0


def export(loaded: LoadedConfig, engine: Engine, *, what: str, out: TextIO) -> int:
    from monitor.ingest.transfer import export_mentions

    if what != "mentions":
        raise NotYetAvailable(f"export {what}")
    export_mentions(engine, out)
    return 0


def import_file(loaded: LoadedConfig, engine: Engine, *, path: Path, out: TextIO) -> int:
    from monitor.ingest.transfer import import_mentions
    from monitor.wiring.build import build_scorer, ingest_options

    if not path.is_file():
        raise ConfigError(f"{path}: no such file to import")
    summary = import_mentions(
        engine,
        path,
        scorer=build_scorer(loaded),
        options=ingest_options(loaded),
        progress=sys.stderr.isatty(),
    )
    print(
        f"imported {path}: {summary.lines} lines, {summary.new} new mentions, "
        f"{summary.duplicates} already stored, {len(summary.bad)} quarantined",
        file=out,
    )
    for q in summary.bad[:10]:
        print(f"  quarantined: {q.reason}", file=out)
    return 0


def demo(*, host: str, port: int, db_path: Path | None) -> int:
    from monitor.demo.world import run_demo

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return run_demo(host=host, port=port, db_path=db_path)
