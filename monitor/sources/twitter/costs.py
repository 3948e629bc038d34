"""What each X response is billed for, handed to a :class:`UsageMeter`.

X bills pay-per-use reads per *resource returned*: every post in ``data`` or
``includes.tweets``, every user in ``includes.users``, every DM event; reads of the
authenticated account's own data (its mentions, with user-context auth) at the lower
"owned reads" price; and writes per request (a post, a post with a URL, a DM). A
resource is billed once per UTC day however often it is read, so the meter keeps ids,
not counts. This module only says *what* was returned; the meter (``monitor.usage``)
deduplicates, prices and budgets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

POST, USER, DM_EVENT = "post", "user", "dm_event"
POST_CREATE, POST_CREATE_URL, DM_CREATE = "post_create", "post_create_url", "dm_create"
READS = (POST, USER, DM_EVENT)
WRITES = (POST_CREATE, POST_CREATE_URL, DM_CREATE)


@dataclass(frozen=True)
class Billable:
    resource: str  # one of READS or WRITES
    resource_id: str
    owned: bool = False


class UsageMeter(Protocol):
    def record(self, endpoint: str, items: Sequence[Billable], *, now: datetime) -> None: ...


class NoMeter:
    """For callers that do not meter (``import`` of saved pages)."""

    def record(self, endpoint: str, items: Sequence[Billable], *, now: datetime) -> None:
        return None


def _ids(objects: Any) -> list[str]:
    if not isinstance(objects, list):
        return []
    return [str(o["id"]) for o in objects if isinstance(o, dict) and isinstance(o.get("id"), str)]


def response_reads(body: Any, *, data_kind: str, owned: bool) -> list[Billable]:
    """The billable resources of one decoded X response body."""
    if not isinstance(body, dict):
        return []
    found = [Billable(data_kind, i, owned) for i in _ids(body.get("data"))]
    includes = body.get("includes")
    if isinstance(includes, dict):
        found += [Billable(USER, i) for i in _ids(includes.get("users"))]
        found += [Billable(POST, i) for i in _ids(includes.get("tweets"))]
    return found
