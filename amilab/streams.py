"""EventQueue: the one bounded, drop-oldest event stream, for sync and async consumers.

``client.events(...)`` and ``session.events(...)`` both return this class:
``async for ev in stream`` on any event loop, ``for ev in stream`` in a
thread. The I/O thread only calls :meth:`put` (through the handler registry);
consumers may be on any thread. When full, the oldest event is dropped and
counted in :attr:`dropped`, so a slow consumer never grows memory or stalls
the reader.

Ending: :meth:`close` (or the client's ``close()``) unsubscribes, wakes every
waiting consumer, and makes iteration stop once the buffered events are
consumed; an event that races the close is discarded, never delivered after
it. A sync iterator also stops after ``timeout`` seconds without an event
(``None``: wait until closed).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from amilab.protocol.message import Message

if TYPE_CHECKING:
    from amilab.handlers import Subscription

__all__ = ["DEFAULT_STREAM_SIZE", "EventQueue"]

#: Events a stream buffers before it drops the oldest (and counts them).
DEFAULT_STREAM_SIZE = 10_000
#: A blocked sync consumer wakes this often (s), so Ctrl-C and the notebook's
#: stop button (``_thread.interrupt_main``) take effect promptly.
POLL_INTERVAL = 0.1


class EventQueue:
    """A bounded drop-oldest queue of events; iterable with ``for`` and ``async for``."""

    def __init__(self, maxsize: int = DEFAULT_STREAM_SIZE, timeout: float | None = None) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self.maxsize = maxsize
        self.timeout = timeout
        self.dropped = 0
        self.subscription: Subscription | None = None
        self._items: deque[Message] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<EventQueue {state}, {len(self._items)} buffered, {self.dropped} dropped>"

    # -- producer (the I/O thread) ---------------------------------------------------
    def put(self, msg: Message) -> None:
        """Append ``msg``, dropping the oldest when full; ignored once closed."""
        with self._cond:
            if self._closed:
                return
            items = self._items
            if len(items) >= self.maxsize:
                items.popleft()
                self.dropped += 1
            items.append(msg)
            self._cond.notify()
            waiters = self._async_waiters
            if not waiters:
                return
            self._async_waiters = []
        self._wake(waiters)

    @staticmethod
    def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
        for loop, future in waiters:
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(_set_done, future)

    def close(self) -> None:
        """Unsubscribe and end iteration (after the buffered events); safe from any thread."""
        sub, self.subscription = self.subscription, None
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            waiters, self._async_waiters = self._async_waiters, []
        self._wake(waiters)
        if sub is not None:
            sub.cancel()

    # -- sync consumers -----------------------------------------------------------------
    def get(self, timeout: float | None = None) -> Message:
        """The next event. Raises ``queue.Empty`` after ``timeout`` seconds, or when closed."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self._closed:
                    raise queue.Empty("the event stream is closed")
                left = POLL_INTERVAL if end is None else min(POLL_INTERVAL, end - time.monotonic())
                if left <= 0:
                    raise queue.Empty(f"no event within {timeout}s")
                self._cond.wait(left)
            return self._items.popleft()

    def __iter__(self) -> Iterator[Message]:
        while True:
            try:
                yield self.get(self.timeout)
            except queue.Empty:
                return

    # -- async consumers ----------------------------------------------------------------
    async def aget(self) -> Message:
        """The next event; raises ``StopAsyncIteration`` once closed and drained."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if self._items:
                    return self._items.popleft()
                if self._closed:
                    raise StopAsyncIteration
                future: asyncio.Future[None] = loop.create_future()
                self._async_waiters.append((loop, future))
            await future

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        return await self.aget()

    # -- context managers ---------------------------------------------------------------
    def __enter__(self) -> EventQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> EventQueue:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
