"""The ``complaint-monitor`` command. Parsing and dispatch only; the work lives elsewhere.

Every expected failure (bad config, missing secret, unreachable database, bad input)
ends as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import cli_staff
from monitor.config import ConfigError, LoadedConfig, load_config

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_YET = 4


class CommandError(Exception):
    """A user-facing failure of a command, with its exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


Handler = Callable[[argparse.Namespace], int]


def _config(args: argparse.Namespace, *, require_file: bool = True) -> LoadedConfig:
    return load_config(args.config, require_file=require_file)


def _database_config(args: argparse.Namespace) -> LoadedConfig:
    """The config of a command that only touches the database: no source secrets needed."""
    return load_config(args.config, require_file=False, with_secrets=False)


def _engine(loaded: LoadedConfig, *, migrated: bool = True) -> Engine:
    """An engine that answers; unless ``migrated=False``, at this release's schema."""
    from monitor.db import check_connection, make_engine
    from monitor.storage import migrate

    engine = make_engine(loaded.settings.database.url, echo=loaded.settings.database.echo)
    check_connection(engine)
    if migrated:
        migrate.require_current(engine)
    return engine


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from monitor.storage import migrate

    engine = _engine(_database_config(args), migrated=False)
    migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)} (head)")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from monitor.storage import migrate

    engine = _engine(_database_config(args), migrated=False)
    current, head = migrate.current_revision(engine), migrate.head_revision()
    print(f"current: {current or '(empty)'}  head: {head}")
    return 0 if current == head else 1


