"""Session: the blocking face of :class:`AMIClient`, safe in notebooks and scripts.

A Session is a portal, not a second implementation: every method submits the
matching ``AMIClient`` coroutine to the shared I/O thread
(:class:`~amilab.iothread.IOThread`) and waits for it; the ``a``-prefixed
twins (``aaction``, ``acommand``, ...) return awaitables for cells that use
``await``. Handlers registered with :meth:`Session.on` run on the I/O thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from amilab.client import DEFAULT_STREAM_SIZE, AMIClient, ConnectionEvent, _as_action
from amilab.errors import ActionTimeout
from amilab.handlers import HandlerError, Subscription
from amilab.iothread import IOThread
from amilab.protocol import Action, ActionResult, Message
from amilab.protocol.serialize import HeaderInput
from amilab.trace import WireTrace

if TYPE_CHECKING:
    from amilab.recorder import EventRecorder

__all__ = ["EventQueue", "Session", "connect"]

#: Extra seconds a blocking call waits beyond the action's own timeout, so the
#: action's clear ActionTimeout wins over a bare wait timeout.
WAIT_MARGIN = 5.0


class EventQueue:
    """A bounded, thread-safe event stream for sync code: ``for ev in session.events(...)``.

    Iteration stops after ``timeout`` seconds without an event (``None``: never).
    When full, the oldest event is dropped and counted in ``dropped``.
    """

    def __init__(
        self, session: Session, patterns: tuple[str, ...], maxsize: int, timeout: float | None
    ) -> None:
        self._queue: queue.Queue[Message] = queue.Queue(maxsize)
        self._lock = threading.Lock()
        self.dropped = 0
        self.timeout = timeout
        self._sub = session.on(patterns or ("*",), self._put)

    def _put(self, msg: Message) -> None:
        with self._lock:  # one producer (the I/O thread); consumers may race us for items
            try:
                self._queue.put_nowait(msg)
                return
            except queue.Full:
                pass
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            self.dropped += 1
            self._queue.put_nowait(msg)

    def get(self, timeout: float | None = None) -> Message:
        """The next event; raises ``queue.Empty`` after ``timeout`` seconds."""
        return self._queue.get(timeout=timeout)

    def __iter__(self) -> Iterator[Message]:
        while True:
            try:
                yield self._queue.get(timeout=self.timeout)
            except queue.Empty:
                return

    def close(self) -> None:
        self._sub.cancel()

    def __enter__(self) -> EventQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Session:
    """A connected AMI session with blocking methods (see :func:`connect`)."""

    def __init__(self, client: AMIClient, io: IOThread | None = None) -> None:
        self.client = client
        self.io = io or IOThread.shared()

    # -- connection ----------------------------------------------------------
    def connect(self) -> Session:
        self.io.run(self.client.connect())
        return self

    def close(self) -> None:
        """Log off and close; safe to call twice."""
        if self.io.alive:
            self.io.run(self.client.close(), timeout=self.client.timeout + WAIT_MARGIN)

    async def aclose(self) -> None:
        await self.io.wrap(self.client.close())

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self.client.connected

    @property
    def trace(self) -> WireTrace:
        """The wire trace (off until ``session.trace.enable()``), secrets masked."""
        return self.client.trace

    @property
    def version(self) -> str | None:
        """The AMI version from the server's greeting, e.g. ``11.0.0``."""
        return self.client.version

    @property
    def errors(self) -> list[HandlerError]:
        return self.client.errors

    def __repr__(self) -> str:
        c = self.client
        status = "connected" if c.connected else "not connected"
        return f"<Session {c.username}@{c.host}:{c.port} AMI {c.version or '?'} {status}>"

    # -- actions ------------------------------------------------------------
    def _wait(self, timeout: float | None, action: Action | None = None) -> float:
        """How long a blocking call waits: past the one deadline the client keeps.

        The client's deadline covers any reconnect wait and the answer; a sync
        Originate's includes the server's own Timeout.
        """
        if timeout is None:
            timeout = (
                self.client.timeout if action is None else self.client._default_deadline(action)
            )
        return timeout + WAIT_MARGIN

    def action(
        self,
        action: str | Action,
        headers: HeaderInput | None = None,
        /,
        *,
        timeout: float | None = None,
        check: bool = True,
        **fields: Any,
    ) -> ActionResult:
        """Send an action and block for its whole answer; see :meth:`AMIClient.action`."""
        act = _as_action(action, headers, fields)
        coro = self.client.action(act, timeout=timeout, check=check)
        return self.io.run(coro, self._wait(timeout, act))

    async def aaction(
        self,
        action: str | Action,
        headers: HeaderInput | None = None,
        /,
        *,
        timeout: float | None = None,
        check: bool = True,
        **fields: Any,
    ) -> ActionResult:
        """``await session.aaction(...)`` from a cell or any other event loop."""
        coro = self.client.action(action, headers, timeout=timeout, check=check, **fields)
        return await self.io.wrap(coro)

    def command(self, command: str, *, timeout: float | None = None) -> str:
        """Run a CLI command; return its output text exactly."""
        return self.io.run(self.client.command(command, timeout=timeout), self._wait(timeout))

    async def acommand(self, command: str, *, timeout: float | None = None) -> str:
        return await self.io.wrap(self.client.command(command, timeout=timeout))

    def ping(self, *, timeout: float | None = None) -> float:
        """Round-trip time of an AMI Ping, in seconds."""
        return self.io.run(self.client.ping(timeout=timeout), self._wait(timeout))

    async def aping(self, *, timeout: float | None = None) -> float:
        return await self.io.wrap(self.client.ping(timeout=timeout))

    # -- events -------------------------------------------------------------
    def on(self, pattern: str | Iterable[str], callback: Callable[[Message], Any]) -> Subscription:
        """Call ``callback(msg)`` on the I/O thread for each matching event."""
        return self.io.call(self.client.on, pattern, callback)

    def on_connection(self, callback: Callable[[ConnectionEvent], Any]) -> Callable[[], None]:
        return self.io.call(self.client.on_connection, callback)

    def events(
        self, *patterns: str, maxsize: int = DEFAULT_STREAM_SIZE, timeout: float | None = None
    ) -> EventQueue:
        """A bounded queue of matching events, iterable from sync code."""
        return EventQueue(self, patterns, maxsize, timeout)

    def wait_for(
        self,
        pattern: str,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 10.0,
    ) -> Message:
        """Block until an event matching ``pattern`` (and ``predicate``) arrives.

        Subscribe *before* triggering the event: ``with session.expect(...)``
        is not needed, as events queue from this call on; for events caused by
        an action you send first, use :meth:`events` before sending.
        """
        with self.events(pattern) as stream:
            try:
                while True:
                    msg = stream.get(timeout=timeout)
                    if predicate is None or predicate(msg):
                        return msg
            except queue.Empty:
                raise ActionTimeout(f"no {pattern!r} event within {timeout}s") from None

    def record(self, patterns: str | Iterable[str] = "*", **options: Any) -> EventRecorder:
        """Start an :class:`~amilab.recorder.EventRecorder` on this session's events."""
        from amilab.recorder import EventRecorder

        return EventRecorder(self, patterns, **options)


def connect(
    host: Any = "127.0.0.1",
    port: int | None = None,
    *,
    username: str | None = None,
    secret: str | None = None,
    io: IOThread | None = None,
    **options: Any,
) -> Session:
    """Connect and log in; return a blocking :class:`Session` on the shared I/O thread.

    ``host`` may also be a running simulator (``amilab.connect(amilab.sim.start())``),
    whose address and admin login are then used. Options are those of
    :class:`AMIClient` (``tls=``, ``auth=``, ``timeout=``, ``events=``, ...);
    ``io`` picks the I/O thread (default: the shared one).
    """
    if not isinstance(host, str):
        sim = host
        host, port = sim.host, sim.port
        if username is None or secret is None:
            username, secret = sim.admin_credentials()
    if username is None or secret is None:
        raise TypeError("connect() needs username= and secret= (or a simulator as host)")
    client = AMIClient(host, port, username=username, secret=secret, **options)
    return Session(client, io).connect()
