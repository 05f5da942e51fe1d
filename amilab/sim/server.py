"""The simulator's asyncio server: one small loop per connection around ServerProtocol.

Each :class:`Connection` reads bytes, lets :class:`~amilab.protocol.ServerProtocol`
frame them into actions, and hands each action to :func:`amilab.sim.actions.dispatch`
(actions of one session run one at a time, as in Asterisk's per-session
thread). Output goes through a per-connection queue drained by one writer
task, which is where the write faults (slow, split, half-open) apply.
Events from the model reach a connection only if the user's read classes,
the session's ``Events`` mask and its ``Filter`` regexes all allow them
(manager.c ``should_send_event`` / ``match_filter``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amilab.errors import ProtocolError
from amilab.protocol import ServerProtocol
from amilab.sim.clock import LoopClock
from amilab.sim.faults import Faults
from amilab.sim.pbx import PBX

__all__ = ["DEFAULT_USERS", "EVENT_CLASSES", "Connection", "SimulatorServer", "User"]

#: manager.c's permission classes (``perms[]``), the words ``read=``/``write=`` accept.
EVENT_CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)
#: The simulator's demo accounts. ``amilab`` is a public demo secret of a simulator.
DEFAULT_USERS: dict[str, dict[str, str]] = {
    "admin": {"secret": "amilab", "read": "all", "write": "all"},
    "readonly": {"secret": "amilab", "read": "all", "write": ""},
}
#: Bytes read per ``reader.read`` call.
READ_CHUNK = 65536


def parse_classes(text: str | None) -> frozenset[str]:
    """``"all"`` / ``"call,system"`` / ``""`` -> a set of class names."""
    words = {w.strip().lower() for w in (text or "").split(",") if w.strip()}
    if "all" in words or "on" in words:
        return EVENT_CLASSES
    return frozenset(words & EVENT_CLASSES)


@dataclass(frozen=True)
class User:
    """A manager.conf user. The secret is kept out of ``repr``."""

    name: str
    secret: str
    read: frozenset[str]
    write: frozenset[str]

    def __repr__(self) -> str:
        return f"User({self.name!r}, read={sorted(self.read)}, write={sorted(self.write)})"


def make_users(users: Mapping[str, Mapping[str, str]] | None) -> dict[str, User]:
    table = DEFAULT_USERS if users is None else users
    return {
        name.lower(): User(
            name,
            str(spec.get("secret", "")),
            parse_classes(spec.get("read", "all")),
            parse_classes(spec.get("write", "all")),
        )
        for name, spec in table.items()
    }


def event_tv(ts: float) -> str:
    """Security-event timestamps: ``2026-11-26T06:24:54.313+0000`` (UTC)."""
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}+0000"
    )


class Connection:
    """One AMI session: login state, event mask, filters and an output queue."""

    def __init__(
        self, server: SimulatorServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.pbx = server.pbx
        self.reader = reader
        self.writer = writer
        self.proto = ServerProtocol()
        self.user: User | None = None
        self.challenge: str | None = None
        self.event_mask: frozenset[str] = EVENT_CLASSES
        self.filters: list[tuple[bool, re.Pattern[str]]] = []
        self.closing = False
        self.session_id = f"0x{id(self):012x}"
        self.started = server.pbx.clock.now()
        local = writer.get_extra_info("sockname") or ("127.0.0.1", 0)
        remote = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        self.local_address = f"IPV4/TCP/{local[0]}/{local[1]}"
        self.remote_address = f"IPV4/TCP/{remote[0]}/{remote[1]}"
        self._out: list[bytes] = []
        self._wake = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def __repr__(self) -> str:
        who = self.user.name if self.user else "-"
        return f"<Connection {self.remote_address} user={who}>"

    # -- output ---------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Queue bytes for the writer task (order kept; faults applied there)."""
        if self.closing and not self._out and self.writer.is_closing():
            return
        self._out.append(data)
        self._wake.set()

    async def _write_loop(self) -> None:
        faults = self.server.faults
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._out:
                if self.closing:
                    return
                continue
            chunks, self._out = self._out, []
            if not faults.is_half_open():  # half-open: bytes vanish, TCP stays up
                await faults.write(self.writer, b"".join(chunks))
            if self.closing and not self._out:
                return

    async def flush(self) -> None:
        """Wait until everything queued so far has been written."""
        while self._out:
            await asyncio.sleep(0)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    # -- events ---------------------------------------------------------
    def wants(self, category: str, data: bytes) -> bool:
        """manager.c's event check: read classes, Events mask, then Filter regexes."""
        user = self.user
        if user is None or category not in user.read or category not in self.event_mask:
            return False
        if not self.filters:
            return True
        text = data.decode("utf-8", "replace")
        allowed = [rx for keep, rx in self.filters if keep]
        denied = [rx for keep, rx in self.filters if not keep]
        if allowed and not any(rx.search(text) for rx in allowed):
            return False
        return not any(rx.search(text) for rx in denied)

    def deliver(self, name: str, category: str, data: bytes) -> None:
        if not self.closing and self.wants(category, data):
            self.send(data)

    # -- the session loop -----------------------------------------------
    async def run(self) -> None:
        from amilab.sim.actions import dispatch

        self._writer_task = asyncio.create_task(self._write_loop())
        self.send(self.proto.greeting())
        try:
            while not self.closing:
                data = await self.reader.read(READ_CHUNK)
                if not data:
                    break
                if self.server.faults.is_half_open():
                    continue
                try:
                    actions = self.proto.receive_data(data)
                except ProtocolError:
                    break
                for action in actions:
                    await dispatch(self, action)
                    if self.closing:
                        break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self.close()

    async def close(self) -> None:
        """Flush what is queued, then close the socket."""
        if self.closing and self._writer_task is None:
            return
        self.closing = True
        self.server.connections.discard(self)
        self._wake.set()
        task, self._writer_task = self._writer_task, None
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=2.0)
            if not task.done():
                task.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    def abort(self) -> None:
        """Drop the TCP connection at once (fault injection, restart)."""
        self.closing = True
        self.server.connections.discard(self)
        transport = self.writer.transport
        if transport is not None:
            transport.abort()
        if self._writer_task is not None:
            self._writer_task.cancel()


