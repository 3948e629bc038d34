"""The demo's simulated outside world: X, email and Slack that deliver to a local file.

Everything the demo "sends" goes through the same interfaces as the real vendors
(:class:`responders.base.Responder` for replies, the alert sender and the Slack
``Inviter`` for promises), so the real outbox worker, alert worker and promise jobs run
unchanged. Instead of the network, each message is appended to an **outbox file**
(JSON Lines next to the demo database) and echoed to the terminal; the made-up
external ids (tweet id, DM event id, Message-ID, Slack ``ts``) are what the case
history then shows. ``find_sent`` reads the outbox file back, so reconciliation after
a crash between sending and recording finds the reply instead of sending it twice.

The simulated Slack runs in Slack Connect mode: an invite is *sent* at once and is
*accepted* ``accept_after`` later, so the real verify step sees it first pending, then
the customer in the channel, and the promise is fulfilled with that evidence.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.alerts.delivery import AlertOut
from monitor.db import utcnow
from monitor.demo.costs import record_reply
from monitor.sources.twitter.costs import UsageMeter
from responders.base import Delivery, Outbound
from responders.slack import InviteResult

Echo = Callable[[str], None]
LABELS = {"x": "X reply", "x_dm": "X DM", "email": "email"}


def _short(text: str, width: int = 72) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


@dataclass
class Outbox:
    """Append-only JSON Lines file of everything the simulated vendors received."""

    path: Path
    echo: Echo = print
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def record(self, kind: str, line: str, *, at: datetime | None = None, **fields: Any) -> None:
        entry = {"kind": kind, "at": (at or utcnow()).isoformat(), **fields}
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.echo(f"  [simulated {line}]")

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            if not self.path.exists():
                return []
            lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def _snowflake() -> str:
    """A made-up X id: digits, growing with time, like a real tweet or DM event id."""
    return str(1_900_000_000_000_000_000 + time.time_ns() // 1000)


@dataclass
class DemoReplies:
    """One responder for X replies, X DMs and email (the demo's ``build_responders``)."""

    outbox: Outbox
    domain: str = "demo.acme.example"
    clock: Callable[[], datetime] = utcnow
    meter: UsageMeter | None = None  # counts what X would bill for the replies

    def _external_id(self, outbound: Outbound) -> str:
        if outbound.channel == "email":
            return outbound.message_id or f"<{_snowflake()}@{self.domain}>"
        return _snowflake()

    def send(self, outbound: Outbound) -> Delivery:
        external_id = self._external_id(outbound)
        now = self.clock()
        who = outbound.recipient_name or outbound.recipient
        self.outbox.record(
            "reply",
            f"{LABELS.get(outbound.channel, outbound.channel)} to {who}: "
            f"“{_short(outbound.body)}” -> delivered as {external_id}",
            channel=outbound.channel,
            recipient=outbound.recipient,
            idempotency_key=outbound.idempotency_key,
            external_id=external_id,
            in_reply_to=outbound.in_reply_to,
            subject=outbound.subject,
            body=outbound.body,
            at=now,
        )
        if self.meter is not None:
            record_reply(self.meter, outbound, external_id, now)
        return Delivery(external_id=external_id, delivered_at=now, detail={"simulated": "yes"})

    def find_sent(self, outbound: Outbound) -> Delivery | None:
        for entry in reversed(self.outbox.entries()):
            if entry.get("kind") == "reply" and (
                entry.get("idempotency_key") == outbound.idempotency_key
            ):
                at = datetime.fromisoformat(str(entry["at"]))
                return Delivery(external_id=str(entry["external_id"]), delivered_at=at)
        return None


def _user_id(email: str) -> str:
    return "U" + hashlib.sha256(email.encode()).hexdigest()[:9].upper()


@dataclass
class DemoSlack:
    """Alerts (``chat.postMessage``) and Slack Connect invites, accepted after a while."""

    outbox: Outbox
    channel: str = "#acme-riders"
    accept_after: timedelta = timedelta(seconds=20)
    clock: Callable[[], datetime] = utcnow

    # -- alerts (monitor.alerts.delivery.AlertSender) -------------------------------------------
    def send(self, alert: AlertOut) -> str | None:
        ts = f"{time.time():.6f}"
        self.outbox.record(
            "slack_message",
            f"Slack message to {alert.target}: “{_short(alert.message, 110)}”",
            target=alert.target,
            alert_kind=alert.kind,
            case_id=alert.case_id,
            promise_id=alert.promise_id,
            ts=ts,
            text=alert.message,
        )
        return ts

    # -- invites (monitor.promises.perform.Inviter) ----------------------------------------
    def invite(self, email: str) -> InviteResult:
        now = self.clock()
        invite_id = "I" + _snowflake()[-10:]
        self.outbox.record(
            "slack_invite",
            f"Slack Connect invite to {self.channel} for {email} "
            f"(the customer accepts in {int(self.accept_after.total_seconds())} s)",
            email=email,
            channel=self.channel,
            invite_id=invite_id,
        )
        return InviteResult(
            "invited",
            self.channel,
            "connect",
            email,
            invite_id=invite_id,
            detail={"invited_at": now.isoformat(), "simulated": True},
        )

    def check(self, sent: Mapping[str, Any]) -> InviteResult:
        email = str(sent.get("email") or "")
        invited_at = sent.get("invited_at")
        result = InviteResult(
            "invited",
            str(sent.get("channel") or self.channel),
            "connect",
            email,
            invite_id=sent.get("invite_id"),
            detail={"invited_at": invited_at, "simulated": True},
        )
        if invited_at is None or self.clock() < datetime.fromisoformat(str(invited_at)) + (
            self.accept_after
        ):
            return result
        user = _user_id(email)
        self.outbox.record(
            "slack_member",
            f"Slack: {email} accepted the invite and is in {result.channel} as {user}",
            email=email,
            channel=result.channel,
            user_id=user,
        )
        return InviteResult(
            "member",
            result.channel,
            "connect",
            email,
            user_id=user,
            invite_id=result.invite_id,
            detail={**result.detail, "status": "accepted"},
        )
