"""AMIClient: the asyncio client, a link policy around :class:`~amilab.connection.Connection`.

All protocol decisions (framing, ActionIDs, correlation, login) live in
``amilab.protocol``; each TCP connection is one :class:`Connection`, the
asyncio protocol that feeds it. This module keeps what outlives a connection:
the link's state (:class:`~amilab.protocol.state.LinkState`, one value, moved
only through its table), action deadlines, liveness pings, reconnect backoff,
the handler registry and the event streams.

Theory of operation:

* ``connect()`` moves IDLE -> CONNECTING and runs one connect task; callers
  that arrive meanwhile join it, so two concurrent calls make one link and
  one login. ``connect_timeout`` bounds the whole of it: TCP, TLS, greeting
  and login together.
* When a READY link drops, every pending action fails with
  :class:`ConnectionLost` and, with ``reconnect=True``, the state becomes
  RECONNECTING and a task logs in again with backoff and jitter (the protocol
  re-adds the filters) and reports the gap through :meth:`AMIClient.on_connection`.
  An action sent meanwhile waits for the link within its own deadline.
* A refused re-login is final (GAVE_UP): retrying a wrong secret cannot help.
* ``close()`` moves to CLOSED from anywhere: it cancels the connect,
  reconnect and ping tasks, logs off, closes the socket and ends every event
  stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, cast

from amilab.connection import Connection, format_seconds
from amilab.errors import (
    ActionTimeout,
    AMIError,
    AuthenticationError,
    ConnectionLost,
    NotConnected,
)
from amilab.handlers import HandlerError, HandlerRegistry, Subscription
from amilab.protocol import DEFAULT_MAX_MESSAGE_SIZE, Action, ClientProtocol, Message
from amilab.protocol.login import AuthMode, Credentials, Secret
from amilab.protocol.serialize import HeaderInput
from amilab.protocol.state import LINK_WAITABLE, LinkState, link_transition
from amilab.results import ActionResult
from amilab.state import LiveState
from amilab.state import track as track_state
from amilab.streams import DEFAULT_STREAM_SIZE, EventQueue
from amilab.trace import WireTrace

__all__ = ["AMIClient", "ConnectionEvent"]

log = logging.getLogger("amilab.client")

DEFAULT_PORT = 5038
DEFAULT_TLS_PORT = 5039
#: Default per-action deadline (s). Asterisk answers most actions in milliseconds;
#: slow ones (sync Originate) take ``Timeout`` ms plus this margin if given.
DEFAULT_TIMEOUT = 10.0
#: Asterisk's own wait for a sync Originate to be answered when no ``Timeout`` is sent.
ORIGINATE_DEFAULT_TIMEOUT_MS = 30000
#: Seconds of silence after which a liveness ping is sent, and how long a ping
#: may take before the peer counts as dead (a half-open TCP link gives no error
#: until then). Any bytes received count as proof of life.
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 5.0
#: Reconnect backoff: first delay, cap (seconds); each wait is jittered to 50-100%.
RECONNECT_DELAY = (0.5, 30.0)
#: How long close() waits for the server to acknowledge Logoff (s).
LOGOFF_TIMEOUT = 1.0


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


def default_deadline(action: Action, timeout: float) -> float:
    """``timeout`` unless the server itself may wait longer (a sync Originate's ``Timeout``)."""
    if action.name.lower() != "originate":
        return timeout
    fields = {k.lower(): v for k, v in action.headers}
    if fields.get("async", "").lower() in ("true", "yes", "1", "on"):
        return timeout
    try:
        # manager.c: Originate's Timeout is in milliseconds, 30000 when absent.
        server_ms = float(fields.get("timeout", ORIGINATE_DEFAULT_TIMEOUT_MS))
    except ValueError:
        return timeout
    return server_ms / 1000 + timeout


class AMIClient:
    """An asyncio AMI client: ``async with AMIClient(host, port, username=..., secret=...)``.

    ``timeout`` is each action's default deadline; ``ping_interval`` (``None``
    to disable) and ``ping_timeout`` bound how long a dead peer goes
    unnoticed; ``reconnect`` re-establishes a dropped link automatically.
    ``secret`` may be a :class:`~amilab.protocol.login.Secret`; it is kept
    wrapped, so no repr, log or traceback shows it.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        username: str,
        secret: str | Secret,
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
        trace: bool = False,
    ) -> None:
        secret = Secret.wrap(secret)  # from here on no frame holds it as a str
        self.host = host
        self.port = port if port is not None else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
        self.credentials = Credentials(username, secret, auth=auth, events=events)
        self.tls = tls
        self.filters: list[str] = list(filters)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.reconnect = reconnect
        self.reconnect_delay = reconnect_delay
        self.max_message_size = max_message_size
        self.trace = WireTrace()
        if trace:
            self.trace.enable()
        self.greeting: str | None = None
        self.version: str | None = None
        self.connection_events: list[ConnectionEvent] = []
        #: The link's state (a LinkState: idle, connecting, ready, reconnecting, gave up, closed).
        self.link_state = LinkState.IDLE
        #: The live PBX model once :meth:`track` was called (``None`` before).
        self.state: LiveState | None = None
        self._handlers = HandlerRegistry()
        self._streams: weakref.WeakSet[EventQueue] = weakref.WeakSet()
        self._conn_callbacks: list[Callable[[ConnectionEvent], Any]] = []
        self._conn: Connection | None = None
        self._ready = asyncio.Event()
        self._connect_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._ping_task: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._down_reason = ""

    # -- public state ------------------------------------------------------
    @property
    def username(self) -> str:
        return self.credentials.username

    @property
    def connected(self) -> bool:
        """True when logged in and able to send actions."""
        return self.link_state is LinkState.READY

    @property
    def errors(self) -> list[HandlerError]:
        """Handler exceptions (newest last); handlers that raise never stop the reader."""
        return list(self._handlers.errors)

    @property
    def connection(self) -> Connection | None:
        """The current logged-in connection (``None`` while down): for inspection and tests."""
        return self._conn

    @property
    def stray_responses(self) -> int:
        """Responses on the current connection that matched no pending action."""
        return self._conn.proto.stray_responses if self._conn is not None else 0

    def __repr__(self) -> str:
        tls = " tls" if self.tls else ""
        return f"<AMIClient {self.username}@{self.host}:{self.port}{tls} {self.link_state.value}>"

    def _move(self, event: str) -> None:
        self.link_state = link_transition(self.link_state, event)
        if self.link_state is LinkState.READY:
            self._ready.set()
        else:
            self._ready.clear()

    # -- lifecycle ---------------------------------------------------------
    async def __aenter__(self) -> AMIClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> AMIClient:
        """Open the connection and log in; raises AuthenticationError or NotConnected.

        Concurrent calls join one attempt; during a reconnect, the call waits
        for it (up to ``connect_timeout``).
        """
        state = self.link_state
        if state is LinkState.READY:
            return self
        if state is LinkState.RECONNECTING:
            await self._wait_ready(asyncio.get_running_loop().time() + self.connect_timeout)
            return self
        if state is not LinkState.CONNECTING:
            self._move("connect")
            self._handlers.bind(asyncio.get_running_loop())
            self._connect_task = asyncio.create_task(self._first_connect(), name="amilab-connect")
        task = self._connect_task
        assert task is not None
        try:
            # Shielded: one caller giving up must not cancel the attempt the others joined.
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or not current.cancelling()):
                raise NotConnected(
                    "not connected to AMI: close() was called while connecting"
                ) from None
            raise
        return self

    async def _first_connect(self) -> None:
        try:
            conn = await self._open()
        except ConnectionLost:
            # Dropped during the first login: a refusal (manager.c closes the socket
            # on a bad login after a delay, and a deny line closes it at once). A
            # reconnect retries instead, as a server restarting mid-login looks the same.
            if self.link_state is LinkState.CONNECTING:
                self._move("failed")
            raise AuthenticationError(
                f"the server closed the connection during login as {self.username!r}; "
                "check the username, secret and the permit/deny lines in manager.conf"
            ) from None
        except BaseException:
            if self.link_state is LinkState.CONNECTING:
                self._move("failed")
            raise
        if self.link_state is not LinkState.CONNECTING:  # closed meanwhile
            conn.abort("the client was closed")
            raise NotConnected(self._not_connected_reason())
        self._conn = conn
        self._move("ready")
        self._emit(ConnectionEvent("connected", time.time()))
        self._start_pinging()

    async def close(self) -> None:
        """Log off (briefly, best effort), close the link, stop background tasks, end streams."""
        was_ready = self.connected
        self._move("close")
        current = asyncio.current_task()
        for task in (self._connect_task, self._reconnect_task, self._ping_task):
            if task is not None and task is not current and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.state is not None:
            self.state.stop()  # the last snapshot stays readable
        conn, self._conn = self._conn, None
        if conn is not None and was_ready and conn.ready:
            loop = asyncio.get_running_loop()
            with contextlib.suppress(AMIError, OSError):
                await conn.request(
                    Action("Logoff"),
                    deadline=loop.time() + LOGOFF_TIMEOUT,
                    budget=LOGOFF_TIMEOUT,
                )
        if conn is not None:
            conn.abort("the client was closed")
        for stream in list(self._streams):
            stream.close()

    def _ssl_context(self) -> ssl.SSLContext | None:
        if isinstance(self.tls, ssl.SSLContext):
            return self.tls
        return ssl.create_default_context() if self.tls else None

    def _new_connection(self) -> Connection:
        proto = ClientProtocol(
            self.credentials,
            filters=self.filters,
            result_type=ActionResult,
            max_message_size=self.max_message_size or DEFAULT_MAX_MESSAGE_SIZE,
        )
        return Connection(
            proto,
            address=f"{self.host}:{self.port}",
            deliver=self._handlers.dispatch_all,
            on_lost=self._connection_lost,
            trace=self.trace,
        )

    async def _open(self) -> Connection:
        """One connection, logged in, within ``connect_timeout`` for all of it."""
        loop = asyncio.get_running_loop()
        conn = self._new_connection()
        sslctx = self._ssl_context()
        stage = "TCP connection"
        try:
            async with asyncio.timeout(self.connect_timeout):
                await loop.create_connection(
                    lambda: conn,
                    self.host,
                    self.port,
                    ssl=sslctx,
                    server_hostname=self.host if sslctx else None,
                )
                stage = "AMI greeting"
                greeting = await conn.greeting
                self.greeting, self.version = greeting.line, greeting.version
                stage = "login"
                await conn.logged_in
        except TimeoutError:
            conn.abort("connect timed out")
            raise NotConnected(
                f"no {stage} to {self.host}:{self.port} within "
                f"{format_seconds(self.connect_timeout)} (connect_timeout bounds TCP, TLS, "
                "greeting and login together); is this the manager port, and does TLS "
                "match the server?"
            ) from None
        except ConnectionLost:  # before OSError: ConnectionLost is a ConnectionError
            conn.abort("closed during login")
            if stage != "login":
                raise NotConnected(
                    f"{self.host}:{self.port} closed the connection before the AMI greeting; "
                    "is this the manager port?"
                ) from None
            raise  # dropped during login: a refusal on first connect, a retry on reconnect
        except (OSError, ssl.SSLError) as exc:
            conn.abort("connect failed")
            raise NotConnected(
                f"could not connect to AMI at {self.host}:{self.port}: {exc}. Is Asterisk "
                "running with manager.conf enabled=yes on that address and port?"
            ) from None
        except BaseException:
            # Refused login or filter, or cancelled (close() during a connect):
            # never leave a half-logged-in socket open behind.
            conn.abort("login did not complete")
            raise
        return conn

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

        ``timeout`` (seconds) is amilab's one deadline for the call, including
        any wait for a reconnect; by default :attr:`timeout`, plus the
        server's own wait for a sync ``Originate`` (its ``Timeout`` header, in
        ms). AMI's own ``Timeout`` header is sent with ``Timeout=``.
        ``check=False`` returns an error response instead of raising
        :class:`~amilab.errors.ActionError`.
        """
        act = _as_action(action, headers, fields)
        budget = default_deadline(act, self.timeout) if timeout is None else timeout
        deadline = asyncio.get_running_loop().time() + budget
        conn = await self._wait_ready(deadline, budget)
        # The connection's protocol builds amilab.results.ActionResult (result_type).
        return cast(
            ActionResult, await conn.request(act, deadline=deadline, budget=budget, check=check)
        )

    async def _wait_ready(self, deadline: float, budget: float | None = None) -> Connection:
        """The logged-in connection, waiting until ``deadline`` for a (re)connect under way.

        The wait also ends when the (re)connect task does (``close()`` stopped
        it, or re-login was refused), so no caller sleeps until its deadline
        for a link that will not come.
        """
        conn = self._conn
        if self.link_state is LinkState.READY and conn is not None:
            if conn.ready:
                return conn
            # Aborting (a protocol error, a dead peer) but not yet lost: to the
            # caller that is a lost connection, as it would be a moment later.
            raise ConnectionLost(f"the AMI connection to {conn.address} is closing")
        if self.link_state not in LINK_WAITABLE:
            raise NotConnected(self._not_connected_reason())
        task = self._reconnect_task or self._connect_task
        ready = asyncio.ensure_future(self._ready.wait())
        waits: set[asyncio.Future[Any]] = {ready}
        if task is not None and not task.done():
            waits.add(task)
        try:
            loop = asyncio.get_running_loop()
            await asyncio.wait(
                waits, timeout=max(deadline - loop.time(), 0), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ready.cancel()
        conn = self._conn
        if self.link_state is LinkState.READY and conn is not None:
            return conn
        if self.link_state in LINK_WAITABLE:
            waited = format_seconds(budget) if budget is not None else "its deadline"
            raise NotConnected(
                f"still reconnecting to {self.host}:{self.port} after {waited} (the link "
                f"dropped: {self._down_reason or 'unknown reason'}); nothing was sent. "
                "Raise timeout= to wait longer for the link"
            )
        raise NotConnected(self._not_connected_reason())

    def _not_connected_reason(self) -> str:
        state = self.link_state
        if state is LinkState.CLOSED:
            return "not connected to AMI: the client was closed; call connect() to open it again"
        if state is LinkState.GAVE_UP:
            return f"not connected to AMI: reconnecting stopped: {self._down_reason}"
        if state is LinkState.IDLE and self._down_reason:
            return (
                f"not connected to AMI: the link dropped ({self._down_reason}) and "
                "reconnect=False; call connect() again"
            )
        return "not connected to AMI: call connect() first"

    async def command(self, command: str, *, timeout: float | None = None) -> str:
        """Run a CLI command; return its output text exactly (blank lines kept)."""
        result = await self.action("Command", Command=command, timeout=timeout)
        return result.output

    async def ping(self, *, timeout: float | None = None) -> float:
        """Round-trip time of an AMI ``Ping``, in seconds."""
        start = time.perf_counter()
        await self.action("Ping", timeout=timeout)
        return time.perf_counter() - start

    async def track(self, **options: Any) -> LiveState:
        """Keep a live model of the PBX in :attr:`state` (channels, bridges, queues, ...).

        Seeded with list actions, kept current from events, re-seeded after a
        reconnect or a contradiction; see :mod:`amilab.state`. Returns once the
        first seed is in; calling it again returns the same model.
        """
        if self.state is None:
            self.state = await track_state(self, **options)
        return self.state

    async def add_filter(self, expression: str, *, timeout: float | None = None) -> ActionResult:
        """Add a server-side event filter (``Filter`` action); re-applied after reconnects."""
        result = await self.action("Filter", Operation="Add", Filter=expression, timeout=timeout)
        self.filters.append(expression)
        return result

    # -- events ------------------------------------------------------------
    def on(self, pattern: str | Iterable[str], callback: Callable[[Message], Any]) -> Subscription:
        """Call ``callback(msg)`` for events whose name matches ``pattern`` (glob, ``"*"``).

        Handlers run on the event loop in arrival order; a coroutine result
        is scheduled as a task (at most ``handlers.MAX_HANDLER_TASKS`` at
        once). Handlers survive reconnects. ``.cancel()`` on the returned
        subscription takes effect before it returns, from any thread.
        """
        return self._handlers.add(pattern, callback)

    def events(
        self, *patterns: str, maxsize: int = DEFAULT_STREAM_SIZE, timeout: float | None = None
    ) -> EventQueue:
        """A bounded stream of matching events: ``async for`` here, ``for`` in another thread.

        It drops the oldest event when full (counted in ``.dropped``) and
        ends when closed, or when the client closes. ``timeout`` ends a sync
        iteration after that many seconds without an event.
        """
        stream = EventQueue(maxsize, timeout)
        stream.subscription = self._handlers.add(patterns or ("*",), stream.put)
        self._streams.add(stream)
        if self.link_state is LinkState.CLOSED:
            stream.close()
        return stream

    async def wait_for(
        self,
        pattern: str,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Message:
        """The next event matching ``pattern`` (and ``predicate``), within ``timeout`` seconds.

        Subscribe before triggering the event: for events caused by an action,
        start ``events()`` first, or run this concurrently with the action.
        """
        with self.events(pattern) as stream:
            try:
                async with asyncio.timeout(timeout):
                    async for msg in stream:
                        if predicate is None or predicate(msg):
                            return msg
            except TimeoutError:
                pass
        raise ActionTimeout(f"no {pattern!r} event within {format_seconds(timeout)}")

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

    # -- link loss and reconnect ----------------------------------------------
    def _connection_lost(self, conn: Connection, reason: str) -> None:
        """Connection's ``on_lost`` callback: the socket of ``conn`` closed."""
        if conn is not self._conn:
            return  # an old or never-adopted connection
        self._conn = None
        if self.link_state is not LinkState.READY:
            return
        self._down_since = time.time()
        self._down_reason = reason
        self._emit(ConnectionEvent("disconnected", self._down_since, reason))
        if not self.reconnect:
            self._move("lost_for_good")
            return
        self._move("lost")
        self._reconnect_task = asyncio.get_running_loop().create_task(
            self._reconnect_loop(), name="amilab-reconnect"
        )

    async def _reconnect_loop(self) -> None:
        first, cap = self.reconnect_delay
        attempt = 0
        while self.link_state is LinkState.RECONNECTING:
            delay = min(cap, first * 2**attempt) * random.uniform(0.5, 1.0)
            await asyncio.sleep(delay)
            attempt += 1
            try:
                conn = await self._open()
            except AuthenticationError as exc:
                log.error(
                    "reconnect to %s:%s: login refused; giving up: %s", self.host, self.port, exc
                )
                self._down_reason = f"login refused: {exc}"
                self._move("refused")
                self._emit(ConnectionEvent("disconnected", time.time(), self._down_reason))
                return
            except Exception as exc:  # any failure: try again later, never kill the task
                log.info(
                    "reconnect attempt %d to %s:%s failed: %s", attempt, self.host, self.port, exc
                )
                continue
            if self.link_state is not LinkState.RECONNECTING:
                conn.abort("the client was closed")
                return
            self._conn = conn
            self._move("ready")
            now = time.time()
            gap = now - self._down_since if self._down_since else None
            log.warning("reconnected to %s:%s after %.1fs", self.host, self.port, gap or 0.0)
            self._emit(ConnectionEvent("reconnected", now, gap=gap))
            return

    # -- liveness -----------------------------------------------------------
    def _start_pinging(self) -> None:
        if self.ping_interval and (self._ping_task is None or self._ping_task.done()):
            self._ping_task = asyncio.create_task(self._ping_loop(), name="amilab-ping")

    async def _ping_loop(self) -> None:
        assert self.ping_interval is not None
        interval = self.ping_interval
        loop = asyncio.get_running_loop()
        while self.link_state is not LinkState.CLOSED:
            conn = self._conn
            if conn is None or not self.connected:
                await asyncio.sleep(interval)
                continue
            idle = loop.time() - conn.last_received
            if idle < interval:
                # Bytes arrived lately: the peer is alive. Look again when it has been
                # silent for a whole interval, so a dead peer is noticed within
                # ping_interval + ping_timeout of its last bytes.
                await asyncio.sleep(interval - idle)
                continue
            sent = loop.time()
            try:
                await conn.request(
                    Action("Ping"), deadline=sent + self.ping_timeout, budget=self.ping_timeout
                )
            except ActionTimeout:
                if conn.last_received > sent:
                    continue  # the answer is queued behind other bytes: alive
                log.warning(
                    "AMI peer %s:%s sent nothing for %s, not even a ping answer; closing the link",
                    self.host,
                    self.port,
                    format_seconds(loop.time() - conn.last_received),
                )
                conn.abort(
                    f"no answer to ping within {format_seconds(self.ping_timeout)} (dead peer)"
                )
                await asyncio.sleep(interval)  # connection_lost runs first; never spin
            except AMIError:
                await asyncio.sleep(interval)  # the link is going down: the next turn sees it
