"""The demo's simulated X traffic goes through the real cost meter, billed as X would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.config.costs import XPrices
from monitor.db import make_sessionmaker
from monitor.demo.responders import DemoReplies, Outbox
from monitor.demo.world import DemoSource, demo_settings
from monitor.mentions import Channel
from monitor.models import Mention
from monitor.usage.meter import StoredMeter, summary
from monitor.wiring.demo import poll_job
from monitor.wiring.sources import build_scorer
from responders.base import Outbound
from tests.factories import T0


def test_the_demo_stream_and_replies_are_metered_once_per_resource_and_day(
    committed_engine: Engine, tmp_path: Path
) -> None:
    sessions = make_sessionmaker(committed_engine)
    scorer = build_scorer(demo_settings(str(committed_engine.url), "127.0.0.1", 0))
    meter = StoredMeter(sessions)
    poll = poll_job(committed_engine, DemoSource(run="c1", started_at=T0), scorer, meter=meter)
    for second in range(0, 240, 2):
        poll.run(T0 + timedelta(seconds=second))
    with Session(committed_engine) as s:
        x_posts = s.scalar(select(func.count()).where(Mention.channel == Channel.X.value))
        dms = s.scalar(select(func.count()).where(Mention.channel == Channel.X_DM.value))
        authors = s.scalar(
            select(func.count(func.distinct(Mention.author))).where(
                Mention.channel.in_([Channel.X.value, Channel.X_DM.value])
            )
        )
        today = summary(s, prices=XPrices(), now=T0).today
    counts: dict[str, int] = {}
    for line in today.lines:
        counts[line.resource] = counts.get(line.resource, 0) + line.count
    assert x_posts and counts["post"] == x_posts  # each mention once, however often polled
    assert counts.get("dm_event", 0) == dms
    assert counts["user"] <= authors  # an author is billed once a day, not per post
    assert all(line.owned for line in today.lines if line.resource == "post")

    replies = DemoReplies(
        Outbox(tmp_path / "o.jsonl", echo=lambda _: None), meter=meter, clock=lambda: T0
    )
    for body in ("Sorry Priya, refunded today.", "Track it here: https://acme.example/t/1"):
        replies.send(
            Outbound(channel="x", body=body, recipient="9", in_reply_to="1", idempotency_key=body)
        )
    with Session(committed_engine) as s:
        lines = summary(s, prices=XPrices(), now=T0).today.lines
    writes = {line.resource: line.count for line in lines if line.endpoint == "POST /2/tweets"}
    assert writes == {"post_create": 1, "post_create_url": 1}
