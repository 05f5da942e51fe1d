"""Connection lifecycle as data: states, events and the one transition table.

An illegal move raises :class:`ProtocolError` naming the state and the event;
``ERROR`` and ``CLOSED`` are sticky.
"""

from __future__ import annotations

from enum import Enum

from amilab.errors import ProtocolError

__all__ = ["ConnState", "transition"]


class ConnState(Enum):
    GREETING = "greeting"  # waiting for "Asterisk Call Manager/x.y.z"
    CONNECTED = "connected"  # greeting seen, not logged in
    AUTHENTICATING = "authenticating"  # login flow under way
    READY = "ready"  # logged in; actions may be sent
    CLOSED = "closed"  # closed by either side
    ERROR = "error"  # the stream broke (bad bytes, refused login)


_TABLE: dict[tuple[ConnState, str], ConnState] = {
    (ConnState.GREETING, "greeting"): ConnState.CONNECTED,
    (ConnState.CONNECTED, "login"): ConnState.AUTHENTICATING,
    (ConnState.AUTHENTICATING, "login_ok"): ConnState.READY,
    (ConnState.AUTHENTICATING, "login_failed"): ConnState.ERROR,
    # A server-side sandbox or the simulator may skip login for tests.
    (ConnState.CONNECTED, "login_ok"): ConnState.READY,
}
_ANY_STATE_EVENTS = {"close": ConnState.CLOSED, "protocol_error": ConnState.ERROR}


def transition(state: ConnState, event: str) -> ConnState:
    """The state after ``event`` in ``state``; raises on an illegal move."""
    if state in (ConnState.CLOSED, ConnState.ERROR):
        if event == "close":
            return ConnState.CLOSED
        raise ProtocolError(f"connection is {state.value}; cannot handle {event!r}")
    if event in _ANY_STATE_EVENTS:
        return _ANY_STATE_EVENTS[event]
    try:
        return _TABLE[(state, event)]
    except KeyError:
        raise ProtocolError(f"illegal event {event!r} in state {state.value!r}") from None
