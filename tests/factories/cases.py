"""Cases: a bare case row, or the case that ingesting some mentions opens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Case, CaseStatus, Customer, Mention
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories import T0

OPTS = IngestOptions(own_addresses=("support@acme.test",))


def make_case(
    session: Session,
    *,
    score: int = 50,
    channel: str = "x",
    status: str = CaseStatus.OPEN,
    waiting_since: datetime | None = T0,
    customer: str = "Dan",
    band: str = "medium",
    reasons: list[str] | None = None,
) -> Case:
    cust = Customer(display_name=customer, created_at=T0)
    case = Case(
        customer=cust,
        status=status,
        channel=channel,
        subject="",
        priority=float(score),
        score=score,
        band=band,
        reasons=reasons if reasons is not None else ["text: angry words"],
        unanswered_count=1 if waiting_since else 0,
        public=channel == "x",
        created_at=T0,
        updated_at=T0,
        first_unanswered_at=waiting_since,
    )
    session.add(case)
    session.flush()
    return case


def ingest(session: Session, scorer: Scorer, mentions: list[Any], *, now: datetime) -> Case:
    """Ingest mentions; returns the case of the last one."""
    batch = Batch(mentions=mentions, next_cursor={"n": now.isoformat()}, quarantined=[])
    ingest_batch(session, batch, source="test", now=now, scorer=scorer, options=OPTS)
    session.flush()
    last = mentions[-1]
    mention = session.scalars(select(Mention).where(Mention.external_id == last.external_id)).one()
    case = session.get(Case, mention.case_id, populate_existing=True)
    assert case is not None
    return case
