"""The silence alarm over stored mentions: one alert per silence period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.ingest import silence
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Alert
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories.mentions import tweet

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def receive(session: Session, scorer: Scorer, at: datetime, n: int) -> None:
    batch = Batch([tweet(n, "@brand hi", at=at)], {"since_id": str(n)})
    ingest_batch(
        session, batch, source="x:mentions", now=at, scorer=scorer, options=IngestOptions()
    )


@pytest.mark.db
def test_a_usually_busy_source_gone_quiet_alerts_once_per_silence(
    session: Session, scorer: Scorer
) -> None:
    receive(session, scorer, NOW - timedelta(hours=7), 1)
    watched = {"x:*": 6}
    assert [s.source for s in silence.check(session, watched, now=NOW, channels=())] == [
        "x:mentions"
    ]
    silence.check(session, watched, now=NOW + timedelta(minutes=15), channels=())
    alerts = session.scalars(select(Alert).where(Alert.kind == "source.silent")).all()
    assert len(alerts) == 1 and "nothing for more than 6 h" in alerts[0].message
    receive(session, scorer, NOW + timedelta(hours=1), 2)  # traffic again: period over
    assert silence.check(session, watched, now=NOW + timedelta(hours=2), channels=()) == []
    silence.check(session, watched, now=NOW + timedelta(hours=8), channels=())  # quiet again
    assert len(session.scalars(select(Alert).where(Alert.kind == "source.silent")).all()) == 2


@pytest.mark.db
def test_a_source_that_is_always_quiet_or_off_raises_nothing(
    session: Session, scorer: Scorer
) -> None:
    receive(session, scorer, NOW - timedelta(hours=60), 1)  # quiet for longer than 8 x 6 h
    assert silence.check(session, {"x:*": 6}, now=NOW, channels=()) == []
    receive(session, scorer, NOW - timedelta(hours=7), 2)
    assert silence.check(session, {"x:*": 0}, now=NOW, channels=()) == []  # 0 = off
