"""An embedded Asterisk 22 PBX that speaks real AMI, for notebooks, tests and benchmarks.

``amilab.sim.start()`` runs the simulator on its own thread and event loop
and returns once it listens, so it works from a plain notebook cell, a sync
test, or inside a running loop::

    sim = amilab.sim.start()           # 127.0.0.1, a free port
    sim.address                        # ('127.0.0.1', 40123)
    sim.pbx.traffic.start(rate=2, seed=1)
    sim.faults.drop_all()
    sim.stop()                         # or: with amilab.sim.start() as sim: ...

Asyncio code can run it on its own loop instead: ``async with
SimulatorServer() as server:`` or ``server = await serve()``.

Default users (demo credentials of a simulator, not secrets of any real
system): ``admin``/``amilab`` (read and write everything) and
``readonly``/``amilab`` (read everything, write nothing). The simulator
depends only on :mod:`amilab.protocol`, never on the client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from amilab.sim.clock import LoopClock, VirtualClock
from amilab.sim.faults import Faults
from amilab.sim.pbx import PBX
from amilab.sim.server import DEFAULT_USERS, SimulatorServer, User, serve
from amilab.sim.traffic import Traffic

__all__ = [
    "DEFAULT_SECRET",
    "DEFAULT_USER",
    "DEFAULT_USERS",
    "PBX",
    "Faults",
    "LoopClock",
    "SimulatedPBX",
    "SimulatorServer",
    "Traffic",
    "User",
    "VirtualClock",
    "serve",
    "start",
]

DEFAULT_USER = "admin"
#: The simulator's public demo secret (printed by ``python -m amilab.sim``).
DEFAULT_SECRET = DEFAULT_USERS["admin"]["secret"]
#: Longest wait for the simulator thread to start listening or to stop (seconds).
START_TIMEOUT = 10.0


class SimulatedPBX:
    """A running simulator on a background thread; see :func:`start`."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.server = SimulatorServer(**kwargs)
        self._thread = threading.Thread(target=self._run, name="amilab-sim", daemon=True)
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------
    def _start(self) -> SimulatedPBX:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise RuntimeError("the simulator did not start listening in time")
        if self._error is not None:
            self._thread.join(START_TIMEOUT)
            raise self._error
        return self

    def _run(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as exc:  # report to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.server.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Close every connection and the listening socket; join the thread."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive() and not self._loop.is_closed():
            future = asyncio.run_coroutine_threadsafe(self.server.close(), self._loop)
            future.result(START_TIMEOUT)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)

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
        return self._loop

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the simulator's loop and return its result."""
        return self.pbx.clock.run_threadsafe(lambda: fn(*args))

    def replay(self, messages: Any, speed: float | None = None) -> None:
        """Send recorded events to every logged-in client; see :mod:`amilab.sim.replay`."""
        from amilab.sim.replay import replay

        asyncio.run_coroutine_threadsafe(replay(self.server, messages, speed), self._loop).result()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<SimulatedPBX {self.host}:{self.port} {state} users={sorted(self.users)}>"


def start(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    users: Mapping[str, Mapping[str, str]] | None = None,
    endpoints: Iterable[str | tuple[str, str]] | Mapping[str, str] | None = None,
    seed: int | None = None,
    traffic: float | None = None,
    legacy_sip: bool = False,
) -> SimulatedPBX:
    """Start the simulator on its own thread; return once it is listening.

    ``users`` is manager.conf as a dict (``{"name": {"secret":..., "read": "all",
    "write": "call,system"}}``); ``traffic`` starts the call generator at that
    many calls/s; ``legacy_sip=True`` answers the chan_sip actions ``SIPpeers``
    and ``SIPshowpeer``, which real Asterisk 22 does NOT have (teaching aid).
    """
    return SimulatedPBX(
        host=host,
        port=port,
        users=users,
        endpoints=endpoints,
        seed=seed,
        traffic=traffic,
        legacy_sip=legacy_sip,
    )._start()
