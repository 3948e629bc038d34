"""GET /live/notices/{event_id}: whether the signed-in staff member's browser should
show a notification (and play the sound) for one live event; see monitor.alerts.desktop.
The answer is per person, behind the session, so the stream itself stays anonymous."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from monitor.alerts.desktop import notice_for
from monitor.web.auth import CurrentStaff
from monitor.web.deps import DbTx

router = APIRouter(include_in_schema=False)


@router.get("/live/notices/{event_id}")
def live_notice(session: DbTx, staff: CurrentStaff, event_id: int) -> dict[str, Any]:
    found = notice_for(session, event_id, staff)
    return {"notify": False} if found is None else {"notify": True, **asdict(found)}
