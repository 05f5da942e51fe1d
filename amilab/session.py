"""Session: the blocking face of :class:`AMIClient`, safe in notebooks and scripts.

A Session is a portal (anyio's ``BlockingPortal`` is the model), not a
second client: each method submits the same-named ``AMIClient`` method to the
I/O thread (:class:`~amilab.iothread.IOThread`) with the caller's arguments
untouched and blocks for its result; the ``a``-prefixed twins (``aaction``,
``acommand``, ...) return awaitables for cells that use ``await``. The client
alone builds actions and keeps deadlines, so the session never waits with a
clock of its own (a blocking call still wakes for Ctrl-C).

By construction: the portal methods are generated from ``AMIClient``'s public
methods at import (coroutines get a blocking method and an ``a`` twin; plain
methods run on the I/O thread; properties read through), so a method added to
the client exists on the session. The few methods written out here are the
ones a portal must treat differently (``connect`` returns the session,
``close`` also stops the finalizer) or that exist only here (``record``).

A Session dropped without ``close()`` is closed when collected: a finalizer
asks the I/O thread to log off and close the socket.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from amilab.client import AMIClient
from amilab.handlers import HandlerError
from amilab.iothread import IOThread
from amilab.protocol.login import Secret
from amilab.protocol.state import LinkState
from amilab.recorder import EventRecorder
from amilab.state import SessionState
from amilab.streams import EventQueue
from amilab.trace import WireTrace

__all__ = ["EventQueue", "Session", "connect"]

P = ParamSpec("P")
T = TypeVar("T")


def _blocking(
    method: Callable[Concatenate[AMIClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Session, P], T]:
    """A Session method that runs ``AMIClient.<name>`` on the I/O thread and blocks for it."""
    name = method.__name__

    def portal(self: Session, /, *args: P.args, **kwargs: P.kwargs) -> T:
        coro: Coroutine[Any, Any, T] = getattr(self.client, name)(*args, **kwargs)
        return self.io.run(coro)

    portal.__name__ = portal.__qualname__ = name
    portal.__doc__ = method.__doc__
    return portal


def _awaitable(
    method: Callable[Concatenate[AMIClient, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Session, P], Awaitable[T]]:
    """``await session.a<name>(...)`` from any event loop (e.g. the kernel's)."""
    name = method.__name__

    async def portal(self: Session, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.io.wrap(getattr(self.client, name)(*args, **kwargs))

    portal.__name__ = portal.__qualname__ = f"a{name}"
    portal.__doc__ = f"Awaitable twin of :meth:`{name}`."
    return portal


def _on_loop(
    method: Callable[Concatenate[AMIClient, P], T],
) -> Callable[Concatenate[Session, P], T]:
    """A Session method that calls ``AMIClient.<name>`` on the I/O thread (loop-owned state)."""
    name = method.__name__

    def portal(self: Session, /, *args: P.args, **kwargs: P.kwargs) -> T:
        bound: Callable[P, T] = getattr(self.client, name)
        return self.io.call(bound, *args, **kwargs)

    portal.__name__ = portal.__qualname__ = name
    portal.__doc__ = method.__doc__
    return portal


def _read_through(name: str, prop: property) -> property:
    def get(self: Session) -> Any:
        return getattr(self.client, name)

    return property(get, doc=prop.__doc__)


def _close_in_background(client: AMIClient, io: IOThread) -> None:
    """Finalizer of a collected Session: close its client without blocking the collector."""
    if io.alive and client.link_state is not LinkState.CLOSED:
        # RuntimeError: the loop is shutting down, and its own stop closes the socket.
        with contextlib.suppress(RuntimeError):
            io.submit(client.close())


class Session:
    """A connected AMI session with blocking methods (see :func:`connect`)."""

    def __init__(self, client: AMIClient, io: IOThread | None = None) -> None:
        self.client = client
        self.io = io or IOThread.shared()
        #: The live PBX model once :meth:`track` was called (``None`` before).
        self.state: SessionState | None = None
        self._finalizer = weakref.finalize(self, _close_in_background, client, self.io)

    def __repr__(self) -> str:
        c = self.client
        link = c.link_state.value
        return f"<Session {c.username}@{c.host}:{c.port} AMI {c.version or '?'} {link}>"

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- written out: a portal that differs from the client's method -------------
    def connect(self) -> Session:
        """Open the connection and log in (see :meth:`AMIClient.connect`); returns the session."""
        self.io.run(self.client.connect())
        return self

    def close(self) -> None:
        """Log off and close; safe to call twice."""
        self._finalizer.detach()
        if self.io.alive:
            self.io.run(self.client.close())

    async def aconnect(self) -> Session:
        """Awaitable twin of :meth:`connect`."""
        await self.io.wrap(self.client.connect())
        return self

    async def aclose(self) -> None:
        self._finalizer.detach()
        await self.io.wrap(self.client.close())

    def track(self, **options: Any) -> SessionState:
        """Keep a live model of the PBX in :attr:`state`; see :meth:`AMIClient.track`.

        ``session.state.channels`` (and ``bridges``, ``queues``, ...) are
        DataFrames copied on the I/O thread at one moment, never half-updated.
        """
        if self.state is None:
            self.state = SessionState(self.io.run(self.client.track(**options)), self.io)
        return self.state

    def record(self, patterns: str | Iterable[str] = "*", **options: Any) -> EventRecorder:
        """Start an :class:`~amilab.recorder.EventRecorder` on this session's events."""
        return EventRecorder(self, patterns, **options)

    # -- generated portals (typed here; any other public client method is added below) --
    action = _blocking(AMIClient.action)
    aaction = _awaitable(AMIClient.action)
    command = _blocking(AMIClient.command)
    acommand = _awaitable(AMIClient.command)
    ping = _blocking(AMIClient.ping)
    aping = _awaitable(AMIClient.ping)
    add_filter = _blocking(AMIClient.add_filter)
    aadd_filter = _awaitable(AMIClient.add_filter)
    wait_for = _blocking(AMIClient.wait_for)
    await_for = _awaitable(AMIClient.wait_for)
    on = _on_loop(AMIClient.on)
    on_connection = _on_loop(AMIClient.on_connection)
    events = _on_loop(AMIClient.events)

    @property
    def trace(self) -> WireTrace:
        """The wire trace (off until ``session.trace.enable()``), secrets masked."""
        return self.client.trace

    @property
    def link_state(self) -> LinkState:
        """The link's state (idle, connecting, ready, reconnecting, gave up, closed)."""
        return self.client.link_state

    @property
    def version(self) -> str | None:
        """The AMI version from the server's greeting, e.g. ``11.0.0``."""
        return self.client.version

    if TYPE_CHECKING:  # installed by _install_portals from AMIClient's properties
        connected: bool
        errors: list[HandlerError]
        username: str
        stray_responses: int


def _install_portals() -> None:
    """Give Session every public AMIClient method and property it does not define itself."""
    own = vars(Session)
    for name, member in vars(AMIClient).items():
        if name.startswith("_"):
            continue
        if inspect.iscoroutinefunction(member):
            if name not in own:
                setattr(Session, name, _blocking(member))
            if f"a{name}" not in own:
                setattr(Session, f"a{name}", _awaitable(member))
        elif inspect.isfunction(member):
            if name not in own:
                setattr(Session, name, _on_loop(member))
        elif isinstance(member, property) and name not in own:
            setattr(Session, name, _read_through(name, member))


_install_portals()


def connect(
    host: Any = "127.0.0.1",
    port: int | None = None,
    *,
    username: str | None = None,
    secret: str | Secret | None = None,
    io: IOThread | None = None,
    state: bool = False,
    **options: Any,
) -> Session:
    """Connect and log in; return a blocking :class:`Session` on the shared I/O thread.

    ``host`` may also be a running simulator (``amilab.connect(amilab.sim.start())``),
    whose address and admin login are then used. Options are those of
    :class:`AMIClient` (``tls=``, ``auth=``, ``timeout=``, ``events=``,
    ``trace=True``, ...); ``io`` picks the I/O thread (default: the shared one).
    ``state=True`` also starts the live PBX model (:meth:`Session.track`).
    """
    if secret is not None:
        secret = Secret.wrap(secret)  # no frame below the caller's holds it as a str
    if not isinstance(host, str):
        sim = host
        host, port = sim.host, sim.port
        if username is None or secret is None:
            username, plain = sim.admin_credentials()
            secret = Secret.wrap(plain)
            del plain
    if username is None or secret is None:
        raise TypeError("connect() needs username= and secret= (or a simulator as host)")
    client = AMIClient(host, port, username=username, secret=secret, **options)
    session = Session(client, io).connect()
    if state:
        session.track()
    return session
