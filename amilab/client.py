"""AMIClient: the asyncio I/O loop around :class:`~amilab.protocol.ClientProtocol`.

All protocol decisions (framing, ActionIDs, correlation, login) live in
``amilab.protocol``; this module only moves bytes, keeps time (action
timeouts, liveness pings, reconnect backoff) and calls handlers.

Theory of operation: one asyncio ``Protocol`` per TCP connection feeds every
received chunk to a fresh ``ClientProtocol``. Completed actions resolve their
futures; events go to the handler registry, which outlives connections. When
the link drops (EOF, reset, a protocol error, or a missed ping), every pending
action fails with :class:`ConnectionLost` and, unless the client was closed, a
reconnect task logs in again with backoff and jitter, re-applies filters and
reports the gap through :meth:`AMIClient.on_connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from amilab.errors import (
    ActionError,
    ActionTimeout,
    AMIError,
    AuthenticationError,
    ConnectionLost,
    NotConnected,
    ProtocolError,
)
from amilab.handlers import HandlerError, HandlerRegistry, Subscription
from amilab.protocol import Action, ActionResult, ClientProtocol, Completed, Greeting, Message
from amilab.protocol.login import AuthMode, Secret, login_flow
from amilab.protocol.serialize import HeaderInput
from amilab.protocol.state import ConnState
from amilab.trace import WireTrace

__all__ = ["AMIClient", "ConnectionEvent", "EventStream"]

log = logging.getLogger("amilab.client")

DEFAULT_PORT = 5038
DEFAULT_TLS_PORT = 5039
#: Default per-action deadline (s). Asterisk answers most actions in milliseconds;
#: slow ones (sync Originate) take ``Timeout`` ms plus this margin if given.
DEFAULT_TIMEOUT = 10.0
#: Least time left for the answer once a reconnect wait used up the deadline (s).
MIN_SEND_TIMEOUT = 0.05
#: Asterisk's own wait for a sync Originate to be answered when no ``Timeout`` is sent.
ORIGINATE_DEFAULT_TIMEOUT_MS = 30000
#: Seconds between liveness pings, and how long a ping may take before the
#: peer counts as dead (a half-open TCP link gives no error until then).
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 5.0
#: Reconnect backoff: first delay, cap (seconds); each wait is jittered to 50-100%.
RECONNECT_DELAY = (0.5, 30.0)
#: Events an ``events()`` iterator buffers before it drops the oldest (and counts them).
DEFAULT_STREAM_SIZE = 10_000
_READ_LIMIT_SLACK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A change of the link: ``"connected"``, ``"disconnected"`` or ``"reconnected"``.

    ``gap`` is how long the link was down (seconds) for ``"reconnected"``:
    events the server sent in that time were not received and are not invented.
    """

    kind: Literal["connected", "disconnected", "reconnected"]
    at: float
    reason: str = ""
    gap: float | None = None


