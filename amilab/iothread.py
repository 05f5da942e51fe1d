"""One background asyncio loop thread that runs all of amilab's socket I/O.

A Jupyter kernel already runs an asyncio loop, so ``asyncio.run`` fails in a
cell, and nest_asyncio (archived in 2024) breaks queued cells on ipykernel 7.
Instead every Session submits its coroutines to this one daemon thread (the
pattern fsspec and jupyter_core use) and blocks on, or awaits, the result.
Events keep flowing while a cell is busy because this thread never waits for
the kernel.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from amilab.errors import LoopThreadError

__all__ = ["IOThread"]

T = TypeVar("T")
#: How long stop() waits for the loop thread to finish (s).
STOP_TIMEOUT = 5.0
#: A blocked call wakes this often (s): ``_thread.interrupt_main()``, which
#: ipykernel uses on Windows for the stop button, only takes effect when the
#: waiting thread runs Python code again.
INTERRUPT_POLL = 0.1


class _Handoff(Generic[T]):
    """One coroutine run on the loop for a thread that blocks until it is done.

    Lighter than ``run_coroutine_threadsafe`` (no concurrent Future, no
    future chaining, no done-callback turn of the loop): the loop starts a
    task that awaits the coroutine, keeps its outcome and releases a bare
    lock the caller waits on. That halves the thread hop of a blocking
    ``Session.action`` (benchmarks/actions.py, sync vs async Ping).
    """

    __slots__ = ("_cancelled", "_coro", "_done", "_error", "_result", "_task")

    def __init__(self, coro: Coroutine[Any, Any, T]) -> None:
        self._coro = coro
        self._done = threading.Lock()
        self._done.acquire()
        self._task: asyncio.Task[None] | None = None
        self._cancelled = False
        self._result: T | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """On the loop: start the task (or drop the coroutine if cancelled first)."""
        if self._cancelled:
            self._coro.close()
            self._error = asyncio.CancelledError()
            self._done.release()
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            self._result = await self._coro
        except BaseException as exc:  # handed to the waiting thread, which raises it
            self._error = exc
        finally:
            self._done.release()

    def cancel(self) -> None:
        """On the loop: cancel the task, or keep it from starting."""
        self._cancelled = True
        if self._task is not None:
            self._task.cancel()

    def wait(self, timeout: float | None, alive: Callable[[], bool]) -> None:
        """Block until done, waking every INTERRUPT_POLL seconds for interrupts.

        Raises :class:`LoopThreadError` if the I/O thread stops meanwhile (its
        loop would never run the coroutine), instead of waiting forever.
        """
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = INTERRUPT_POLL if end is None else min(INTERRUPT_POLL, end - time.monotonic())
            if left <= 0:
                raise TimeoutError(f"no result from the I/O thread within {timeout}s")
            if self._done.acquire(timeout=left):
                return
            if not alive():
                raise LoopThreadError("amilab's I/O thread stopped before the call finished")

    def result(self) -> T:
        """The coroutine's value, or its exception raised here (after :meth:`wait`)."""
        error, self._error = self._error, None
        if error is not None:
            try:
                raise error
            finally:
                del error  # no reference cycle through this frame
        return self._result  # type: ignore[return-value]


class IOThread:
    """A daemon thread running an asyncio loop; :meth:`shared` gives the process-wide one."""

    _shared: IOThread | None = None
    _shared_lock = threading.Lock()

    def __init__(self, name: str = "amilab-io") -> None:
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._started.wait()

    @classmethod
    def shared(cls) -> IOThread:
        """The process-wide I/O thread, started on first use and stopped at exit."""
        with cls._shared_lock:
            if cls._shared is None or not cls._shared.alive:
                cls._shared = cls()
                atexit.register(cls._shared.stop)
            return cls._shared

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        self.loop.run_forever()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and not self.loop.is_closed()

    def in_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the I/O loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the I/O loop and block until it finishes.

        Raises :class:`LoopThreadError` if called from the I/O thread itself,
        which would deadlock. An interrupt (Ctrl-C, the notebook's stop
        button) cancels the coroutine.
        """
        if self.in_thread():
            coro.close()
            raise LoopThreadError(
                "a blocking amilab call was made from amilab's own I/O thread (inside an "
                "event handler?); use the async API there (await client.action(...))"
            )
        if not self.alive:
            coro.close()
            raise LoopThreadError(
                "amilab's I/O thread is stopped (closed or shut down at exit); start a new session"
            )
        handoff = _Handoff(coro)
        self.loop.call_soon_threadsafe(handoff.start)
        try:
            handoff.wait(timeout, lambda: self.alive)
        except BaseException:
            # Interrupted (Ctrl-C) or out of time: cancel the coroutine on its loop.
            if not self.loop.is_closed():
                self.loop.call_soon_threadsafe(handoff.cancel)
            raise
        return handoff.result()

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the I/O loop (for state only the loop may touch)."""
        if self.in_thread():
            return fn(*args, **kwargs)

        async def invoke() -> T:
            return fn(*args, **kwargs)

        return self.run(invoke())

    def wrap(self, coro: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """``await io.wrap(coro)`` from another running loop (e.g. the kernel's)."""
        return asyncio.wrap_future(self.submit(coro))

    def stop(self) -> None:
        """Cancel pending tasks, stop the loop and join the thread."""
        if not self.alive:
            return

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if not self.in_thread():
            with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
                self.submit(shutdown()).result(STOP_TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_thread():
            self.thread.join(STOP_TIMEOUT)
            if not self.thread.is_alive():
                self.loop.close()
