"""Lifecycles as data: the states, the events and one transition table for each.

Two machines, both pure:

* :class:`ConnState` is one TCP connection as :class:`~amilab.protocol.client.ClientProtocol`
  sees it: greeting, login, ready, closed. The protocol makes every move
  itself from the bytes it sees (the greeting line, the answers to its own
  login actions), and consults the table before sending an ordinary action,
  so ``send()`` before ``READY`` is refused by the same rule that names the
  state in the error.
* :class:`LinkState` is the client's link across connections: first connect,
  ready, reconnecting after a drop, given up, closed. The asyncio client
  keeps one value of it instead of a handful of flags, and every question
  ("may an action wait for the link?", "should a drop start a reconnect?")
  is answered from the state.

An illegal move raises :class:`ProtocolError` naming the state and the event;
``ERROR`` and ``CLOSED`` are sticky for a connection (a new connection gets a
new protocol object).
"""

from __future__ import annotations

from enum import Enum

from amilab.errors import ProtocolError

__all__ = ["ConnState", "LinkState", "link_transition", "transition"]


class ConnState(Enum):
    GREETING = "greeting"  # waiting for "Asterisk Call Manager/x.y.z"
    CONNECTED = "connected"  # greeting seen, not logged in (no credentials given)
    AUTHENTICATING = "authenticating"  # the protocol's own login actions are under way
    READY = "ready"  # logged in; ordinary actions may be sent
    CLOSED = "closed"  # closed by either side
    ERROR = "error"  # the stream broke (bad bytes) or the login was refused


_TABLE: dict[tuple[ConnState, str], ConnState] = {
    (ConnState.GREETING, "greeting"): ConnState.CONNECTED,
    (ConnState.CONNECTED, "login"): ConnState.AUTHENTICATING,
    (ConnState.AUTHENTICATING, "login_ok"): ConnState.READY,
    (ConnState.AUTHENTICATING, "login_failed"): ConnState.ERROR,
    (ConnState.READY, "send"): ConnState.READY,
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


class LinkState(Enum):
    """The client's link to one server, across connections."""

    IDLE = "idle"  # never connected, or the first connect failed
    CONNECTING = "connecting"  # connect() under way: TCP, TLS, greeting, login
    READY = "ready"  # logged in; actions go straight out
    RECONNECTING = "reconnecting"  # the link dropped; a reconnect task is retrying
    GAVE_UP = "gave up"  # a reconnect's login was refused: retrying cannot help
    CLOSED = "closed"  # close() was called


#: ``connect`` is legal from every state but READY and CONNECTING (which it
#: joins instead): a closed or given-up client may be opened again.
_LINK_TABLE: dict[tuple[LinkState, str], LinkState] = {
    (LinkState.IDLE, "connect"): LinkState.CONNECTING,
    (LinkState.GAVE_UP, "connect"): LinkState.CONNECTING,
    (LinkState.CLOSED, "connect"): LinkState.CONNECTING,
    (LinkState.CONNECTING, "ready"): LinkState.READY,
    (LinkState.CONNECTING, "failed"): LinkState.IDLE,
    (LinkState.READY, "lost"): LinkState.RECONNECTING,
    (LinkState.READY, "lost_for_good"): LinkState.IDLE,  # reconnect=False
    (LinkState.RECONNECTING, "ready"): LinkState.READY,
    (LinkState.RECONNECTING, "refused"): LinkState.GAVE_UP,
}


def link_transition(state: LinkState, event: str) -> LinkState:
    """The link state after ``event``; ``close`` is legal everywhere. Raises on an illegal move."""
    if event == "close":
        return LinkState.CLOSED
    try:
        return _LINK_TABLE[(state, event)]
    except KeyError:
        raise ProtocolError(f"illegal link event {event!r} in state {state.value!r}") from None


#: Link states in which an action may wait for the link to come (back) up.
LINK_WAITABLE = frozenset({LinkState.CONNECTING, LinkState.RECONNECTING})
