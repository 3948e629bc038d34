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
import threading
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


@dataclass(eq=False)
class _Tail:
    """One event loop's tailer: its wake-up, tasks and subscribers.

    An app normally has one lifespan, so one tail. Two lifespans of the same app at once
    (two test clients, each on its own loop) each get their own: asyncio objects belong
    to one loop, so neither may wake, feed or cancel the other's.
    """

    wake: asyncio.Event
    last_id: int
    lifespans: int = 1
    listening: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    subscribers: set[Subscription] = field(default_factory=set)


class Broadcaster:
    """Tails the events table and fans new events out to subscribers (one per process)."""

    def __init__(
        self, engine: Engine, *, poll_seconds: float = 0.2, listen_poll_seconds: float = 2.0
    ) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self.postgres = engine.dialect.name == "postgresql"
        self.poll_seconds = listen_poll_seconds if self.postgres else poll_seconds
        self._tails: dict[asyncio.AbstractEventLoop, _Tail] = {}
        self._lock = threading.Lock()  # the loops of several lifespans share the dict

    def _tail_here(self) -> _Tail | None:
        with self._lock:
            return self._tails.get(asyncio.get_running_loop())

    @property
    def last_id(self) -> int:
        """The last event id this loop's tailer has passed on (0 before it starts)."""
        tail = self._tail_here()
        return tail.last_id if tail else 0

    @property
    def listening(self) -> bool:
        """Whether this loop's tailer has its PostgreSQL ``LISTEN`` in place."""
        tail = self._tail_here()
        return bool(tail and tail.listening)

    @property
    def running(self) -> bool:
        with self._lock:
            return bool(self._tails)

    # --- lifecycle (called from the app lifespan) -------------------------------------

    async def start(self) -> None:
        """Start tailing on the running loop (once per loop; a failed start leaves none)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            tail = self._tails.get(loop)
            if tail is not None:
                tail.lifespans += 1
                return
        last_id = await anyio.to_thread.run_sync(self._latest_id)
        tail = _Tail(wake=asyncio.Event(), last_id=last_id)
        tail.tasks.append(asyncio.create_task(self._tail(tail), name="events-tailer"))
        if self.postgres:
            tail.tasks.append(asyncio.create_task(self._listen(tail), name="events-listener"))
        with self._lock:
            self._tails[loop] = tail

    async def stop(self) -> None:
        """Stop this loop's tailer when its last lifespan ends; end its streams."""
        loop = asyncio.get_running_loop()
        with self._lock:
            tail = self._tails.get(loop)
            if tail is None:
                return
            tail.lifespans -= 1
            if tail.lifespans > 0:
                return
            del self._tails[loop]
        for task in tail.tasks:
            task.cancel()
        if tail.tasks:  # bounded: a wedged database call must not hang the shutdown
            await asyncio.wait(tail.tasks, timeout=5)
        for sub in list(tail.subscribers):
            self._offer(tail, sub, None)

    # --- subscribers --------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        """A subscription fed by the running loop's tailer (none before it starts)."""
        sub = Subscription()
        tail = self._tail_here()
        if tail is not None:
            tail.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            tails = list(self._tails.values())
        for tail in tails:
            tail.subscribers.discard(sub)

    def _offer(self, tail: _Tail, sub: Subscription, item: Published | None) -> None:
        try:
            sub.queue.put_nowait(item)
        except asyncio.QueueFull:  # a stalled client: end its stream, it will reconnect
            sub.overflowed = True
            tail.subscribers.discard(sub)

    def _publish(self, tail: _Tail, items: list[Published]) -> None:
        for sub in list(tail.subscribers):
            for item in items:
                self._offer(tail, sub, item)

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

    async def _tail(self, tail: _Tail) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tail.wake.wait(), timeout=self.poll_seconds)
            tail.wake.clear()
            try:
                while True:
                    batch = await anyio.to_thread.run_sync(self._read, tail.last_id)
                    if not batch:
                        break
                    tail.last_id = batch[-1].id
                    self._publish(tail, batch)
            except Exception:  # the database may be restarting; try again next round
                log.exception("reading new events failed")
                await asyncio.sleep(1)

    async def _listen(self, tail: _Tail) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f'LISTEN "{events.NOTIFY_CHANNEL}"')
                    tail.listening, delay = True, 0.5
                    tail.wake.set()  # catch up on anything committed while reconnecting
                    async for _note in conn.notifies():
                        tail.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); polling until it is back", exc)
            tail.listening = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)
