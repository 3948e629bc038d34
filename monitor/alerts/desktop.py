"""What a browser notification says, for one live event and one staff member.

The live stream (monitor.web.sse) carries only ``{id, kind, case_id}``. A console that
has notifications switched on asks about the events that may deserve one, and hears
back here, for the signed-in staff member only:

- a *critical arrival*: ``mention.created`` whose case scored in the critical band;
- an *alert addressed to me*: ``alert.sent`` whose target is my email address (a Slack
  message to me is addressed by my email too; see monitor.promises.recipients).

Everything else is None. The text names the case and the kind of alert, never what the
customer wrote: a notification may show on a screen others can see.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from monitor.events import EventKind
from monitor.models import Event, Staff

ALERT_SENT = "alert.sent"
WORTH_ASKING = (EventKind.MENTION_CREATED.value, ALERT_SENT)  # the kinds a browser asks about
CHANNELS = {"x": "X", "x_dm": "an X DM", "email": "email"}


@dataclass(frozen=True)
class Notice:
    kind: str  # "critical" | "alert"
    title: str
    body: str
    url: str


def _critical(event: Event) -> Notice | None:
    p = event.payload or {}
    if p.get("band") != "critical" or event.case_id is None:
        return None
    channel = CHANNELS.get(str(p.get("channel", "")), "a channel")
    return Notice(
        "critical",
        f"Critical: case #{event.case_id}",
        f"A message on {channel} scored {p.get('score', '?')}/100.",
        f"/cases/{event.case_id}",
    )


def _alert_to(event: Event, staff: Staff) -> Notice | None:
    p = event.payload or {}
    target = str(p.get("target", "")).strip().lower()
    if not staff.email or target != staff.email.strip().lower():
        return None
    what = str(p.get("kind", "alert")).replace("_", " ").replace(".", " ")
    where = f"case #{event.case_id}" if event.case_id else "the desk"
    return Notice(
        "alert",
        f"Alert for you: {what}",
        f"About {where}.",
        f"/cases/{event.case_id}" if event.case_id else "/alerts",
    )


def notice_for(session: Session, event_id: int, staff: Staff) -> Notice | None:
    """The notification ``staff`` should see for the event, or None."""
    event = session.get(Event, event_id)
    if event is None:
        return None
    if event.kind == EventKind.MENTION_CREATED:
        return _critical(event)
    if event.kind == ALERT_SENT:
        return _alert_to(event, staff)
    return None
