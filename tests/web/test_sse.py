"""The live-update broadcaster: events committed by any writer reach subscribers quickly."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine

from monitor import events
from monitor.db import make_engine, make_sessionmaker
from monitor.web.sse import Broadcaster
from tests.factories import T0

pytestmark = pytest.mark.db
T = TypeVar("T")


def run_in_own_loop(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a fresh thread: another test's loop (Playwright) may be running here."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as exc:  # re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_events_from_another_process_reach_subscribers(committed_engine: Engine) -> None:
    # A separate engine stands in for another `serve` process or the poller.
    other = make_engine(committed_engine.url.render_as_string(hide_password=False))

    async def scenario() -> tuple[list[str], bool]:
        # On PostgreSQL the safety poll is pushed far beyond the 3 s wait below, so only
        # the NOTIFY can deliver in time: receiving the events proves the wake-up works.
        live = Broadcaster(committed_engine, listen_poll_seconds=120.0)
        await live.start()
        try:
            sub = live.subscribe()
            stream = live.stream(sub)
            hello = await anext(stream)
            assert hello["event"] == "hello"
            if live.postgres:  # wait until LISTEN is in place, so the wake-up is the NOTIFY
                for _ in range(100):
                    if live.listening:
                        break
                    await asyncio.sleep(0.02)
            with make_sessionmaker(other).begin() as s:
                events.append(s, events.EventKind.CASE_UPDATED, now=T0, payload={"x": 1})
                events.append(s, events.EventKind.NOTE_ADDED, now=T0, payload={"text": "secret"})
            got = [await asyncio.wait_for(anext(stream), 3) for _ in range(2)]
            return [m["event"] + ":" + m["data"] for m in got], live.listening
        finally:
            await live.stop()
            other.dispose()

    messages, listening = run_in_own_loop(scenario)
    assert all(m.startswith("case:") for m in messages)
    assert '"kind": "case.updated"' in messages[0] and '"kind": "case.note"' in messages[1]
    assert "secret" not in "".join(messages)  # the stream never carries content
    if committed_engine.dialect.name == "postgresql":
        assert listening


async def _receive_one_update(live: Broadcaster, engine: Engine, go: threading.Event) -> str:
    """One lifespan: subscribe, wait for ``go``, commit an event, return what arrives."""
    await live.start()
    try:
        stream = live.stream(live.subscribe())
        assert (await anext(stream))["event"] == "hello"
        await asyncio.to_thread(go.wait, 30)
        with make_sessionmaker(engine).begin() as s:
            events.append(s, events.EventKind.CASE_UPDATED, now=T0, payload={"x": 1})
        message = await asyncio.wait_for(anext(stream), 3)
        return str(message["data"])
    finally:
        await live.stop()


@pytest.mark.parametrize("ends_first", ["second", "first"])
def test_two_lifespans_at_once_each_keep_their_updates(
    committed_engine: Engine, ends_first: str
) -> None:
    # Two lifespans of one app at once, each on its own loop: what two TestClients of the
    # same app do. Whichever ends first must neither stop nor disturb the other's updates.
    live = Broadcaster(committed_engine, listen_poll_seconds=0.2)
    started, first_go = threading.Event(), threading.Event()
    box: dict[str, Any] = {}

    def first() -> None:
        box["first"] = run_in_own_loop(
            lambda: _receive_one_update(live, committed_engine, first_go)
        )

    async def second() -> str:
        await live.start()
        started.set()
        try:
            if ends_first == "first":  # keep running while the first ends, then update
                await asyncio.to_thread(thread.join, 60)
                at_once = threading.Event()
                at_once.set()
                return await _receive_one_update(live, committed_engine, at_once)
            return ""
        finally:
            await live.stop()

    thread = threading.Thread(target=first)
    thread.start()
    if ends_first == "second":
        run_in_own_loop(second)
        first_go.set()
        thread.join(60)
        assert '"kind": "case.updated"' in box.get("first", ""), box
    else:
        second_thread = threading.Thread(target=lambda: box.update(second=run_in_own_loop(second)))
        second_thread.start()
        assert started.wait(30)
        first_go.set()
        thread.join(60)
        second_thread.join(60)
        assert '"kind": "case.updated"' in box.get("first", ""), box
        assert '"kind": "case.updated"' in box.get("second", ""), box
    assert not live.running  # the last lifespan to end stopped its tailer


def test_a_start_that_failed_does_not_count_as_running(committed_engine: Engine) -> None:
    live = Broadcaster(committed_engine)
    reads = {"n": 0}
    latest = live._latest_id

    def flaky_latest_id() -> int:
        reads["n"] += 1
        if reads["n"] == 1:
            raise OSError("database restarting")
        return latest()

    live._latest_id = flaky_latest_id  # type: ignore[method-assign]

    async def scenario() -> bool:
        with pytest.raises(OSError):
            await live.start()  # the app's start-up fails here
        await live.start()  # started again, e.g. by the next test client
        try:
            return live.running
        finally:
            await live.stop()

    assert run_in_own_loop(scenario)  # the second start is a real one
    assert not live.running
