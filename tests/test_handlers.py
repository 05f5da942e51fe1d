"""HandlerRegistry on its own: error records, coroutine handler bounds and their warnings.

Pinned after mutation testing (mutmut on amilab/handlers.py): each test names
the behaviour a surviving mutant changed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Generator
from typing import Any

import pytest

import amilab.handlers
from amilab.handlers import HandlerError, HandlerRegistry
from amilab.protocol.message import Message

HANGUP = Message(b"Event: Hangup\r\nChannel: PJSIP/100-00000001")


class Boom(Exception):
    pass


def fail(msg: Message) -> None:
    raise Boom("handler failed")


class CallableObject:
    """A handler with no __qualname__ of its own instances: recorded by its repr."""

    def __call__(self, msg: Message) -> None:
        raise Boom("object handler failed")

    def __repr__(self) -> str:
        return "<CallableObject handler>"


class ClosableAwaitable:
    """An awaitable that notes whether it was closed (as a dropped coroutine must be)."""

    def __init__(self) -> None:
        self.closed = False

    def __await__(self) -> Generator[Any, None, None]:
        yield from asyncio.sleep(0).__await__()

    def close(self) -> None:
        self.closed = True


def test_a_failing_handler_is_recorded_with_event_name_and_qualname(caplog) -> None:
    """errors keeps (event name, handler qualname, exception); the log line names all three."""
    registry = HandlerRegistry()
    registry.add("Hangup", fail)
    with caplog.at_level(logging.ERROR, logger="amilab.handlers"):
        registry.dispatch(HANGUP)
    (err,) = registry.errors
    assert err == HandlerError("Hangup", "fail", err.error)
    assert isinstance(err.error, Boom)
    (record,) = caplog.records
    assert record.getMessage() == "event handler fail failed on Hangup: Boom('handler failed')"
    assert record.exc_info is not None and record.exc_info[1] is err.error


def test_a_handler_without_qualname_is_labelled_by_its_repr() -> None:
    """A callable object (no __qualname__ on the instance) is named by its repr."""
    registry = HandlerRegistry()
    registry.add("*", CallableObject())
    registry.dispatch(HANGUP)
    (err,) = registry.errors
    assert err.callback == "<CallableObject handler>" and err.event == "Hangup"


async def test_coroutine_handler_errors_are_recorded_and_successes_are_not() -> None:
    """A coroutine handler that raises is recorded under the event name; one that returns is not."""
    registry = HandlerRegistry()

    async def ok(msg: Message) -> None:
        await asyncio.sleep(0)

    async def bad(msg: Message) -> None:
        await asyncio.sleep(0)
        raise Boom("async handler failed")

    registry.add("Hangup", ok)
    registry.add("Hangup", bad)
    registry.dispatch(HANGUP)
    async with asyncio.timeout(5):
        while registry.running_tasks:
            await asyncio.sleep(0.005)
    (err,) = registry.errors
    assert (err.event, err.callback) == ("Hangup", bad.__qualname__)
    assert isinstance(err.error, Boom)


async def test_dropped_coroutines_are_closed_and_warned_about_sparingly(
    monkeypatch, caplog
) -> None:
    """Past the task cap each result is closed unrun and counted; the warning comes on the
    first drop and then once per cap's worth, with the running count."""
    monkeypatch.setattr(amilab.handlers, "MAX_HANDLER_TASKS", 2)
    registry = HandlerRegistry()
    release = asyncio.Event()
    made: list[ClosableAwaitable] = []

    async def slow(msg: Message) -> None:
        await release.wait()

    def closable(msg: Message) -> ClosableAwaitable:
        made.append(ClosableAwaitable())
        return made[-1]

    sub = registry.add("*", slow)
    registry.dispatch(HANGUP)
    registry.dispatch(HANGUP)
    assert registry.running_tasks == 2
    sub.cancel()
    registry.add("*", closable)
    with caplog.at_level(logging.WARNING, logger="amilab.handlers"):
        for _ in range(5):
            registry.dispatch(HANGUP)
    assert registry.dropped_tasks == 5
    assert [a.closed for a in made] == [True] * 5
    counts = [r.args[1] for r in caplog.records if r.levelno == logging.WARNING]
    assert counts == [1, 3, 5]
    release.set()
    async with asyncio.timeout(5):
        while registry.running_tasks:
            await asyncio.sleep(0.005)
    assert not registry.errors


@pytest.mark.parametrize("patterns", [(), [1]])
def test_add_refuses_empty_or_non_string_patterns(patterns: Any) -> None:
    """No pattern, or a non-str one, is a ValueError saying what to give."""
    registry = HandlerRegistry()
    with pytest.raises(ValueError, match="at least one event name pattern"):
        registry.add(patterns, fail)


def test_a_subscription_from_another_thread_waits_for_the_busy_loop() -> None:
    """add() from a foreign thread is applied on the bound loop: not before the loop runs it."""
    registry = HandlerRegistry()
    loop = asyncio.new_event_loop()
    busy = threading.Event()
    release = threading.Event()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        asyncio.run_coroutine_threadsafe(_bind(registry), loop).result(5)

        def block_the_loop() -> None:
            busy.set()
            release.wait(5)

        loop.call_soon_threadsafe(block_the_loop)
        assert busy.wait(5)
        adder = threading.Thread(target=registry.add, args=("*", fail))
        adder.start()
        adder.join(0.2)
        assert adder.is_alive() and len(registry) == 0  # waiting for the loop
        release.set()
        adder.join(5)
        assert not adder.is_alive() and len(registry) == 1
    finally:
        release.set()
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()


async def _bind(registry: HandlerRegistry) -> None:
    registry.bind(asyncio.get_running_loop())


def test_kept_handler_errors_are_bounded_newest_last() -> None:
    """errors keeps the newest MAX_KEPT_ERRORS failures; older ones are dropped."""
    registry = HandlerRegistry()
    registry.add("*", fail)
    total = amilab.handlers.MAX_KEPT_ERRORS + 5
    for n in range(total):
        registry.dispatch(Message(f"Event: E{n}".encode()))
    assert len(registry.errors) == amilab.handlers.MAX_KEPT_ERRORS
    assert registry.errors[0].event == "E5" and registry.errors[-1].event == f"E{total - 1}"
