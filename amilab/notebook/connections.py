"""The notebook's connections: what ``%ami`` is connected to, without IPython.

:class:`Connections` owns everything the magics start: the named sessions
(each a :class:`Link`: a :class:`~amilab.session.Session` on an I/O thread of
its own, and the simulator started for it, if any), the monitors watching a
session, the completion cache of the connected server's actions, and the
messages the I/O threads leave for the kernel to print. The magic
(:mod:`amilab.notebook.magics`) only parses lines and prints; everything here
is plain Python, so it is tested without a shell (tests/notebook/test_connections.py).

Theory of operation. A new connection is logged in first, on a new I/O
thread, through :func:`amilab.connect`; only once it works does it replace the
link of the same name (closing that one, its monitors and its simulator).
A failed connect therefore leaves the working session as it was. Each link
has its own thread, not the process-wide shared one, so ``%ami disconnect``
and ``%unload_ext amilab`` stop every thread and socket the magics started
without touching sessions the user opened with ``amilab.connect()``.

The I/O thread never prints: a dropped link (its ``on_connection`` event) and
amilab's warnings (``reconnected to ...``, a dead peer; through
:attr:`Connections.log_handler` on the ``amilab`` logger) are queued in
:attr:`Connections.news`, and the kernel prints them under whichever cell is
running (IPython's ``pre_run_cell``/``post_run_cell``), never under the cell
that happened to create the session (where a print or a log line from the
I/O thread lands in Jupyter).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import socket
import ssl
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import amilab.sim
from amilab.client import DEFAULT_PORT, DEFAULT_TLS_PORT, ConnectionEvent
from amilab.errors import AMIError, NotConnected
from amilab.iothread import IOThread
from amilab.notebook.completion import ActionCatalog
from amilab.notebook.config import Settings
from amilab.protocol.login import Secret
from amilab.session import Session
from amilab.session import connect as ami_connect

__all__ = [
    "DEFAULT_NAME",
    "MAX_NEWS",
    "NOT_CONNECTED",
    "SIM_ASTERISK",
    "Connections",
    "Link",
    "probe",
]

#: The link ``%ami connect`` and ``%ami sim`` use.
DEFAULT_NAME = "default"
#: I/O-thread messages kept for the kernel to print (a flapping link must not grow memory).
MAX_NEWS = 100
#: The Asterisk ``%ami sim`` imitates by default: 20, chan_sip beside PJSIP, so the
#: habit the field still has (``%ami SIPPeers``) works out of the box (issue 10 §3);
#: ``asterisk="22"`` gives the profile checked against the real Asterisk 22 sandbox.
SIM_ASTERISK = "20"
#: Name of the I/O threads started here (tests count them).
IO_THREAD_NAME = "amilab-notebook-io"
NOT_CONNECTED = (
    "not connected to AMI: run %ami connect HOST[:PORT] --user U (secret from $AMI_SECRET), "
    "or %ami sim for the built-in simulator"
)


@dataclass(eq=False)
class Link:
    """One named connection: its session, its I/O thread, and what was started for it."""

    name: str
    session: Session
    io: IOThread
    sim: amilab.sim.SimulatedPBX | None = None
    read_only: bool = False
    opened_at: float = field(default_factory=time.monotonic)
    monitors: list[Any] = field(default_factory=list)
    unwatch: Callable[[], None] | None = None

    @property
    def where(self) -> str:
        client = self.session.client
        return f"{client.host}:{client.port}"


def probe(settings: Settings, timeout: float) -> None:
    """Check the host accepts a TCP connection, so a wrong address fails before any prompt."""
    port = settings.port or (DEFAULT_TLS_PORT if settings.tls else DEFAULT_PORT)
    try:
        with socket.create_connection((settings.host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConnectionError(
            f"cannot reach {settings.host}:{port} ({reason}); no secret was asked, "
            "and the current session (if any) is kept"
        ) from None


class NewsHandler(logging.Handler):
    """A logging handler that queues amilab's warnings as news for the kernel to print."""

    def __init__(self, news: deque[str]) -> None:
        super().__init__(logging.WARNING)
        self.news = news

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.news.append(f"amilab: {record.getMessage()}")
        except Exception:  # a broken record must not break the I/O thread
            self.handleError(record)


def _stop_io(io: IOThread) -> None:
    io.stop()
    atexit.unregister(io.stop)


