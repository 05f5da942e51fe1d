"""EventQueue on its own: bounds, drop-oldest, sync and async waits, close and repr.

Pinned after mutation testing (mutmut on amilab/streams.py): each test names
the behaviour a surviving mutant changed.
"""

from __future__ import annotations

import asyncio
import queue
import threading

import pytest

from amilab.protocol.message import Message
from amilab.streams import EventQueue


def ev(n: int) -> Message:
    return Message(f"Event: UserEvent\r\nUserEvent: e{n}".encode())


def put_later(stream: EventQueue, msg: Message, delay: float = 0.05) -> threading.Timer:
    timer = threading.Timer(delay, stream.put, (msg,))
    timer.start()
    return timer


def test_maxsize_one_is_allowed_and_keeps_the_newest() -> None:
    """maxsize=1 is the smallest legal bound: one event kept, the older one dropped and counted."""
    stream = EventQueue(maxsize=1)
    stream.put(ev(1))
    stream.put(ev(2))
    assert len(stream) == 1 and stream.dropped == 1
    assert stream.get(timeout=0)["UserEvent"] == "e2"


@pytest.mark.parametrize("maxsize", [0, -3])
def test_maxsize_below_one_is_refused_naming_the_bound(maxsize: int) -> None:
    """A bound below 1 is a ValueError that says the minimum and the value given."""
    with pytest.raises(ValueError, match=rf"at least 1, not {maxsize}"):
        EventQueue(maxsize=maxsize)


def test_repr_says_open_or_closed_with_counts() -> None:
    """repr shows the state, the buffered events and the drop count."""
    stream = EventQueue(maxsize=2)
    for n in range(3):
        stream.put(ev(n))
    assert repr(stream) == "<EventQueue open, 2 buffered, 1 dropped>"
    stream.close()
    assert repr(stream) == "<EventQueue closed, 2 buffered, 1 dropped>"


def test_get_with_a_timeout_waits_for_an_event_that_comes_in_time() -> None:
    """get(timeout) blocks until an event arrives within the timeout (it does not give up early)."""
    stream = EventQueue()
    timer = put_later(stream, ev(1))
    try:
        assert stream.get(timeout=5.0)["UserEvent"] == "e1"
    finally:
        timer.cancel()


def test_get_timeout_and_closed_errors_say_which() -> None:
    """An empty open stream times out naming the wait; a closed one says it is closed."""
    stream = EventQueue()
    with pytest.raises(queue.Empty, match=r"no event within 0.01s"):
        stream.get(timeout=0.01)
    stream.close()
    with pytest.raises(queue.Empty, match=r"^the event stream is closed$"):
        stream.get(timeout=5.0)


def test_sync_iteration_with_timeout_yields_late_events_then_stops() -> None:
    """A stream with timeout= waits that long for each event, then ends iteration."""
    stream = EventQueue(timeout=0.5)
    stream.put(ev(1))
    timer = put_later(stream, ev(2))
    try:
        assert [m["UserEvent"] for m in stream] == ["e1", "e2"]
    finally:
        timer.cancel()


async def test_async_waiter_is_woken_by_each_put() -> None:
    """An async consumer waiting on an empty stream gets every event put later, one wait each."""
    stream = EventQueue()
    loop = asyncio.get_running_loop()
    got: list[str] = []

    async def consume() -> None:
        async for msg in stream:
            got.append(msg["UserEvent"])

    task = asyncio.create_task(consume())
    for n in range(3):
        await asyncio.sleep(0.01)  # the consumer is parked on an empty stream
        await loop.run_in_executor(None, stream.put, ev(n))
        async with asyncio.timeout(5):
            while len(got) < n + 1:
                await asyncio.sleep(0.005)
    stream.close()
    async with asyncio.timeout(5):
        await task
    assert got == ["e0", "e1", "e2"]


def test_put_after_close_is_ignored() -> None:
    """An event racing close() is discarded, never delivered after it."""
    stream = EventQueue()
    stream.close()
    stream.put(ev(1))
    assert len(stream) == 0 and stream.closed