def cmd_token_create(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from monitor.db import make_sessionmaker, utcnow
    from monitor.models import Staff
    from monitor.staff import accounts

    engine = _engine(_database_config(args))
    scopes = [s for part in args.scopes for s in part.split(",") if s]
    with make_sessionmaker(engine).begin() as session:
        staff = None
        if args.staff:
            staff = session.scalar(select(Staff).where(Staff.name == args.staff))
            if staff is None:
                raise CommandError(f"no staff member named {args.staff!r}")
        try:
            issued = accounts.create_token(
                session, name=args.name, scopes=scopes, now=utcnow(), staff=staff
            )
        except accounts.AccountError as exc:
            raise CommandError(str(exc)) from None
        print(issued.secret)
        print(
            f"token {issued.token.id} ({', '.join(issued.token.scopes)}): shown once, "
            "store it now; only its hash is kept",
            file=sys.stderr,
        )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from monitor.db import make_sessionmaker
    from monitor.models import ApiToken

    engine = _engine(_database_config(args))
    with make_sessionmaker(engine)() as session:
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if t.revoked_at else "active"
            print(f"{t.id}\t{t.name}\t{t.prefix}…\t{','.join(t.scopes)}\t{state}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from monitor.db import make_sessionmaker, utcnow
    from monitor.staff import accounts

    engine = _engine(_database_config(args))
    with make_sessionmaker(engine).begin() as session:
        try:
            accounts.revoke_token(session, args.id, now=utcnow())
        except accounts.AccountError as exc:
            raise CommandError(str(exc)) from None
    print(f"token {args.id} revoked")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from monitor import runtime

    loaded = _config(args)
    return runtime.serve(loaded, host=args.host, port=args.port)


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor import runtime

    return runtime.demo(host=args.host, port=args.port, db_path=args.db)


def cmd_poll(args: argparse.Namespace) -> int:
    from monitor import runtime

    if not args.once:
        raise CommandError(
            "poll runs one cycle and exits: pass --once (serve polls continuously)", EXIT_USAGE
        )
    loaded = _config(args)
    return runtime.poll_once(loaded, _engine(loaded), out=sys.stdout)


def cmd_score(args: argparse.Namespace) -> int:
    from monitor.scoring import ModelFileError, load_text_scorer
    from monitor.scoring.commands import score_stream

    loaded = _config(args, require_file=False)
    try:
        model = load_text_scorer(loaded.settings.scoring)
    except ModelFileError as exc:
        raise CommandError(f"scoring: {exc}", EXIT_USAGE) from None
    return score_stream(sys.stdin.buffer, sys.stdout, model=model, settings=loaded.settings.scoring)


def cmd_train_scorer(args: argparse.Namespace) -> int:
    from monitor.scoring.commands import train_scorer

    if not args.data.is_dir():
        raise CommandError(f"--data {args.data}: not a directory", EXIT_USAGE)
    figures, note = train_scorer(
        args.data, args.out, use_teacher=not args.no_teacher, threads=args.threads
    )
    print(note, file=sys.stderr)
    for name, value in figures.items():
        print(f"{name}\t{value:.4f}")
    print(f"model written to {args.out}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from monitor import runtime

    loaded = _database_config(args)
    return runtime.export(loaded, _engine(loaded), what=args.what, out=sys.stdout)


def cmd_import(args: argparse.Namespace) -> int:
    from monitor import runtime

    loaded = _database_config(args)
    return runtime.import_file(loaded, _engine(loaded), path=args.file, out=sys.stdout)


def cmd_connect(args: argparse.Namespace) -> int:
    from monitor.connections.flows import FlowFailed
    from monitor.wiring.connect import describe_account, run_connect

    loaded = _config(args)
    engine = _engine(loaded)
    try:
        line = run_connect(
            loaded,
            engine,
            args.account,
            out=sys.stdout,
            paste=sys.stdin if args.paste else None,
            describe=describe_account(loaded, args.account),
        )
    except FlowFailed as exc:
        raise CommandError(f"connect {args.account}: {exc}") from None
    print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaint-monitor",
        description="Service-recovery desk: watch complaints on X and email, reply "
        "personally, keep every promise.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $COMPLAINT_MONITOR_CONFIG or ./config.yaml)",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    def add(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    _add_run_commands(add)
    _add_data_commands(add)
    _add_admin_commands(add)
    return parser


AddCommand = Callable[[str, Handler, str], argparse.ArgumentParser]


def _add_run_commands(add: AddCommand) -> None:
    """serve, demo, poll: the commands that run the desk."""
    p = add("serve", cmd_serve, "run the console, REST API and scheduler in one process")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p = add(
        "demo", cmd_demo, "try it: embedded SQLite, simulated X/email/Slack traffic, no credentials"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--db", type=Path, help="SQLite file for the demo (default: a temp file)")
    p = add("poll", cmd_poll, "poll every enabled source once and exit (cron-friendly)")
    p.add_argument("--once", action="store_true", help="run one cycle, then exit")


def _add_data_commands(add: AddCommand) -> None:
    """score, train-scorer, export, import: text and records in and out."""
    add("score", cmd_score, "score JSON Lines from stdin for frustration, one line out per line in")
    p = add("train-scorer", cmd_train_scorer, "train the frustration text model from data sets")
    p.add_argument("--data", type=Path, required=True, help="datasets directory")
    p.add_argument("--out", type=Path, required=True, help="model file to write (.npz)")
    p.add_argument(
        "--no-teacher", action="store_true", help="train from the labels alone (no encoder)"
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for the teacher")
    p = add("export", cmd_export, "write JSON Lines of stored records to stdout")
    p.add_argument("what", choices=["mentions"])
    p = add("import", cmd_import, "backfill mentions from a JSON Lines export or X API v2 dump")
    p.add_argument("file", type=Path)


def _add_admin_commands(add: AddCommand) -> None:
    """connect, db, staff, token: setting the desk up."""
    p = add("connect", cmd_connect, "sign in to a mailbox or the X account with OAuth 2.0")
    p.add_argument("account", choices=["email", "x"], help="which connection to set up")
    p.add_argument(
        "--paste",
        action="store_true",
        help="code flow: paste the URL the browser was sent to instead of listening on it",
    )
    db = add("db", lambda a: _usage(db), "database schema: upgrade, current")
    db_sub = db.add_subparsers(dest="db_command", metavar="<db command>")
    db_sub.add_parser("upgrade", help="migrate the database to the latest schema").set_defaults(
        handler=cmd_db_upgrade
    )
    db_sub.add_parser("current", help="show the schema revision").set_defaults(
        handler=cmd_db_current
    )
    staff = add(
        "staff",
        lambda a: _usage(staff),
        "manage staff accounts: add, list, passwd, deactivate, activate, unlock, sessions",
    )
    cli_staff.add_parsers(staff.add_subparsers(dest="staff_command", metavar="<staff command>"))
    token = add("token", lambda a: _usage(token), "manage API tokens: create, list, revoke")
    _add_token_commands(token)


def _add_token_commands(token: argparse.ArgumentParser) -> None:
    token_sub = token.add_subparsers(dest="token_command", metavar="<token command>")
    p = token_sub.add_parser("create", help="create an API token; printed once, stored hashed")
    p.add_argument("--name", default="api")
    p.add_argument(
        "--scopes",
        nargs="+",
        required=True,
        help="e.g. queue:read cases:write (comma or space separated)",
    )
    p.add_argument("--staff", help="act as this staff member")
    p.set_defaults(handler=cmd_token_create)
    token_sub.add_parser("list", help="list tokens").set_defaults(handler=cmd_token_list)
    p = token_sub.add_parser("revoke", help="revoke a token by id")
    p.add_argument("id", type=int)
    p.set_defaults(handler=cmd_token_revoke)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    from monitor.db import DatabaseUnavailable
    from monitor.runtime import CannotListen, NotYetAvailable
    from monitor.storage.migrate import SchemaNotCurrent

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except ConfigError as exc:
        print(f"complaint-monitor: config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DatabaseUnavailable, SchemaNotCurrent, CannotListen) as exc:
        print(f"complaint-monitor: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except CommandError as exc:
        print(f"complaint-monitor: {exc}", file=sys.stderr)
        return exc.code
    except cli_staff.StaffCommandError as exc:
        print(f"complaint-monitor: {exc}", file=sys.stderr)
        return 1
    except NotYetAvailable as exc:
        print(f"complaint-monitor: {exc}: not available yet in this version", file=sys.stderr)
        return EXIT_NOT_YET
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