class Connections:
    """The named sessions of one notebook, and everything started for them."""

    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.current_name = DEFAULT_NAME
        #: The connected server's actions and headers, for completion (reset per link).
        self.catalog = ActionCatalog()
        #: Messages from the I/O threads, oldest first; the kernel drains them.
        self.news: deque[str] = deque(maxlen=MAX_NEWS)
        #: Put on the ``amilab`` logger by the extension (when nothing else handles it).
        self.log_handler = NewsHandler(self.news)

    def __repr__(self) -> str:
        names = ", ".join(f"{n}={link.where}" for n, link in self.links.items()) or "none"
        return f"<Connections current={self.current_name!r}: {names}>"

    # -- what is connected -----------------------------------------------------
    @property
    def current(self) -> Link | None:
        return self.links.get(self.current_name)

    @property
    def session(self) -> Session | None:
        link = self.current
        return None if link is None else link.session

    @property
    def sim(self) -> amilab.sim.SimulatedPBX | None:
        link = self.current
        return None if link is None else link.sim

    def require(self) -> Session:
        """The current session, or :class:`NotConnected` saying how to connect."""
        session = self.session
        if session is None:
            raise NotConnected(NOT_CONNECTED)
        return session

    # -- connecting ---------------------------------------------------------------
    @staticmethod
    def login(settings: Settings, *, timeout: float) -> tuple[IOThread, Session]:
        """A new session on a new I/O thread, logged in; nothing held here changes."""
        io = IOThread(name=IO_THREAD_NAME)
        atexit.register(io.stop)
        s = settings
        try:
            session = ami_connect(
                s.host,
                s.port,
                username=s.user,
                secret=s.secret,
                io=io,
                auth=s.auth,
                tls=ssl.create_default_context(cafile=s.cafile) if s.cafile else s.tls,
                events=s.events,
                timeout=timeout,
                connect_timeout=timeout,
            )
        except BaseException:
            _stop_io(io)
            raise
        return io, session

    def connect(
        self,
        settings: Settings,
        *,
        timeout: float,
        read_only: bool = False,
        name: str = DEFAULT_NAME,
    ) -> Link:
        """Log in, then replace the link ``name``; a failure leaves the old link working."""
        io, session = self.login(settings, timeout=timeout)
        return self.adopt(io, session, read_only=read_only, name=name)

    def reusable_sim(self, asterisk: str | None, *, read_only: bool) -> Link | None:
        """The current link, if it is our connected simulator of that profile (None: any)."""
        link = self.current
        if link is None or link.sim is None or not link.session.connected:
            return None
        if asterisk is not None and asterisk != link.sim.profile.name:
            return None
        return link if link.read_only == read_only else None

    def start_sim(
        self,
        *,
        timeout: float,
        asterisk: str | None = None,
        traffic: float | None = None,
        events: str | None = None,
        read_only: bool = False,
        name: str = DEFAULT_NAME,
    ) -> Link:
        """Start a simulator, log in as its admin, and make it link ``name``."""
        sim = amilab.sim.start(traffic=traffic, asterisk=asterisk or SIM_ASTERISK)
        user = amilab.sim.DEFAULT_USER
        settings = Settings(sim.host, sim.port, user, Secret(sim.users[user].secret), events=events)
        try:
            io, session = self.login(settings, timeout=timeout)
        except BaseException:
            sim.stop()
            raise
        return self.adopt(io, session, sim=sim, read_only=read_only, name=name)

    def adopt(
        self,
        io: IOThread,
        session: Session,
        *,
        sim: amilab.sim.SimulatedPBX | None = None,
        read_only: bool = False,
        name: str = DEFAULT_NAME,
    ) -> Link:
        """Make a logged-in session link ``name`` (closing the one it replaces)."""
        self.close(name)
        link = Link(name, session, io, sim, read_only)
        link.unwatch = session.on_connection(self._watcher(link))
        self.links[name] = link
        self.current_name = name
        self.catalog.reset()
        return link

    def _watcher(self, link: Link) -> Callable[[ConnectionEvent], None]:
        def changed(event: ConnectionEvent) -> None:
            # On the I/O thread: only append; the kernel prints (see the module docstring).
            # A reconnect is news too, but the client logs it as a warning already.
            if event.kind != "disconnected":
                return
            why = f": {event.reason}" if event.reason else ""
            label = "" if link.name == DEFAULT_NAME else f" {link.name!r}"
            self.news.append(
                f"amilab: the AMI link{label} to {link.where} dropped{why}; reconnecting"
            )

        return changed

    def drain_news(self) -> list[str]:
        """The queued I/O-thread messages, oldest first; the queue is left empty."""
        out = []
        while self.news:
            out.append(self.news.popleft())
        return out

    # -- monitors -------------------------------------------------------------------
    def add_monitor(self, monitor: Any) -> Any:
        """Own ``monitor`` (closed with the current link); returns it."""
        link = self.current
        if link is None:
            raise NotConnected(NOT_CONNECTED)
        link.monitors.append(monitor)
        return monitor

    @property
    def monitors(self) -> list[Any]:
        return [m for link in self.links.values() for m in link.monitors]

    # -- closing -----------------------------------------------------------------------
    def close(self, name: str | None = None) -> Link | None:
        """Close link ``name`` (default: the current one): session, monitors, thread, simulator.

        Safe to repeat; returns the link that was closed, if any.
        """
        link = self.links.pop(self.current_name if name is None else name, None)
        if link is None:
            return None
        io, session = link.io, link.session
        try:
            if io.alive:
                if link.unwatch is not None:  # our own close is no news
                    io.call(link.unwatch)
                with contextlib.suppress(AMIError, OSError, TimeoutError):
                    session.close()
        finally:
            # After the session, so each monitor's last view says "disconnected".
            for monitor in link.monitors:
                try:
                    monitor.close()
                except Exception as exc:  # one broken widget must not keep the socket open
                    print(f"Warning: closing a monitor failed: {exc}", file=sys.stderr)
            link.monitors.clear()
            _stop_io(io)
            if link.sim is not None:
                link.sim.stop()
            self.catalog.reset()
        return link

    def close_all(self) -> None:
        """Close every link (``%unload_ext``, ``atexit``)."""
        for name in list(self.links):
            self.close(name)
