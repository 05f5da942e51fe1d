"""Event handler registry: glob patterns on event names, with a per-name route cache.

Dispatch is on the hot path (every event of a flood passes here), so the
handlers for each event name are computed once and cached until the set of
subscriptions changes. The cache holds at most :data:`MAX_ROUTES` names: a
server that sends a million distinct event names (``UserEvent`` makes that
easy) cannot grow it without limit.

Threads. Dispatch runs on the client's event loop. Once the registry is bound
to that loop (:meth:`HandlerRegistry.bind`), every mutation happens on it: a
subscribe or an unsubscribe from another thread is handed to the loop and
waited for, so when ``cancel()`` returns no further event reaches the
callback, whichever thread called it.

Coroutine handlers are scheduled as tasks, at most :data:`MAX_HANDLER_TASKS`
at once; past that a handler's coroutine is closed unrun and counted in
:attr:`HandlerRegistry.dropped_tasks`, so a flood cannot create tasks without
bound.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import inspect
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from amilab.protocol.message import Message

__all__ = ["HandlerError", "HandlerRegistry", "Subscription"]

log = logging.getLogger("amilab.handlers")

#: Handler errors kept for inspection (``client.errors``); older ones are dropped.
MAX_KEPT_ERRORS = 100
#: Event names whose handler tuple is cached; the cache is emptied when full.
#: Asterisk 22 documents 181 events, so real traffic never comes near it.
MAX_ROUTES = 4096
#: Coroutine handler tasks running at once; more are dropped and counted.
MAX_HANDLER_TASKS = 1000
#: How long an unsubscribe from another thread waits for the loop to apply it (s).
MUTATION_TIMEOUT = 5.0

Callback = Callable[[Message], Any]


@dataclass(frozen=True, slots=True)
class HandlerError:
    """A handler raised; the reader went on. Kept in ``client.errors``."""

    event: str | None
    callback: str
    error: BaseException


@dataclass(eq=False)
class Subscription:
    """Returned by ``on()``; call it or ``.cancel()`` to unsubscribe."""

    patterns: tuple[str, ...]
    callback: Callback
    _registry: HandlerRegistry | None = field(repr=False, default=None)

    def matches(self, name: str) -> bool:
        lname = name.lower()
        return any(p == "*" or fnmatch.fnmatchcase(lname, p) for p in self.patterns)

    def cancel(self) -> None:
        if self._registry is not None:
            self._registry.remove(self)
            self._registry = None

    __call__ = cancel

    @property
    def active(self) -> bool:
        return self._registry is not None


class HandlerRegistry:
    """The set of subscriptions and the dispatcher that calls them."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._cache: dict[str, tuple[Callback, ...]] = {}
        self.errors: deque[HandlerError] = deque(maxlen=MAX_KEPT_ERRORS)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        #: Coroutine handler results closed unrun because MAX_HANDLER_TASKS were running.
        self.dropped_tasks = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Dispatch runs on ``loop`` (called from it): mutations are applied there from now on."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the bound loop and wait for it (directly when already there)."""
        loop = self._loop
        if (
            loop is None
            or threading.get_ident() == self._loop_thread
            or loop.is_closed()
            or not loop.is_running()
        ):
            fn()
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def apply() -> None:
            try:
                fn()
            finally:
                done.set_result(None)

        try:
            loop.call_soon_threadsafe(apply)
        except RuntimeError:  # the loop closed meanwhile: nothing dispatches any more
            fn()
            return
        try:
            done.result(MUTATION_TIMEOUT)
        except concurrent.futures.TimeoutError:
            log.warning("the I/O loop did not apply a handler change within %ss", MUTATION_TIMEOUT)

    def add(self, patterns: str | Iterable[str], callback: Callback) -> Subscription:
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        plist = (patterns,) if isinstance(patterns, str) else tuple(patterns)
        if not plist or not all(isinstance(p, str) for p in plist):
            raise ValueError("give at least one event name pattern, e.g. 'Hangup' or '*'")
        sub = Subscription(tuple(p.lower() for p in plist), callback, self)

        def apply() -> None:
            self._subs.append(sub)
            self._cache.clear()

        self._on_loop(apply)
        return sub

    def remove(self, sub: Subscription) -> None:
        def apply() -> None:
            if sub in self._subs:
                self._subs.remove(sub)
                self._cache.clear()

        self._on_loop(apply)

    def __len__(self) -> int:
        return len(self._subs)

    @property
    def cached_routes(self) -> int:
        """Event names whose handler tuple is cached (at most :data:`MAX_ROUTES`)."""
        return len(self._cache)

    @property
    def running_tasks(self) -> int:
        """Coroutine handler tasks still running (at most :data:`MAX_HANDLER_TASKS`)."""
        return len(self._tasks)

    def callbacks_for(self, name: str) -> tuple[Callback, ...]:
        found = self._cache.get(name)
        if found is None:
            found = tuple(s.callback for s in self._subs if s.matches(name))
            if len(self._cache) >= MAX_ROUTES:
                self._cache.clear()
            self._cache[name] = found
        return found

    def dispatch(self, msg: Message) -> None:
        """Call every matching handler; errors are logged and kept, never raised."""
        self.dispatch_all((msg,))

    def dispatch_all(self, messages: Iterable[Message]) -> None:
        """:meth:`dispatch` each message in turn (one call per read, not per event)."""
        cache = self._cache  # cleared in place on (un)subscribe, never replaced
        for msg in messages:
            name = msg.name or ""
            callbacks = cache.get(name)
            if callbacks is None:
                callbacks = self.callbacks_for(name)
            for callback in callbacks:
                try:
                    ret = callback(msg)
                    # Most handlers return None; isawaitable's ABC check costs more
                    # than the rest of a dispatch, so it runs only for a real value.
                    if ret is not None and inspect.isawaitable(ret):
                        self._schedule(ret, name, callback)
                except Exception as exc:  # a handler must never kill the reader
                    self.record_error(name, callback, exc)

    def _schedule(self, awaitable: Any, name: str, callback: Callback) -> None:
        if len(self._tasks) >= MAX_HANDLER_TASKS:
            if self.dropped_tasks == 0 or self.dropped_tasks % MAX_HANDLER_TASKS == 0:
                log.warning(
                    "%d coroutine handlers are still running; dropping new ones "
                    "(%d dropped so far): make the handler faster or use client.events()",
                    len(self._tasks),
                    self.dropped_tasks + 1,
                )
            self.dropped_tasks += 1
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()  # never awaited: close it so Python does not warn
            return
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                self.record_error(name, callback, t.exception())  # type: ignore[arg-type]

        task.add_done_callback(done)

    def record_error(self, name: str, callback: Callable[..., Any], exc: BaseException) -> None:
        """Log a handler failure and keep it in ``errors``."""
        label = getattr(callback, "__qualname__", repr(callback))
        log.error("event handler %s failed on %s: %r", label, name, exc, exc_info=exc)
        self.errors.append(HandlerError(name, label, exc))
