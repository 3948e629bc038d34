"""The demo's X traffic through the real cost meter.

The simulated stream never calls X, but a team trying the desk wants to know what the
same traffic would cost. :class:`MeteredStream` wraps the demo source and tells the
meter, for each batch, what the real X sources would have been billed for the same
mentions: each post (the brand's own mentions read with its OAuth 2.0 user token: an
owned read) and each author (the ``author_id`` expansion), each DM event and its
sender. :func:`record_reply` does the same for the replies the demo "sends": a post, a
post with a link, a DM. The meter deduplicates per UTC day exactly as for real traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from monitor.mentions import Channel
from monitor.sources.base import Batch, Cursor, Source
from monitor.sources.twitter.costs import DM_EVENT, POST, USER, Billable, UsageMeter
from monitor.sources.twitter.dms import XDirectMessagesSource
from monitor.sources.twitter.mentions import XMentionsSource
from responders.base import Outbound

_LINK = re.compile(r"https?://", re.IGNORECASE)


def batch_reads(batch: Batch) -> dict[str, list[Billable]]:
    """Endpoint -> what X would bill for the X mentions and DMs of one batch."""
    reads: dict[str, list[Billable]] = {}
    for m in batch.mentions:
        if m.channel == Channel.X:
            endpoint, kind, owned = XMentionsSource.endpoint, POST, True
        elif m.channel == Channel.X_DM:
            endpoint, kind, owned = XDirectMessagesSource.endpoint, DM_EVENT, False
        else:
            continue
        found = reads.setdefault(endpoint, [])
        found += [Billable(kind, m.external_id, owned), Billable(USER, m.author.handle)]
    return reads


@dataclass
class MeteredStream:
    """A source that meters what passes through it (the demo's simulated X)."""

    inner: Source
    meter: UsageMeter

    @property
    def name(self) -> str:
        return self.inner.name

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        batch = self.inner.fetch(cursor, now=now)
        for endpoint, items in batch_reads(batch).items():
            self.meter.record(endpoint, items, now=now)
        return batch


def record_reply(meter: UsageMeter, outbound: Outbound, external_id: str, now: datetime) -> None:
    if outbound.channel == "x":
        kind = "post_create_url" if _LINK.search(outbound.body) else "post_create"
        meter.record("POST /2/tweets", [Billable(kind, external_id)], now=now)
    elif outbound.channel == "x_dm":
        endpoint = "POST /2/dm_conversations/with/:id/messages"
        meter.record(endpoint, [Billable("dm_create", external_id)], now=now)
