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
from typing import Any, TypeVar

from amilab.errors import LoopThreadError

__all__ = ["IOThread"]

T = TypeVar("T")
#: How long stop() waits for the loop thread to finish (s).
STOP_TIMEOUT = 5.0
#: A blocked call wakes this often (s): ``_thread.interrupt_main()``, which
#: ipykernel uses on Windows for the stop button, only takes effect when the
#: waiting thread runs Python code again.
INTERRUPT_POLL = 0.1


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
        future = self.submit(coro)
        try:
            return self._wait(future, timeout)
        except BaseException:
            future.cancel()
            raise

    @staticmethod
    def _wait(future: concurrent.futures.Future[T], timeout: float | None) -> T:
        """``future.result(timeout)``, waking every INTERRUPT_POLL seconds."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = INTERRUPT_POLL if end is None else min(INTERRUPT_POLL, end - time.monotonic())
            try:
                return future.result(max(left, 0.0))
            except TimeoutError:
                # The coroutine's own TimeoutError (e.g. ActionTimeout), or ours at the end.
                if future.done() or (end is not None and time.monotonic() >= end):
                    raise

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
