"""``complaint-monitor staff ...``: what an admin does to accounts from the shell.

add, list, passwd (ends every console session of the account), deactivate / activate
(deactivating ends every session), unlock (clears failed sign-ins of an account or an
address), sessions list / revoke. Parsing lives in :mod:`monitor.cli`; the work in
:mod:`monitor.staff`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from monitor.config import LoadedConfig, load_config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Handler = Callable[[argparse.Namespace], int]


class StaffCommandError(Exception):
    """A user-facing failure (one line on stderr, exit 1)."""


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise StaffCommandError("passwords do not match")
    return first


@contextmanager
def _transaction(args: argparse.Namespace) -> Iterator[Session]:
    from monitor.db import check_connection, make_engine, make_sessionmaker
    from monitor.staff.accounts import AccountError
    from monitor.storage.migrate import require_current

    # only the database settings: no source or responder secrets
    loaded: LoadedConfig = load_config(args.config, require_file=False, with_secrets=False)
    engine = make_engine(loaded.settings.database.url, echo=loaded.settings.database.echo)
    check_connection(engine)
    require_current(engine)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session
    except AccountError as exc:
        raise StaffCommandError(str(exc)) from None
    finally:
        engine.dispose()


def cmd_add(args: argparse.Namespace) -> int:
    from monitor.db import utcnow
    from monitor.staff import accounts

    password = _read_password(args)
    with _transaction(args) as session:
        staff = accounts.create_staff(
            session,
            name=args.name,
            password=password,
            role=args.role,
            now=utcnow(),
            display_name=args.display_name or "",
            email=args.email,
            timezone=args.timezone,
        )
        print(f"staff {staff.name!r} added with role {staff.role} (id {staff.id})")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from monitor.models import Staff

    with _transaction(args) as session:
        for s in session.scalars(select(Staff).order_by(Staff.name)):
            print(f"{s.id}\t{s.name}\t{s.role}\t{'active' if s.active else 'disabled'}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from monitor.db import utcnow
    from monitor.staff import accounts

    password = _read_password(args)
    with _transaction(args) as session:
        staff = accounts.by_name(session, args.name)
        ended = accounts.change_password(session, staff, password=password, now=utcnow())
        print(f"password of {staff.name!r} changed; {ended} console session(s) ended")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> int:
    from monitor.db import utcnow
    from monitor.staff import accounts

    with _transaction(args) as session:
        staff = accounts.by_name(session, args.name)
        ended = accounts.set_active(session, staff, active=active, now=utcnow())
        state = "active" if active else f"deactivated; {ended} console session(s) ended"
        print(f"staff {staff.name!r} {state}")
    return 0


def cmd_deactivate(args: argparse.Namespace) -> int:
    return _set_active(args, False)


def cmd_activate(args: argparse.Namespace) -> int:
    return _set_active(args, True)


def cmd_unlock(args: argparse.Namespace) -> int:
    from monitor.staff import accounts, sign_in_limits

    if not args.name and not args.address:
        raise StaffCommandError("give a staff name, --address ADDRESS, or both")
    with _transaction(args) as session:
        name = accounts.by_name(session, args.name).name if args.name else None
        cleared = sign_in_limits.unlock(session, account=name, address=args.address)
        what = " and ".join(x for x in (f"{name!r}" if name else "", args.address or "") if x)
        print(f"unlocked {what}: {cleared} failed sign-in(s) cleared")
    return 0


def cmd_sessions_list(args: argparse.Namespace) -> int:
    from monitor.db import utcnow
    from monitor.staff import accounts, sessions

    with _transaction(args) as session:
        staff = accounts.by_name(session, args.name)
        now = utcnow()
        policy = sessions.policy_of(load_config(args.config, require_file=False).settings.server)
        for row in sessions.of_staff(session, staff.id):
            if sessions.is_live(row, policy=policy, now=now):
                state = "live"
            else:
                state = f"ended ({row.revoked_reason or 'expired'})"
            print(
                f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t"
                f"last seen {row.last_seen_at:%Y-%m-%d %H:%M}\t{state}\t"
                f"{row.address}\t{row.user_agent[:60]}"
            )
    return 0


def cmd_sessions_revoke(args: argparse.Namespace) -> int:
    from monitor.db import utcnow
    from monitor.staff import accounts, sessions

    with _transaction(args) as session:
        staff = accounts.by_name(session, args.name)
        ended = sessions.revoke_all(session, staff.id, now=utcnow(), reason="revoked by admin")
        print(f"{ended} console session(s) of {staff.name!r} ended")
    return 0


def add_parsers(staff_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``staff`` subcommands, added to the parser :mod:`monitor.cli` builds."""
    p = staff_sub.add_parser("add", help="add a staff member (password prompted or on stdin)")
    p.add_argument("name")
    p.add_argument("--role", choices=["agent", "lead", "admin"], default="agent")
    p.add_argument("--display-name")
    p.add_argument("--email")
    p.add_argument("--timezone", help="IANA zone for the console (default: follow the browser)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(handler=cmd_add)
    staff_sub.add_parser("list", help="list staff").set_defaults(handler=cmd_list)
    p = staff_sub.add_parser(
        "passwd", help="set a new password (prompted or on stdin); ends the account's sessions"
    )
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(handler=cmd_passwd)
    for name, handler, help_ in (
        ("deactivate", cmd_deactivate, "disable an account and end its console sessions"),
        ("activate", cmd_activate, "enable a disabled account again"),
    ):
        p = staff_sub.add_parser(name, help=help_)
        p.add_argument("name")
        p.set_defaults(handler=handler)
    p = staff_sub.add_parser(
        "unlock", help="clear failed sign-ins of an account (and/or of a client address)"
    )
    p.add_argument("name", nargs="?")
    p.add_argument("--address", help="also clear the failures counted against this address")
    p.set_defaults(handler=cmd_unlock)
    p = staff_sub.add_parser("sessions", help="console sessions of an account: list, revoke")
    sessions_sub = p.add_subparsers(dest="sessions_command", metavar="<sessions command>")
    sessions_sub.required = True
    q = sessions_sub.add_parser("list", help="list the account's sessions, newest first")
    q.add_argument("name")
    q.set_defaults(handler=cmd_sessions_list)
    q = sessions_sub.add_parser("revoke", help="end every console session of the account")
    q.add_argument("name")
    q.set_defaults(handler=cmd_sessions_revoke)