class EventStream:
    """A bounded async iterator of events; when full it drops the oldest and counts them."""

    def __init__(self, client: AMIClient, patterns: tuple[str, ...], maxsize: int) -> None:
        # ``None`` marks the end: close() posts it to wake a consumer waiting on get().
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize)
        self.dropped = 0
        self._sub = client.on(patterns or ("*",), self._put)

    def _put(self, msg: Message) -> None:
        queue = self._queue
        if queue.full():
            queue.get_nowait()
            self.dropped += 1
        queue.put_nowait(msg)

    def close(self) -> None:
        self._sub.cancel()
        if self._queue.empty():  # only then can a consumer be waiting; never full
            self._queue.put_nowait(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Message:
        if not self._sub.active and self._queue.empty():
            raise StopAsyncIteration
        msg = await self._queue.get()
        if msg is None:
            self._queue.put_nowait(None)  # for any other waiting consumer
            raise StopAsyncIteration
        return msg

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def _as_action(action: str | Action, headers: HeaderInput | None, fields: dict[str, Any]) -> Action:
    """An Action from a name and headers; an Action object must come alone."""
    if not isinstance(action, Action):
        return Action(action, headers, **fields)
    if headers is not None or fields:
        raise TypeError(
            "give headers either in the Action object or beside an action name, not both; "
            "nothing was sent"
        )
    return action


class _Link(asyncio.Protocol):
    """One TCP connection: hands bytes and EOF to its client."""

    def __init__(self, client: AMIClient, proto: ClientProtocol) -> None:
        self.client = client
        self.proto = proto
        self.transport: asyncio.Transport | None = None
        self.greeting: asyncio.Future[Greeting] = asyncio.get_running_loop().create_future()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.client._on_data(self, data)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client._on_lost(self, exc)

    def ensure_open(self) -> asyncio.Transport:
        """The transport, or ConnectionLost if the link is closed or closing."""
        if self.transport is None or self.closed or self.transport.is_closing():
            raise ConnectionLost("the AMI connection is closed")
        return self.transport

    def write(self, data: bytes) -> None:
        self.ensure_open().write(data)


class AMIClient:
    """An asyncio AMI client: ``async with AMIClient(host, port, username=..., secret=...)``.

    ``timeout`` is each action's default deadline; ``ping_interval`` (``None``
    to disable) and ``ping_timeout`` bound how long a dead peer goes
    unnoticed; ``reconnect`` re-establishes a dropped link automatically.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        username: str,
        secret: str,
        auth: AuthMode = "auto",
        tls: bool | ssl.SSLContext = False,
        events: str | bool | None = None,
        filters: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_TIMEOUT,
        ping_interval: float | None = DEFAULT_PING_INTERVAL,
        ping_timeout: float = DEFAULT_PING_TIMEOUT,
        reconnect: bool = True,
        reconnect_delay: tuple[float, float] = RECONNECT_DELAY,
        max_message_size: int | None = None,
    ) -> None:
        self.host = host
        self.port = port if port is not None else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
        self.username = username
        self._secret = Secret(secret)
        self.auth: AuthMode = auth
        self.tls = tls
        self.events_mask = events
        self.filters: list[str] = list(filters)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect = reconnect
        self.reconnect_delay = reconnect_delay
        self.max_message_size = max_message_size
        self.trace = WireTrace()
        self.greeting: str | None = None
        self.version: str | None = None
        self.connection_events: list[ConnectionEvent] = []
        self._handlers = HandlerRegistry()
        self._conn_callbacks: list[Callable[[ConnectionEvent], Any]] = []
        self._link: _Link | None = None
        self._waiters: dict[str, asyncio.Future[ActionResult]] = {}
        self._ready = asyncio.Event()
        self._closing = False
        self._down_since: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lost_reason: str | None = None
        self._gave_up: str | None = None

    # -- public state ------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True when logged in and able to send actions."""
        return self._ready.is_set()

    @property
    def state(self) -> str:
        return self._link.proto.state.value if self._link else ConnState.CLOSED.value

    @property
    def errors(self) -> list[HandlerError]:
        """Handler exceptions (newest last); handlers that raise never stop the reader."""
        return list(self._handlers.errors)

    def __repr__(self) -> str:
        status = "connected" if self.connected else "not connected"
        tls = " tls" if self.tls else ""
        return f"<AMIClient {self.username}@{self.host}:{self.port}{tls} {status}>"

    # -- lifecycle ---------------------------------------------------------
    async def __aenter__(self) -> AMIClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> AMIClient:
        """Open the connection and log in; raises AuthenticationError or NotConnected."""
        if self.connected:
            return self
        task = self._reconnect_task
        if task is not None and not task.done() and not self._closing:
            # A reconnect is already under way: join it rather than open a second link.
            await asyncio.wait((task,), timeout=self.connect_timeout)
            if self.connected:
                return self
            raise NotConnected(self._not_connected_reason())
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._gave_up = None
        try:
            await self._open()
        except ConnectionLost:
            # Dropped during the first login: report it as a refusal. A reconnect
            # retries instead, as a server restarting mid-login looks the same.
            raise AuthenticationError(
                f"the server closed the connection during login as {self.username!r}; "
                "check the username, secret and the permit/deny lines in manager.conf"
            ) from None
        self._emit(ConnectionEvent("connected", time.time()))
        if self.ping_interval and (self._ping_task is None or self._ping_task.done()):
            self._ping_task = asyncio.create_task(self._ping_loop(), name="amilab-ping")
        return self

    async def close(self) -> None:
        """Log off (briefly, best effort), close the link and stop background tasks."""
        self._closing = True
        for task in (self._reconnect_task, self._ping_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        link = self._link
        if link is not None and not link.closed and self.connected:
            with contextlib.suppress(AMIError, OSError, TimeoutError):
                await self._send(link, Action("Logoff"), timeout=1.0)
        self._ready.clear()
        if link is not None and link.transport is not None:
            link.transport.close()
        self._fail_pending(ConnectionLost("the client was closed"))
        self._link = None

    def _ssl_context(self) -> ssl.SSLContext | None:
        if isinstance(self.tls, ssl.SSLContext):
            return self.tls
        return ssl.create_default_context() if self.tls else None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        kwargs: dict[str, Any] = {}
        if self.max_message_size is not None:
            kwargs["max_message_size"] = self.max_message_size
        proto = ClientProtocol(**kwargs)
        sslctx = self._ssl_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, link = await loop.create_connection(
                    lambda: _Link(self, proto),
                    self.host,
                    self.port,
                    ssl=sslctx,
                    server_hostname=self.host if sslctx else None,
                )
                self._link = link
                await link.greeting
        except TimeoutError:
            self._abort_link()
            raise NotConnected(
                f"no AMI greeting from {self.host}:{self.port} within {self.connect_timeout}s; "
                "is this the manager port, and does TLS match the server?"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            self._abort_link()
            raise NotConnected(
                f"could not connect to AMI at {self.host}:{self.port}: {exc}. Is Asterisk "
                "running with manager.conf enabled=yes on that address and port?"
            ) from None
        try:
            await self._login(link)
        except BaseException:
            # Timed out, cancelled (close() during a reconnect) or a filter refused:
            # never leave a half-logged-in socket open behind.
            self._abort_link()
            raise

    def _abort_link(self) -> None:
        if self._link is not None and self._link.transport is not None:
            self._link.transport.abort()
        self._link = None

    async def _login(self, link: _Link) -> None:
        link.proto.start_login()
        flow = login_flow(self.username, self._secret, auth=self.auth, events=self.events_mask)
        try:
            action = next(flow)
            while True:
                result = await self._send(link, action, timeout=self.connect_timeout, check=False)
                action = flow.send(result)
        except StopIteration:
            pass
        except ActionTimeout:
            raise NotConnected(
                f"{self.host}:{self.port} sent the AMI greeting but did not answer the login "
                f"within {self.connect_timeout}s"
            ) from None
        except AuthenticationError:
            link.proto.login_finished(False)
            raise
        link.proto.login_finished(True)
        for expr in self.filters:
            await self._send(
                link, Action("Filter", Operation="Add", Filter=expr), timeout=self.connect_timeout
            )
        self._ready.set()

    # -- sending -----------------------------------------------------------
    async def action(
        self,
        action: str | Action,
        headers: HeaderInput | None = None,
        /,
        *,
        timeout: float | None = None,
        check: bool = True,
        **fields: Any,
    ) -> ActionResult:
        """Send an action and wait for its whole answer (response and list events).

        ``timeout`` (seconds) is amilab's deadline; AMI's own ``Timeout``
        header is sent with ``Timeout=``. ``check=False`` returns an error
        response instead of raising :class:`ActionError`.
        """
        act = _as_action(action, headers, fields)
        deadline = self._default_deadline(act) if timeout is None else timeout
        loop = asyncio.get_running_loop()
        started = loop.time()
        link = await self._ready_link(deadline)
        # One deadline for the whole call: time spent waiting for a reconnect counts.
        remaining = max(deadline - (loop.time() - started), MIN_SEND_TIMEOUT)
        return await self._send(link, act, timeout=remaining, check=check)

    def _default_deadline(self, action: Action) -> float:
        """``timeout`` unless the server itself may wait longer (a sync Originate's ``Timeout``)."""
        if action.name.lower() != "originate":
            return self.timeout
        fields = {k.lower(): v for k, v in action.headers}
        if fields.get("async", "").lower() in ("true", "yes", "1", "on"):
            return self.timeout
        try:
            # manager.c: Originate's Timeout is in milliseconds, 30000 when absent.
            server_ms = float(fields.get("timeout", ORIGINATE_DEFAULT_TIMEOUT_MS))
        except ValueError:
            return self.timeout
        return server_ms / 1000 + self.timeout

    async def _ready_link(self, timeout: float) -> _Link:
        """The logged-in link, waiting up to ``timeout`` for a reconnect under way.

        The wait also ends when the reconnect task does (``close()`` cancelled
        it, or re-login was refused), so no caller sleeps until its deadline
        for a link that will not come.
        """
        if not self._ready.is_set():
            task = self._reconnect_task
            if self._closing or task is None or task.done():
                raise NotConnected(self._not_connected_reason())
            ready = asyncio.ensure_future(self._ready.wait())
            try:
                await asyncio.wait(
                    (ready, task), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                ready.cancel()
            if not self._ready.is_set():
                if self._closing or task.done():
                    raise NotConnected(self._not_connected_reason())
                raise NotConnected(
                    f"still reconnecting to {self.host}:{self.port} after {timeout}s"
                )
        assert self._link is not None
        return self._link

    def _not_connected_reason(self) -> str:
        if self._closing:
            return "not connected to AMI: the client was closed"
        if self._gave_up is not None:
            return f"not connected to AMI: reconnecting stopped: {self._gave_up}"
        return "not connected to AMI: call connect() first (or the client was closed)"

    async def _send(
        self, link: _Link, action: Action, *, timeout: float, check: bool = True
    ) -> ActionResult:
        # After a protocol error the link is aborting but not yet lost (and its
        # protocol refuses sends): that is a lost connection to the caller.
        link.ensure_open()
        action_id, data = link.proto.send(action)
        future: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
        self._waiters[action_id] = future
        try:
            link.write(data)
            self.trace.record("sent", data)
            del data  # a Login's bytes hold the secret: keep them out of traceback locals
            async with asyncio.timeout(timeout):
                result = await future
        except TimeoutError:
            raise ActionTimeout(
                f"{action.name} got no complete answer within {timeout}s "
                f"(ActionID {action_id}); raise timeout= if the action is slow"
            ) from None
        finally:
            self._waiters.pop(action_id, None)
            link.proto.cancel(action_id)
        if check and not result.ok:
            raise ActionError(f"{action.name} failed: {result.message or 'Error'}", result)
        return result

    async def command(self, command: str, *, timeout: float | None = None) -> str:
        """Run a CLI command; return its output text exactly (blank lines kept)."""
        result = await self.action("Command", Command=command, timeout=timeout)
        return result.output

    async def ping(self, *, timeout: float | None = None) -> float:
        """Round-trip time of an AMI ``Ping``, in seconds."""
        start = time.perf_counter()
        await self.action("Ping", timeout=timeout)
        return time.perf_counter() - start

    # -- events ------------------------------------------------------------
    def on(self, pattern: str | Iterable[str], callback: Callable[[Message], Any]) -> Subscription:
        """Call ``callback(msg)`` for events whose name matches ``pattern`` (glob, ``"*"``).

        Handlers run on the event loop in arrival order; a coroutine result
        is scheduled as a task. Handlers survive reconnects.
        """
        return self._handlers.add(pattern, callback)

    def events(self, *patterns: str, maxsize: int = DEFAULT_STREAM_SIZE) -> EventStream:
        """``async for ev in client.events("Hangup")``: a bounded stream of matching events."""
        return EventStream(self, patterns, maxsize)

    def on_connection(self, callback: Callable[[ConnectionEvent], Any]) -> Callable[[], None]:
        """Call ``callback(ConnectionEvent)`` on connect, disconnect and reconnect."""
        self._conn_callbacks.append(callback)
        return lambda: self._conn_callbacks.remove(callback)

    def _emit(self, event: ConnectionEvent) -> None:
        self.connection_events.append(event)
        for callback in list(self._conn_callbacks):
            try:
                callback(event)
            except Exception as exc:
                self._handlers.record_error(event.kind, callback, exc)

    async def add_filter(self, expression: str) -> ActionResult:
        """Add a server-side event filter (``Filter`` action); re-applied after reconnects."""
        result = await self.action("Filter", Operation="Add", Filter=expression)
        self.filters.append(expression)
        return result

    # -- the I/O edge --------------------------------------------------------
    def _on_data(self, link: _Link, data: bytes) -> None:
        if self.trace.enabled:
            self.trace.record("received", data)
        try:
            outputs = link.proto.receive_data(data)
        except ProtocolError as exc:
            log.error("AMI protocol error from %s:%s: %s", self.host, self.port, exc)
            self._lost_reason = f"protocol error: {exc}"
            if link.transport is not None:
                link.transport.abort()
            return
        # Events go to the handlers in runs, one dispatch_all() call per run, so
        # a flood costs one call per read; wire order is kept around the rest.
        events: list[Message] = []
        for out in outputs:
            if out.__class__ is Message:
                events.append(out)
                continue
            if events:
                self._handlers.dispatch_all(events)
                events = []
            if isinstance(out, Completed):
                future = self._waiters.get(out.action_id)
                if future is not None and not future.done():
                    future.set_result(out.result)
            elif isinstance(out, Greeting):
                self.greeting, self.version = out.line, out.version
                if not link.greeting.done():
                    link.greeting.set_result(out)
        if events:
            self._handlers.dispatch_all(events)

    def _on_lost(self, link: _Link, exc: Exception | None) -> None:
        if link is not self._link:
            return
        reason = self._lost_reason or (str(exc) if exc else "closed by peer")
        self._lost_reason = None
        with contextlib.suppress(ProtocolError):
            link.proto.receive_eof()
        was_ready = self._ready.is_set()
        self._ready.clear()
        self._fail_pending(
            ConnectionLost(f"AMI connection to {self.host}:{self.port} lost: {reason}")
        )
        if not link.greeting.done():
            link.greeting.set_exception(ConnectionLost(reason))
            link.greeting.exception()  # mark retrieved
        if self._closing or not was_ready:
            return
        self._down_since = time.time()
        self._emit(ConnectionEvent("disconnected", self._down_since, reason))
        if self.reconnect and (self._reconnect_task is None or self._reconnect_task.done()):
            self._reconnect_task = asyncio.get_running_loop().create_task(
                self._reconnect_loop(), name="amilab-reconnect"
            )

    def _fail_pending(self, exc: Exception) -> None:
        waiters, self._waiters = self._waiters, {}
        for future in waiters.values():
            if not future.done():
                future.set_exception(exc)

    # -- background tasks --------------------------------------------------
    async def _reconnect_loop(self) -> None:
        first, cap = self.reconnect_delay
        attempt = 0
        while not self._closing:
            delay = min(cap, first * 2**attempt) * random.uniform(0.5, 1.0)
            await asyncio.sleep(delay)
            attempt += 1
            try:
                await self._open()
            except AuthenticationError as exc:
                log.error(
                    "reconnect to %s:%s: login refused; giving up: %s", self.host, self.port, exc
                )
                self._gave_up = f"login refused: {exc}"
                self._emit(ConnectionEvent("disconnected", time.time(), self._gave_up))
                return
            except Exception as exc:  # any failure: try again later, never kill the task
                log.info(
                    "reconnect attempt %d to %s:%s failed: %s", attempt, self.host, self.port, exc
                )
                continue
            now = time.time()
            gap = now - self._down_since if self._down_since else None
            log.warning("reconnected to %s:%s after %.1fs", self.host, self.port, gap or 0.0)
            self._emit(ConnectionEvent("reconnected", now, gap=gap))
            return

    async def _ping_loop(self) -> None:
        assert self.ping_interval is not None
        while not self._closing:
            await asyncio.sleep(self.ping_interval)
            link = self._link
            if link is None or not self._ready.is_set():
                continue
            try:
                await self._send(link, Action("Ping"), timeout=self.ping_timeout)
            except ActionTimeout:
                log.warning(
                    "AMI peer %s:%s did not answer a ping within %ss; closing the link",
                    self.host,
                    self.port,
                    self.ping_timeout,
                )
                self._lost_reason = f"no answer to ping within {self.ping_timeout}s (dead peer)"
                if link.transport is not None:
                    link.transport.abort()
            except AMIError:
                continue
