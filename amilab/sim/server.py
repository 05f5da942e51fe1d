"""The simulator's asyncio server: I/O only, one small loop per connection.

Each :class:`Connection` reads bytes, lets :class:`~amilab.protocol.ServerProtocol`
frame them into actions, hands each to :func:`amilab.sim.ami.dispatch`
(actions of one session run one at a time, as in Asterisk's per-session
thread) and carries out the steps that come back: bytes are queued for this
connection, changes run in order. Output goes through a per-connection queue
drained by one writer task, which is where the write faults (slow, split,
half-open) apply. Events from the model reach a connection only if its
:class:`~amilab.sim.ami.AMISession` wants them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from amilab.errors import ProtocolError
from amilab.protocol import ServerProtocol
from amilab.sim.ami import ActionContext, AMISession, User, action_table, dispatch, make_users
from amilab.sim.faults import Faults
from amilab.sim.model import LoopClock
from amilab.sim.pbx import PBX
from amilab.sim.profiles import DEFAULT_ASTERISK, AsteriskProfile, get_profile

__all__ = ["DEFAULT_USERS", "Connection", "SimulatorServer", "serve"]

#: The simulator's demo accounts. ``amilab`` is a public demo secret of a simulator.
DEFAULT_USERS: dict[str, dict[str, str]] = {
    "admin": {"secret": "amilab", "read": "all", "write": "all"},
    "readonly": {"secret": "amilab", "read": "all", "write": ""},
}
#: Bytes read per ``reader.read`` call.
READ_CHUNK = 65536
#: How long closing waits for a connection's writer, or the server for its tasks (s).
CLOSE_TIMEOUT = 2.0


class Connection:
    """One TCP connection: its session, its protocol state and its output queue."""

    def __init__(
        self, server: SimulatorServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.proto = ServerProtocol(version=server.profile.ami_version)
        self.session = AMISession(
            f"0x{id(self):012x}",
            server.pbx.clock.now(),
            writer.get_extra_info("sockname") or ("127.0.0.1", 0),
            writer.get_extra_info("peername") or ("127.0.0.1", 0),
        )
        self.context = ActionContext(
            server.pbx, self.session, server.users, self.proto.version, server.actions
        )
        self.closing = False
        self._out: list[bytes] = []
        self._wake = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None

    @property
    def authenticated(self) -> bool:
        return self.session.authenticated

    def __repr__(self) -> str:
        who = self.session.user.name if self.session.user else "-"
        return f"<Connection {self.session.remote_address} user={who}>"

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

    def deliver(self, name: str, category: str, data: bytes) -> None:
        """An event from the model: sent if this session wants it."""
        if not self.closing and self.session.wants(category, data):
            self.send(data)

    # -- the session loop -----------------------------------------------
    async def run(self) -> None:
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
                    for step in await dispatch(self.context, action):
                        if isinstance(step, bytes):
                            self.send(step)
                        else:
                            step()
                    if self.session.ending:
                        self.closing = True
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
                await asyncio.wait_for(task, timeout=CLOSE_TIMEOUT)
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
    """The simulated Asterisk on the current asyncio loop: ``async with SimulatorServer():``.

    ``pbx`` is a ready :class:`~amilab.sim.PBX` (e.g. on a virtual clock);
    without one the server builds one at start on its loop's clock from
    ``endpoints``, ``dialplan`` (``extensions.conf`` text), ``queues``,
    ``conferences``, ``parking_lots``, ``mailboxes`` and ``seed`` (see
    :class:`~amilab.sim.PBX`). ``users`` is manager.conf as a dict; ``traffic`` starts the call
    generator at that many calls/s. ``asterisk`` is the imitated version
    (``"22"`` or ``"20"``, :mod:`amilab.sim.profiles`); ``legacy_sip=True``, the
    older spelling of chan_sip support, means ``asterisk="20"``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: Mapping[str, Mapping[str, str]] | None = None,
        endpoints: Any = None,
        dialplan: Any = None,
        queues: Any = None,
        conferences: Any = (),
        parking_lots: Any = (),
        mailboxes: Any = (),
        seed: int | None = None,
        traffic: float | None = None,
        legacy_sip: bool = False,
        asterisk: str | None = None,
        pbx: PBX | None = None,
    ) -> None:
        self.profile = _profile(asterisk, legacy_sip, pbx)
        self.host = host
        self.port = port
        self.users: dict[str, User] = make_users(DEFAULT_USERS if users is None else users)
        self.actions = action_table(chan_sip=self.profile.chan_sip)
        self._config: dict[str, Any] = {
            "endpoints": endpoints,
            "dialplan": dialplan,
            "queues": queues,
            "conferences": conferences,
            "parking_lots": parking_lots,
            "mailboxes": mailboxes,
            "seed": seed,
            "asterisk": self.profile.name,
        }
        self._seed = seed
        self._traffic_rate = traffic
        self._pbx = pbx
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.faults = Faults(self)

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
            self._pbx = PBX(clock=LoopClock(loop), **self._config)
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
            _, pending = await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_TIMEOUT)
            self._server = None

    async def __aenter__(self) -> SimulatorServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<SimulatorServer {self.host}:{self.port} users={sorted(self.users)}>"


def _profile(asterisk: str | None, legacy_sip: bool, pbx: PBX | None) -> AsteriskProfile:
    """The imitated Asterisk: asked for, implied by ``legacy_sip``, or the given PBX's."""
    wanted = get_profile(asterisk) if asterisk is not None else None
    if legacy_sip and wanted is not None and not wanted.chan_sip:
        raise ValueError(
            f"legacy_sip=True asks for chan_sip, which Asterisk {wanted.name} does not have; "
            "pass asterisk='20' alone"
        )
    if pbx is not None:
        if wanted is not None and wanted != pbx.profile:
            raise ValueError(
                f"the PBX given imitates Asterisk {pbx.profile.name}, not {wanted.name}; "
                "build it with PBX(asterisk=...) or leave asterisk out"
            )
        return pbx.profile
    return wanted or get_profile("20" if legacy_sip else DEFAULT_ASTERISK)


async def serve(host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> SimulatorServer:
    """Start a :class:`SimulatorServer` on the running loop; ``await server.close()`` to stop."""
    return await SimulatorServer(host, port, **kwargs).start()
