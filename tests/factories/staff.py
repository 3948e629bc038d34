"""Staff accounts and API tokens. Every account signs in with ``PASSWORD``."""

from __future__ import annotations

import functools

from sqlalchemy.orm import Session

from monitor.models import Role, Staff
from monitor.staff import accounts
from tests.factories import T0

PASSWORD = "correct horse battery"


@functools.cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def make_staff(
    session: Session,
    name: str,
    *,
    role: Role = Role.AGENT,
    lead: Staff | None = None,
    tz: str = "UTC",
    active: bool = True,
    display_name: str | None = None,
) -> Staff:
    """An account named ``name`` (address ``name@acme.test``), flushed so it has an id."""
    staff = Staff(
        name=name,
        display_name=display_name or name,
        email=f"{name}@acme.test",
        role=role,
        password_hash=_password_hash(),
        timezone=tz,
        lead_id=lead.id if lead else None,
        active=active,
        created_at=T0,
    )
    session.add(staff)
    session.flush()
    return staff


def make_token(
    session: Session, scopes: list[str], *, staff: Staff | None = None, name: str = "test"
) -> str:
    """A new API token's secret."""
    return accounts.create_token(session, name=name, scopes=scopes, now=T0, staff=staff).secret


def fetch_staff(session: Session, staff_id: int) -> Staff:
    found = session.get(Staff, staff_id)
    assert found is not None
    return found
