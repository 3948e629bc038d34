"""Admin endpoints about staff accounts (``admin`` scope): list and revoke a staff
member's console sessions, clear their failed sign-ins. Kept small on purpose; the
same actions are on the CLI (``staff sessions``, ``staff unlock``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from sqlalchemy.orm import Session

from monitor.models import Staff
from monitor.staff import sessions, sign_in_limits
from monitor.web.api.cases import ERRORS, Principal, scoped
from monitor.web.deps import Config, DbTx, Now

Admin = Annotated[Principal, scoped("admin")]
router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=ERRORS)
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such staff member"}}


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    live: bool
    address: str
    user_agent: str


class RevokedOut(BaseModel):
    revoked: int


class UnlockedOut(BaseModel):
    cleared: int


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise HTTPException(404, detail=f"no staff member with id {staff_id}")
    return staff


@router.get("/{staff_id}/sessions", response_model=list[SessionOut], responses=NOT_FOUND)
def list_sessions(
    staff_id: int, session: DbTx, now: Now, cfg: Config, _p: Admin
) -> list[SessionOut]:
    """The staff member's console sessions, newest first, live or ended."""
    staff = _staff(session, staff_id)
    policy = sessions.policy_of(cfg.settings.server)
    return [
        SessionOut(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            revoked_reason=row.revoked_reason,
            live=sessions.is_live(row, policy=policy, now=now),
            address=row.address,
            user_agent=row.user_agent,
        )
        for row in sessions.of_staff(session, staff.id)
    ]


@router.delete("/{staff_id}/sessions", response_model=RevokedOut, responses=NOT_FOUND)
def revoke_sessions(staff_id: int, session: DbTx, now: Now, _p: Admin) -> RevokedOut:
    """End every console session of the staff member at once (their next request
    goes to the sign-in page)."""
    staff = _staff(session, staff_id)
    return RevokedOut(
        revoked=sessions.revoke_all(session, staff.id, now=now, reason="revoked by admin")
    )


@router.post("/{staff_id}/unlock", response_model=UnlockedOut, responses=NOT_FOUND)
def unlock(staff_id: int, session: DbTx, _p: Admin) -> UnlockedOut:
    """Clear the staff member's failed sign-ins, so they may sign in again at once."""
    staff = _staff(session, staff_id)
    return UnlockedOut(cleared=sign_in_limits.unlock(session, account=staff.name))
