"""Process-level entry points behind the CLI: serve, poll once, export, import, demo.

Each builds what it runs through :mod:`monitor.wiring` and owns the process: logging,
the listening socket, the scheduler and the engine's lifetime.
"""

from __future__ import annotations

import errno
import logging
import secrets
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Engine

from monitor.config import ConfigError, LoadedConfig, ServerSettings
from monitor.db import check_connection, make_engine

if TYPE_CHECKING:  # the scorer (numpy, the text model) loads only for commands that score
    from monitor.priority.service import Scorer

log = logging.getLogger(__name__)


class NotYetAvailable(Exception):
    """A command whose feature is planned but not built yet."""


class CannotListen(Exception):
    """The address to serve on cannot be bound (in use, not local, not allowed)."""


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


def proxy_options(server: ServerSettings) -> dict[str, Any]:
    """uvicorn's proxy settings: forwarded headers are believed only from the proxies in
    ``server.trusted_proxies``. uvicorn's own default believes X-Forwarded-For from
    127.0.0.1 (and $FORWARDED_ALLOW_IPS), so a local client could name any address it
    liked and step around the per-address sign-in limit."""
    if not server.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(server.trusted_proxies)}


def serve(loaded: LoadedConfig, *, host: str | None, port: int | None) -> int:
    import uvicorn

    from monitor.scheduler import Scheduler, Services
    from monitor.storage import migrate
    from monitor.storage.wal_checkpoint import WalCheckpointer
    from monitor.web.app import create_app
    from monitor.web.metrics import Metrics
    from monitor.wiring.jobs import scheduled_jobs

    secret = _session_secret(loaded)
    engine = make_engine(loaded.settings.database.url, echo=loaded.settings.database.echo)
    check_connection(engine)
    migrate.require_current(engine)
    host = host or loaded.settings.server.host
    port = port if port is not None else loaded.settings.server.port
    sock = _bind(host, port, hint="pass --port N (or set server.port)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _seal_webhook_secrets(engine, secret)
    run_jobs = loaded.settings.server.run_scheduler
    metrics = Metrics()  # the app's registry; the scheduler times its jobs into it
    jobs = (
        [Scheduler(scheduled_jobs(loaded, engine), observe=metrics.observe_job)] if run_jobs else []
    )
    # SQLite: the checkpointer copies the WAL back beside ingestion, not inside its commits.
    background = Services(WalCheckpointer(engine), *jobs)
    app = create_app(loaded, engine, background=background, metrics=metrics)
    log.info("serving on %s", _url(host, sock.getsockname()[1]))
    config = uvicorn.Config(
        app, host=host, port=port, log_level="info", **proxy_options(loaded.settings.server)
    )
    uvicorn.Server(config).run(sockets=[sock])
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
    from monitor.wiring.sources import poll_all

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


def import_file(
    loaded: LoadedConfig, engine: Engine, *, path: Path, out: TextIO, err: TextIO = sys.stderr
) -> int:
    """Import ``path``; the summary on ``out``, one line per item kept aside on ``err``."""
    from monitor.ingest.transfer import import_mentions
    from monitor.wiring.sources import build_scorer, ingest_options

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
        f"{summary.duplicates} already stored, {len(summary.bad)} quarantined"
        + (f", {summary.values} customer values set" if summary.values else ""),
        file=out,
    )
    for q in summary.bad:
        which = f" (id {q.external_id})" if q.external_id else ""
        line = f"{path}: quarantined{which}: {q.reason}"
        print(line.encode("utf-8", "backslashreplace").decode(), file=err)
    return 0


def demo(*, host: str, port: int, db_path: Path | None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return run_demo(host=host, port=port, db_path=db_path)


def _bind(host: str, port: int, *, hint: str) -> socket.socket:
    """Listen before anything starts, so a busy port is one line, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CannotListen(f"port {port} on {host} is in use: {hint}") from None
        reason = exc.strerror or str(exc)
        raise CannotListen(f"cannot listen on {host} port {port}: {reason}") from None
    # listening now, not when the server starts: a browser (or script) that reads the
    # printed URL and connects before then waits in the backlog instead of being refused
    sock.listen(socket.SOMAXCONN)
    return sock


def _url(host: str, port: int) -> str:
    from monitor.demo.world import ANY_ADDRESS

    shown = f"[{host}]" if ":" in host else host
    if host in ANY_ADDRESS:
        shown = "localhost"
    return f"http://{shown}:{port}/"


def run_demo(
    *,
    host: str,
    port: int,
    db_path: Path | None,
    out: Callable[[str], None] = print,
    scorer: Scorer | None = None,
) -> int:
    import uvicorn

    from monitor.demo.world import demo_settings, welcome
    from monitor.storage import migrate
    from monitor.wiring.sources import build_scorer

    # bound first: a busy port stops the demo before it makes anything, and the URL
    # printed is right even for port 0
    sock = _bind(host, port, hint="pass --port N (make demo PORT=N)")
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="complaint-monitor-demo-")) / "demo.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{db_path.resolve()}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    actual_port = sock.getsockname()[1]
    loaded = demo_settings(url, host, actual_port)
    password = secrets.token_urlsafe(9)
    app, outbox_path = _demo_app(
        loaded, engine, db_path, scorer or build_scorer(loaded), password=password, out=out
    )
    for line in welcome(_url(host, actual_port), password, db_path, outbox_path):
        out(line)
    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=2,
        ws="none",
        **proxy_options(loaded.settings.server),
    )
    uvicorn.Server(config).run(sockets=[sock])
    engine.dispose()
    return 0


def _demo_app(
    loaded: LoadedConfig,
    engine: Engine,
    db_path: Path,
    scorer: Scorer,
    *,
    password: str,
    out: Callable[[str], None],
) -> tuple[Any, Path]:
    """Seed the demo world and build its app: simulated sources, responders and jobs."""
    from monitor.db import make_sessionmaker, utcnow
    from monitor.demo import reactions
    from monitor.demo.past import seed_past
    from monitor.demo.responders import DemoReplies, DemoSlack, Outbox
    from monitor.demo.world import DemoSource, ensure_staff, seed
    from monitor.scheduler import Scheduler, Services
    from monitor.storage.wal_checkpoint import WalCheckpointer
    from monitor.usage.meter import StoredMeter
    from monitor.web.app import create_app
    from monitor.web.metrics import Metrics
    from monitor.wiring.demo import demo_jobs, poll_job

    run, now = secrets.token_hex(3), utcnow()
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        staff = ensure_staff(session, password=password, now=now)
        seed(session, run=run, now=now, scorer=scorer, staff=staff)
        seed_past(session, run=run, now=now, scorer=scorer, lead=staff)
    source = DemoSource(run=run, started_at=now, replies=reactions.reader(sessions, now))
    outbox = Outbox(db_path.with_suffix(".outbox.jsonl"), echo=out)
    meter = StoredMeter(sessions)  # what the same traffic would cost on X (/healthz)
    jobs = demo_jobs(
        loaded,
        engine,
        replies=DemoReplies(outbox, meter=meter),
        slack=DemoSlack(outbox),
        scorer=scorer,
        holder=f"demo-{run}",
    )
    metrics = Metrics()
    background = Services(
        WalCheckpointer(engine),
        Scheduler(
            [poll_job(engine, source, scorer, meter=meter), *jobs], observe=metrics.observe_job
        ),
    )
    app = create_app(
        loaded,
        engine,
        background=background,
        session_secret=secrets.token_urlsafe(48),
        metrics=metrics,
    )
    return app, outbox.path
