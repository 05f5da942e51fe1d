"""Fault injection: the network and server misbehaviour a robust client must survive.

Every switch is safe to flip from any thread (it is marshalled onto the sim
loop) and applies to all connections: ``drop_all()``, ``half_open(seconds)``,
``restart()``, ``slow_writes(delay)``, ``split_writes("byte"|"utf8")``,
``send_garbage()``, ``send_oversized(size)``, ``flood(n)``. ``clear()`` turns
the persistent ones off again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Collection
from typing import Protocol

from amilab.protocol import DEFAULT_MAX_MESSAGE_SIZE, ServerProtocol
from amilab.sim.model import PBXModel

__all__ = ["FLOOD_BATCH", "Faults", "Link", "Target"]

#: Events per write when flooding: big writes, so the flood is limited by the client.
FLOOD_BATCH = 2000
#: The default garbage: a line that is no AMI header, then a block with a bad key.
GARBAGE = b"\x00\xff\xfe garbage without a colon\r\n:\r\n\r\n"
#: A multi-byte UTF-8 character, used to split writes inside a character.
_UTF8_SAMPLE = "é"


class Link(Protocol):
    """What a fault needs of one connection."""

    @property
    def authenticated(self) -> bool: ...
    def send(self, data: bytes) -> None: ...
    def abort(self) -> None: ...


class Target(Protocol):
    """What the faults need of the server (:class:`~amilab.sim.server.SimulatorServer`)."""

    @property
    def pbx(self) -> PBXModel: ...
    @property
    def connections(self) -> Collection[Link]: ...


class Faults:
    """Runtime fault switches for one server (a :class:`Target`)."""

    def __init__(self, server: Target) -> None:
        self.server = server
        self.write_delay = 0.0
        self.split: str | None = None
        self.half_open_until: float | None = None
        self.restarts = 0

    def _run(self, fn: Callable[[], None]) -> None:
        self.server.pbx.clock.run_threadsafe(fn)

    # -- persistent switches ----------------------------------------------
    def slow_writes(self, delay: float = 0.05) -> None:
        """Sleep ``delay`` seconds before every write (0 turns it off)."""
        self.write_delay = max(0.0, delay)

    def split_writes(self, mode: str | None = "byte") -> None:
        """``"byte"``: one byte per write; ``"utf8"``: cut writes inside UTF-8 characters."""
        if mode not in (None, "byte", "utf8"):
            raise ValueError("split_writes mode must be 'byte', 'utf8' or None")
        self.split = mode

    def half_open(self, seconds: float | None = None) -> None:
        """Stop answering and sending while keeping TCP open (for ``seconds``, or until clear)."""
        loop_time = self._loop_time()
        self.half_open_until = float("inf") if seconds is None else loop_time + seconds

    def clear(self) -> None:
        """Turn off slow/split writes and half-open mode."""
        self.write_delay = 0.0
        self.split = None
        self.half_open_until = None

    def is_half_open(self) -> bool:
        until = self.half_open_until
        if until is None:
            return False
        if self._loop_time() >= until:
            self.half_open_until = None
            return False
        return True

    def _loop_time(self) -> float:
        return self.server.pbx.clock.now()

    # -- one-shot faults --------------------------------------------------
    def drop_all(self) -> int:
        """Abort every connection (RST, no goodbye); return how many were dropped."""
        count = len(self.server.connections)
        self._run(self._drop_all)
        return count

    def _drop_all(self) -> None:
        for conn in list(self.server.connections):
            conn.abort()

    def restart(self) -> None:
        """Like ``core restart now``: everyone is dropped, uptime and reload time reset."""

        def go() -> None:
            self._drop_all()
            self.server.pbx.restart()
            self.restarts += 1

        self._run(go)

    def send_garbage(self, data: bytes = GARBAGE) -> None:
        """Write bytes that are not AMI to every logged-in connection."""
        self._broadcast(lambda: data)

    def send_oversized(self, size: int = DEFAULT_MAX_MESSAGE_SIZE + 1024) -> None:
        """Send one event of about ``size`` bytes (past the default client limit)."""
        body = "x" * size
        self._broadcast(lambda: ServerProtocol.event("Oversized", [("Data", body)]))

    def send_utf8_split(self) -> None:
        """Send a UserEvent with non-ASCII text, useful together with ``split_writes("utf8")``."""
        self._broadcast(
            lambda: ServerProtocol.event(
                "UserEvent", [("Privilege", "user,all"), ("UserEvent", f"Caf{_UTF8_SAMPLE}")]
            )
        )

    def flood(self, count: int, name: str = "FloodEvent") -> None:
        """Send ``count`` small events as fast as possible, pre-encoded, in big writes."""

        def go() -> None:
            one = ServerProtocol.event(name, [("Privilege", "system,all"), ("Seq", "0")])
            batch = one * min(count, FLOOD_BATCH)
            for conn in list(self.server.connections):
                if not conn.authenticated:
                    continue
                left = count
                while left > 0:
                    n = min(left, FLOOD_BATCH)
                    conn.send(batch if n == FLOOD_BATCH else one * n)
                    left -= n

        self._run(go)

    def _broadcast(self, make: Callable[[], bytes]) -> None:
        def go() -> None:
            data = make()
            for conn in list(self.server.connections):
                if conn.authenticated:
                    conn.send(data)

        self._run(go)

    # -- the writer hook ----------------------------------------------------
    async def write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write ``data`` honouring the slow/split switches."""
        try:
            if self.split is None and not self.write_delay:
                writer.write(data)
                await writer.drain()
                return
            for piece in self._pieces(data):
                if self.write_delay:
                    await asyncio.sleep(self.write_delay)
                writer.write(piece)
                await writer.drain()
        except (ConnectionError, RuntimeError):
            with contextlib.suppress(Exception):
                writer.close()

    def _pieces(self, data: bytes) -> list[bytes]:
        if self.split == "byte":
            return [data[i : i + 1] for i in range(len(data))]
        if self.split == "utf8":
            cuts = [i + 1 for i, b in enumerate(data) if b >= 0xC0]
            points = [0, *cuts, len(data)] if cuts else [0, len(data) // 2, len(data)]
            return [data[a:b] for a, b in itertools.pairwise(points) if b > a]
        return [data]
