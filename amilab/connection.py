"""Connection: one TCP link to an AMI server, the asyncio protocol around a ClientProtocol.

As websockets' ``Connection`` is itself the asyncio protocol, this object is
both the transport adapter and the keeper of the link's requests: bytes in go
to :class:`~amilab.protocol.ClientProtocol`, which logs in by itself; its
outputs resolve this connection's futures (login, each action's answer) or go
to the ``deliver`` callback as events. It never reaches into its owner: the
owner passes what it needs (``deliver``, ``on_lost``, the wire trace) when it
builds the connection, and uses only the public methods here.

Liveness: :attr:`last_received` is the loop time of the last bytes from the
peer. Any bytes prove the peer alive, whatever they are (an event flood that
delays a Ping answer is not a dead peer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from amilab.errors import ActionError, ActionTimeout, ConnectionLost, ProtocolError
from amilab.protocol import (
    Action,
    ActionResult,
    ClientProtocol,
    Completed,
    Greeting,
    LoggedIn,
    LoginFailed,
    Message,
    Stray,
)
from amilab.trace import WireTrace

__all__ = ["Connection", "format_seconds"]

log = logging.getLogger("amilab.connection")


def format_seconds(seconds: float) -> str:
    """A duration for a message: ``5.0s``, ``0.05s`` (never ``4.999998635999873s``)."""
    return f"{seconds:.1f}s" if seconds >= 0.1 else f"{seconds:.2f}s"


def _expire(future: asyncio.Future[ActionResult]) -> None:
    """The deadline passed: fail the waiting request with TimeoutError."""
    if not future.done():
        future.set_exception(TimeoutError())


class Connection(asyncio.Protocol):
    """One AMI connection: build it, give it to ``loop.create_connection``, await ``logged_in``."""

    def __init__(
        self,
        proto: ClientProtocol,
        *,
        address: str,
        deliver: Callable[[list[Message]], None],
        on_lost: Callable[[Connection, str], None],
        trace: WireTrace,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.proto = proto
        self.address = address
        self.transport: asyncio.Transport | None = None
        #: Resolved with the greeting; then with the outcome of the protocol's own login.
        self.greeting: asyncio.Future[Greeting] = loop.create_future()
        self.logged_in: asyncio.Future[LoggedIn] = loop.create_future()
        self.closed = False
        self.last_received = loop.time()
        self._loop = loop
        self._deliver = deliver
        self._on_lost = on_lost
        self._trace = trace
        self._waiters: dict[str, asyncio.Future[ActionResult]] = {}
        self._abort_reason: str | None = None

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.last_received = self._loop.time()
        if self._trace.enabled:
            self._trace.record("received", data)
        try:
            outputs = self.proto.receive_data(data)
        except ProtocolError as exc:
            log.error("AMI protocol error from %s: %s", self.address, exc)
            self.abort(f"protocol error: {exc}")
            return
        self._flush()
        # Events go out in runs, one deliver() call per run, so a flood costs one
        # call per read; wire order is kept around the other outputs.
        events: list[Message] = []
        for out in outputs:
            if out.__class__ is Message:
                events.append(out)
                continue
            if events:
                self._deliver(events)
                events = []
            self._settle(out)
        if events:
            self._deliver(events)

    def _settle(self, out: object) -> None:
        if isinstance(out, Stray):
            # Counted by the protocol (stray_responses); logged, never dispatched:
            # a late answer is expected after a timeout, anything else is odd.
            level = logging.DEBUG if out.reason == Stray.ABANDONED else logging.WARNING
            log.log(
                level, "stray AMI message from %s (%s): %r", self.address, out.reason, out.message
            )
        elif isinstance(out, Completed):
            future = self._waiters.get(out.action_id)
            if future is not None and not future.done():
                future.set_result(out.result)
        elif isinstance(out, Greeting):
            if not self.greeting.done():
                self.greeting.set_result(out)
        elif isinstance(out, LoggedIn):
            if not self.logged_in.done():
                self.logged_in.set_result(out)
        elif isinstance(out, LoginFailed):
            if not self.logged_in.done():
                self.logged_in.set_exception(out.error)
            self.abort(f"login refused: {out.error}")

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = self._abort_reason or (str(exc) if exc else "closed by peer")
        try:
            self.proto.receive_eof()
        except ProtocolError:
            self.proto.fail_all()
        lost = ConnectionLost(f"AMI connection to {self.address} lost: {reason}")
        self._fail_waiters(lost)
        for future in (self.greeting, self.logged_in):
            if not future.done():
                future.set_exception(ConnectionLost(reason))
                future.exception()  # retrieved: nobody may be waiting any more
        self._on_lost(self, reason)

    # -- requests ----------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Actions sent on this connection and still waiting for their answer."""
        return len(self._waiters)

    @property
    def ready(self) -> bool:
        """Logged in, and the socket is open."""
        return self.proto.ready and not self.closed and self._abort_reason is None

    def _flush(self) -> None:
        """Write what the protocol queued itself (its login actions)."""
        data = self.proto.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            self._trace.record("sent", data)

    def _fail_waiters(self, exc: Exception) -> None:
        waiters, self._waiters = self._waiters, {}
        for future in waiters.values():
            if not future.done():
                future.set_exception(exc)

    async def request(
        self, action: Action, *, deadline: float, budget: float, check: bool = True
    ) -> ActionResult:
        """Send ``action``; wait for its whole answer until the loop time ``deadline``.

        ``budget`` is the caller's whole timeout, named in the
        :class:`ActionTimeout` message. Raises :class:`ConnectionLost` if the
        link is (or goes) down, and :class:`ActionError` for ``Response:
        Error`` when ``check``.
        """
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            raise ConnectionLost(f"the AMI connection to {self.address} is closed")
        action_id, data = self.proto.send(action)
        future: asyncio.Future[ActionResult] = self._loop.create_future()
        self._waiters[action_id] = future
        try:
            transport.write(data)
            self._trace.record("sent", data)
            del data  # a Login's bytes hold the secret: keep them out of traceback locals
            # A bare timer instead of asyncio.timeout(): this is every action's
            # path, and the timer costs a third as much (benchmarks/actions.py).
            timer = self._loop.call_at(deadline, _expire, future)
            try:
                result = await future
            finally:
                timer.cancel()
        except TimeoutError:
            raise ActionTimeout(
                f"{action.name} got no complete answer within {format_seconds(budget)} "
                f"(ActionID {action_id}); raise timeout= if the action is slow"
            ) from None
        finally:
            self._waiters.pop(action_id, None)
            # Done, timed out or cancelled: a late answer is then counted as a stray.
            self.proto.cancel(action_id)
        if check and not result.ok:
            raise ActionError(f"{action.name} failed: {result.message or 'Error'}", result)
        return result

    def abort(self, reason: str) -> None:
        """Drop the link now (RST, no goodbye); ``reason`` is what ``on_lost`` reports."""
        if self._abort_reason is None:
            self._abort_reason = reason
        if self.transport is not None:
            self.transport.abort()
        elif not self.closed:
            # Not connected yet: nothing will call connection_lost.
            self.closed = True
            for future in (self.greeting, self.logged_in):
                if not future.done():
                    future.set_exception(ConnectionLost(reason))
                    future.exception()
