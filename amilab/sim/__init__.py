"""An embedded Asterisk 22 PBX that speaks real AMI, for notebooks, tests and benchmarks.

``amilab.sim.start()`` runs the simulator on its own thread and event loop
and returns once it listens, so it works from a plain notebook cell, a sync
test, or inside a running loop::

    sim = amilab.sim.start()           # 127.0.0.1, a free port
    sim.address                        # ('127.0.0.1', 40123)
    sim.pbx.traffic.start(rate=2, seed=1)
    sim.faults.drop_all()
    sim.stop()                         # or: with amilab.sim.start() as sim: ...

``amilab.sim.simulate(minutes=60, calls_per_minute=30, seed=7)`` needs no
thread or socket: it runs an hour of seeded traffic on a virtual clock in
seconds of CPU and returns the events in an :class:`~amilab.EventRecorder`
(:mod:`amilab.sim.simulate`).

Asyncio code can run it on its own loop instead: ``async with
SimulatorServer() as server:`` or ``server = await serve()``.

Default users (demo credentials of a simulator, not secrets of any real
system): ``admin``/``amilab`` (read and write everything) and
``readonly``/``amilab`` (read everything, write nothing). The simulator
depends only on :mod:`amilab.protocol` (and the recorder's file reader for
``replay``), never on the client.

Layers, bottom-up, each importing only those below it:
:mod:`~amilab.sim.model` (PBX state, clock; no drivers, no I/O),
:mod:`~amilab.sim.dialplan` (applications in a registry, Dial, Queue,
Originate), :mod:`~amilab.sim.traffic`, :mod:`~amilab.sim.pbx` (a configured
model with its traffic), :mod:`~amilab.sim.ami` (sessions, action handlers,
security events; no I/O), :mod:`~amilab.sim.faults`, :mod:`~amilab.sim.server`
(I/O only), and this module (a server on its own loop thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from amilab.iothread import IOThread
from amilab.sim.ami import User
from amilab.sim.faults import Faults
from amilab.sim.model import (
    ConferenceRoom,
    LoopClock,
    Mailbox,
    ParkingLot,
    PBXModel,
    VirtualClock,
)
from amilab.sim.pbx import PBX, EndpointsArg, QueuesArg
from amilab.sim.profiles import PROFILES, AsteriskProfile
from amilab.sim.replay import replay as replay_events
from amilab.sim.server import DEFAULT_USERS, SimulatorServer, serve
from amilab.sim.simulate import SimulationOverflow, simulate
from amilab.sim.traffic import Traffic

__all__ = [
    "DEFAULT_SECRET",
    "DEFAULT_USER",
    "DEFAULT_USERS",
    "PBX",
    "PROFILES",
    "AsteriskProfile",
    "ConferenceRoom",
    "Faults",
    "LoopClock",
    "Mailbox",
    "PBXModel",
    "ParkingLot",
    "SimulatedPBX",
    "SimulationOverflow",
    "SimulatorServer",
    "Traffic",
    "User",
    "VirtualClock",
    "serve",
    "simulate",
    "start",
]

DEFAULT_USER = "admin"
#: The simulator's public demo secret (printed by ``python -m amilab.sim``).
DEFAULT_SECRET = DEFAULT_USERS["admin"]["secret"]
#: Longest wait for the simulator thread to start listening or to stop (seconds).
START_TIMEOUT = 10.0


class SimulatedPBX:
    """A running simulator on its own loop thread (an :class:`~amilab.iothread.IOThread`)."""

    def __init__(self, **kwargs: Any) -> None:
        self.server = SimulatorServer(**kwargs)
        self._io: IOThread | None = None
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------
    def _start(self) -> SimulatedPBX:
        self._io = IOThread(name="amilab-sim")
        try:
            self._io.run(self.server.start(), START_TIMEOUT)
        except BaseException:
            self._io.stop()
            raise
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket; stop the thread."""
        if self._stopped:
            return
        self._stopped = True
        io = self._io
        if io is not None and io.alive:
            io.run(self.server.close(), START_TIMEOUT)
            io.stop()

    def __enter__(self) -> SimulatedPBX:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what users touch ---------------------------------------------------
    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def address(self) -> tuple[str, int]:
        return self.server.address

    @property
    def users(self) -> dict[str, User]:
        return self.server.users

    def admin_credentials(self) -> tuple[str, str]:
        """(username, secret) of a user who may write everything, ``admin`` preferred."""
        users = self.users
        if DEFAULT_USER in users and users[DEFAULT_USER].write >= users[DEFAULT_USER].read:
            user = users[DEFAULT_USER]
        else:
            user = max(users.values(), key=lambda u: (len(u.write), len(u.read)))
        return user.name, user.secret

    @property
    def profile(self) -> AsteriskProfile:
        """What this simulator imitates; ``profile.banner`` says it in one line."""
        return self.server.profile

    @property
    def banner(self) -> str:
        """E.g. ``simulated Asterisk 20.20.1 (chan_sip + PJSIP)``."""
        return self.server.profile.banner

    @property
    def pbx(self) -> PBX:
        return self.server.pbx

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def traffic(self) -> Traffic:
        return self.server.pbx.traffic

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._io is None:
            raise RuntimeError("the simulator is not started; use amilab.sim.start()")
        return self._io.loop

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the simulator's loop and return its result."""
        if self._io is None:
            raise RuntimeError("the simulator is not started; use amilab.sim.start()")
        return self._io.call(fn, *args)

    def replay(self, messages: Any, speed: float | None = None) -> None:
        """Send recorded events to every logged-in client; see :mod:`amilab.sim.replay`."""
        if self._io is None:
            raise RuntimeError("the simulator is not started; use amilab.sim.start()")
        self._io.run(replay_events(self.server, messages, speed))

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return (
            f"<SimulatedPBX {self.host}:{self.port} {state} {self.banner} "
            f"users={sorted(self.users)}>"
        )


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    users: Mapping[str, Mapping[str, str]] | None = None,
    endpoints: EndpointsArg = None,
    dialplan: str | None = None,
    queues: QueuesArg = None,
    conferences: Iterable[str | ConferenceRoom] = (),
    parking_lots: Iterable[ParkingLot] = (),
    mailboxes: Iterable[str | Mailbox] = (),
    seed: int | None = None,
    traffic: float | None = None,
    asterisk: str | None = None,
    legacy_sip: bool = False,
) -> SimulatedPBX:
    """Start the simulator on its own thread; return once it is listening.

    ``users`` is manager.conf as a dict (``{"name": {"secret":..., "read": "all",
    "write": "call,system"}}``); ``endpoints``, ``dialplan`` (``extensions.conf``
    text), ``queues``, ``conferences``, ``parking_lots`` and ``mailboxes``
    configure the PBX (see :class:`PBX`; each defaults to
    the real sandbox's); ``traffic`` starts the call generator at that
    many calls/s. ``asterisk`` picks what is imitated (:mod:`amilab.sim.profiles`):
    ``"22"`` (the default, checked against a real Asterisk 22: PJSIP only) or
    ``"20"`` (chan_sip loaded beside PJSIP: ``SIPpeers``, ``SIPshowpeer``,
    ``SIPqualifypeer``, ``SIPshowregistry``, ``SIPnotify`` answer).
    ``legacy_sip=True`` is the older spelling of ``asterisk="20"``.
    """
    return SimulatedPBX(
        host=host,
        port=port,
        users=users,
        endpoints=endpoints,
        dialplan=dialplan,
        queues=queues,
        conferences=conferences,
        parking_lots=parking_lots,
        mailboxes=mailboxes,
        seed=seed,
        traffic=traffic,
        asterisk=asterisk,
        legacy_sip=legacy_sip,
    )._start()