class SimulatorServer:
    """The simulated Asterisk on the current asyncio loop: ``async with SimulatorServer():``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: Mapping[str, Mapping[str, str]] | None = None,
        endpoints: Any = None,
        seed: int | None = None,
        traffic: float | None = None,
        legacy_sip: bool = False,
        pbx: PBX | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.users = make_users(users)
        self.legacy_sip = legacy_sip
        self._endpoints = endpoints
        self._seed = seed
        self._traffic_rate = traffic
        self._pbx = pbx
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.faults = Faults(self)
        self.fully_booted_pending = False

    @property
    def pbx(self) -> PBX:
        if self._pbx is None:
            raise RuntimeError("the simulator is not started; use 'async with' or await start()")
        return self._pbx

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    async def start(self) -> SimulatorServer:
        loop = asyncio.get_running_loop()
        if self._pbx is None:
            self._pbx = PBX(clock=LoopClock(loop), endpoints=self._endpoints, seed=self._seed)
        self._pbx.listeners.append(self._fan_out)
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        if self._traffic_rate:
            self._pbx.traffic.start(self._traffic_rate, seed=self._seed)
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.run()
        except asyncio.CancelledError:
            conn.abort()  # server shutdown; end quietly (3.11 logs cancelled callbacks)
        finally:
            if task is not None:
                self._tasks.discard(task)

    def _fan_out(self, name: str, category: str, data: bytes) -> None:
        for conn in list(self.connections):
            conn.deliver(name, category, data)

    def security_event(self, name: str, conn: Connection, fields: list[tuple[str, str]]) -> None:
        """Emit a security-class event in manager.c's field order."""
        now = self.pbx.clock.now()
        self.pbx.emit(name, "security", [("EventTV", event_tv(now)), *fields])

    async def close(self) -> None:
        """Stop listening, stop traffic, close every connection."""
        if self._pbx is not None:
            self._pbx.traffic._stop()
            with contextlib.suppress(ValueError):
                self._pbx.listeners.remove(self._fan_out)
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.abort()
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def __aenter__(self) -> SimulatorServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<SimulatorServer {self.host}:{self.port} users={sorted(self.users)}>"


async def serve(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> SimulatorServer:
    """Start a :class:`SimulatorServer` on the running loop; ``await server.close()`` to stop."""
    return await SimulatorServer(host, port, **kwargs).start()
