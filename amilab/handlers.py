"""Event handler registry: glob patterns on event names, with a per-name route cache.

Dispatch is on the hot path (every event of a flood passes here), so the
handlers for each event name are computed once and cached until the set of
subscriptions changes.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from amilab.protocol.message import Message

__all__ = ["HandlerError", "HandlerRegistry", "Subscription"]

log = logging.getLogger("amilab.handlers")

#: Handler errors kept for inspection (``client.errors``); older ones are dropped.
MAX_KEPT_ERRORS = 100

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

    def add(self, patterns: str | Iterable[str], callback: Callback) -> Subscription:
        if not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        plist = (patterns,) if isinstance(patterns, str) else tuple(patterns)
        if not plist:
            raise ValueError("give at least one event name pattern, e.g. 'Hangup' or '*'")
        sub = Subscription(tuple(p.lower() for p in plist), callback, self)
        self._subs.append(sub)
        self._cache.clear()
        return sub

    def remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._subs)

    def callbacks_for(self, name: str) -> tuple[Callback, ...]:
        found = self._cache.get(name)
        if found is None:
            found = tuple(s.callback for s in self._subs if s.matches(name))
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
