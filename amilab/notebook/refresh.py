"""RefreshTimer: the kernel-side timer that redraws a widget every ``interval`` seconds.

Both live widgets (the EventMonitor and the state dashboard) follow one rule:
the I/O thread only appends to buffers or updates a model; the kernel's loop
redraws on this timer, one ``hold_sync()`` per refresh. A chain of
``call_later`` handles (not a task) keeps it cheap; a generation number makes
a stopped or restarted timer's late ticks do nothing. A refresh that raises is
logged and the timer goes on, so one bad draw never freezes the display.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

__all__ = ["RefreshTimer", "running_loop"]

log = logging.getLogger("amilab.notebook")


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The asyncio loop running in this thread (the kernel's), or ``None``."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class RefreshTimer:
    """Calls ``refresh()`` every ``interval`` seconds on a loop, until stopped."""

    def __init__(self, refresh: Callable[[], None], interval: float, name: str) -> None:
        self.refresh = refresh
        self.interval = interval
        self.name = name
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gen = 0

    @property
    def running(self) -> bool:
        return self._loop is not None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Refresh on ``loop`` from now on (from any thread; restarts a running timer)."""
        self.stop()
        self._gen += 1
        self._loop = loop
        gen = self._gen
        if running_loop() is loop:
            self._arm(gen)
        else:
            loop.call_soon_threadsafe(self._arm, gen)

    def stop(self) -> None:
        """Stop refreshing; safe from any thread and when already stopped."""
        self._gen += 1
        handle, self._handle = self._handle, None
        loop, self._loop = self._loop, None
        if handle is None or loop is None or loop.is_closed():
            return
        if running_loop() is loop:
            handle.cancel()
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(handle.cancel)

    def _arm(self, gen: int) -> None:
        if gen == self._gen and self._loop is not None:
            self._handle = self._loop.call_later(self.interval, self._tick, gen)

    def _tick(self, gen: int) -> None:
        if gen != self._gen:
            return
        try:
            self.refresh()
        except Exception:  # a bad refresh must not stop the display for good
            log.exception("%s refresh failed", self.name)
        self._arm(gen)
