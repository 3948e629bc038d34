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


def test_a_second_lifespan_ending_leaves_the_first_ones_updates_running(
    committed_engine: Engine,
) -> None:
    # Two lifespans of one app at once, each on its own loop: what two TestClients of the
    # same app do. Ending the second must neither stop nor replace the first's tailer.
    live = Broadcaster(committed_engine, listen_poll_seconds=0.2)
    first_ready, second_done = threading.Event(), threading.Event()

    async def first() -> str:
        await live.start()
        try:
            stream = live.stream(live.subscribe())
            assert (await anext(stream))["event"] == "hello"
            first_ready.set()
            await asyncio.to_thread(second_done.wait, 30)
            with make_sessionmaker(committed_engine).begin() as s:
                events.append(s, events.EventKind.CASE_UPDATED, now=T0, payload={"x": 1})
            message = await asyncio.wait_for(anext(stream), 3)
            return str(message["data"])
        finally:
            await live.stop()

    async def second() -> None:
        await live.start()
        await live.stop()

    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(got=run_in_own_loop(first)))
    thread.start()
    assert first_ready.wait(30)
    run_in_own_loop(second)
    second_done.set()
    thread.join(60)
    assert '"kind": "case.updated"' in box.get("got", ""), box
    assert not live._tasks  # the last lifespan to end stopped the tailer


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

    async def scenario() -> int:
        with pytest.raises(OSError):
            await live.start()  # the app's start-up fails here
        await live.start()  # started again, e.g. by the next test client
        try:
            return len(live._tasks)
        finally:
            await live.stop()

    assert run_in_own_loop(scenario) >= 1  # the second start is a real one
    assert not live._tasks
