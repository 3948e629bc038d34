"""Live updates: the events table is the outbox, one tailer per process fans it out.

Each app process runs one :class:`Broadcaster` (on ``app.state``, started and stopped
with the lifespan). It follows the events table by id and pushes each new event to
every connected browser's queue. What wakes it:

- PostgreSQL: ``LISTEN`` on the channel that :func:`monitor.events.append` notifies in
  the same transaction as the event, so a commit in *any* process (another `serve`, the
  poller, a CLI) wakes every tailer at once; a slow poll backs that up in case a
  notification is lost while the listening connection reconnects.
- SQLite (one machine): a short poll of ``max(id)``.

Browsers get only ``{id, kind, case_id}``; they fetch what they show through the normal
authorised pages, so the stream never carries customer text.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor import events
from monitor.db import make_sessionmaker

log = logging.getLogger(__name__)
SUBSCRIBER_BUFFER = 1000


@dataclass(frozen=True)
class Published:
    id: int
    kind: str
    case_id: int | None

    def sse(self) -> dict[str, Any]:
        data = json.dumps({"id": self.id, "kind": self.kind, "case_id": self.case_id})
        return {"id": str(self.id), "event": "case", "data": data}


@dataclass(eq=False)  # identity semantics: each connection is its own subscriber
class Subscription:
    queue: asyncio.Queue[Published | None] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_BUFFER)
    )
    overflowed: bool = False


class Broadcaster:
    """Tails the events table and fans new events out to subscribers (one per process)."""

    def __init__(
        self, engine: Engine, *, poll_seconds: float = 0.2, listen_poll_seconds: float = 2.0
    ) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self.postgres = engine.dialect.name == "postgresql"
        self.poll_seconds = listen_poll_seconds if self.postgres else poll_seconds
        self.last_id = 0
        self.subscribers: set[Subscription] = set()
        self.listening = False
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lifespans = 0  # app lifespans using it; the first starts it, the last stops it

    # --- lifecycle (called from the app lifespan) -------------------------------------

    async def start(self) -> None:
        """Start tailing; a second lifespan of the same app (two test clients at once)
        shares the running tailer instead of replacing the first one's."""
        self._lifespans += 1
        if self._lifespans > 1:
            return
        self._wake = asyncio.Event()
        try:
            self.last_id = await anyio.to_thread.run_sync(self._latest_id)
        except BaseException:  # the app does not start; a later start must really start
            self._lifespans -= 1
            raise
        self._tasks.append(asyncio.create_task(self._tail(), name="events-tailer"))
        if self.postgres:
            self._tasks.append(asyncio.create_task(self._listen(), name="events-listener"))

    async def stop(self) -> None:
        self._lifespans = max(self._lifespans - 1, 0)
        if self._lifespans > 0:  # another lifespan still runs on the tailer
            return
        for task in self._tasks:
            task.cancel()
        if self._tasks:  # bounded: a wedged database call must not hang the shutdown
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks.clear()
        for sub in list(self.subscribers):
            self._offer(sub, None)

    # --- subscribers --------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    def _offer(self, sub: Subscription, item: Published | None) -> None:
        try:
            sub.queue.put_nowait(item)
        except asyncio.QueueFull:  # a stalled client: end its stream, it will reconnect
            sub.overflowed = True
            self.subscribers.discard(sub)

    def publish(self, items: list[Published]) -> None:
        for sub in list(self.subscribers):
            for item in items:
                self._offer(sub, item)

    async def stream(self, sub: Subscription) -> AsyncIterator[dict[str, Any]]:
        """The SSE messages for one connected client."""
        try:
            yield {"event": "hello", "data": json.dumps({"last_id": self.last_id})}
            while True:
                item = await sub.queue.get()
                if item is None or sub.overflowed:
                    return
                yield item.sse()
        finally:
            self.unsubscribe(sub)

    # --- tailing ------------------------------------------------------------------------

    def _latest_id(self) -> int:
        with self.sessions() as s:
            return events.latest_id(s)

    def _read(self, after: int) -> list[Published]:
        with self.sessions() as s:
            rows = events.since(s, after, limit=500)
            return [Published(e.id, e.kind, e.case_id) for e in rows]

    async def _tail(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                while True:
                    batch = await anyio.to_thread.run_sync(self._read, self.last_id)
                    if not batch:
                        break
                    self.last_id = batch[-1].id
                    self.publish(batch)
            except Exception:  # the database may be restarting; try again next round
                log.exception("reading new events failed")
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f'LISTEN "{events.NOTIFY_CHANNEL}"')
                    self.listening, delay = True, 0.5
                    assert self._wake is not None
                    self._wake.set()  # catch up on anything committed while reconnecting
                    async for _note in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
            self.listening = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
