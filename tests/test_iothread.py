"""IOThread: the one loop thread; run() hands a coroutine over and back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from amilab.errors import LoopThreadError
from amilab.iothread import IOThread, _Handoff


@pytest.fixture
def io():
    thread = IOThread(name="amilab-test-io")
    yield thread
    thread.stop()


def test_run_returns_the_result_and_raises_the_error(io):
    """run() gives the coroutine's value, or raises its exception with its traceback."""

    async def ok() -> int:
        return 42

    async def bad() -> None:
        raise ValueError("from the loop")

    assert io.run(ok()) == 42
    with pytest.raises(ValueError, match="from the loop") as info:
        io.run(bad())
    assert any(tb.name == "bad" for tb in info.traceback)


def test_run_timeout_cancels_the_coroutine(io):
    """A run() that times out raises TimeoutError and cancels the coroutine on the loop."""
    cancelled: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"no result from the I/O thread within 0\.2s"):
        io.run(slow(), timeout=0.2)
    assert time.monotonic() - start < 1.0
    end = time.monotonic() + 2
    while not cancelled and time.monotonic() < end:
        time.sleep(0.01)
    assert cancelled == [True]


def test_run_from_the_loop_thread_is_refused(io):
    """A blocking run() on the I/O thread itself would deadlock: LoopThreadError instead."""

    async def inner() -> int:
        return 1

    async def outer() -> None:
        io.run(inner())

    with pytest.raises(LoopThreadError):
        io.run(outer())


def test_call_runs_on_the_loop_thread_with_keywords(io):
    """call() runs a plain function on the I/O thread, passing keyword arguments."""
    import threading

    assert io.call(lambda a, *, b: (threading.current_thread().name, a + b), 1, b=2) == (
        "amilab-test-io",
        3,
    )


def test_run_on_a_stopped_thread_fails_at_once():
    """A stopped I/O thread never runs the coroutine: LoopThreadError, not a hang."""
    thread = IOThread(name="amilab-test-stopped")
    thread.stop()

    async def never() -> None:
        raise AssertionError("must not run")

    start = time.monotonic()
    with pytest.raises(LoopThreadError, match="stopped"):
        thread.run(never())
    assert time.monotonic() - start < 1.0


# -- details pinned after mutation testing (mutmut on amilab/iothread.py) -------------
def test_a_handoff_cancelled_before_it_starts_never_runs_its_coroutine():
    """cancel() before start() (an interrupt racing the hop) closes the coroutine unrun."""
    ran: list[bool] = []

    async def work() -> None:
        ran.append(True)

    async def hop() -> _Handoff[None]:
        handoff: _Handoff[None] = _Handoff(work())
        handoff.cancel()
        handoff.start()
        await asyncio.sleep(0.01)  # a started task would have run by now
        return handoff

    handoff = asyncio.run(hop())
    handoff.wait(1.0, lambda: True)
    with pytest.raises(asyncio.CancelledError):
        handoff.result()
    assert ran == []


def test_call_from_the_io_thread_runs_directly_with_all_arguments(io):
    """call() made on the I/O thread itself runs the function there, positional args included."""

    async def on_loop() -> tuple[int, int, int]:
        return io.call(lambda a, b, *, c: (a, b, c), 1, 2, c=3)

    assert io.run(on_loop()) == (1, 2, 3)


def test_stop_survives_a_task_that_fails_while_being_cancelled():
    """stop() ends the thread even if a pending task raises (not CancelledError) on cancel."""
    thread = IOThread(name="amilab-test-stop")
    started = threading.Event()

    async def stubborn() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ValueError("cleanup failed") from None

    thread.submit(stubborn())
    assert started.wait(5)
    thread.stop()
    assert not thread.alive and thread.loop.is_closed()
