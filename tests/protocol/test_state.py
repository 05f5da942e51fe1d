"""The connection state table: legal moves, illegal ones, and sticky end states."""

from __future__ import annotations

import pytest

from amilab.errors import ProtocolError
from amilab.protocol.state import ConnState, LinkState, link_transition, transition

S = ConnState
LEGAL = [
    (S.GREETING, "greeting", S.CONNECTED),
    (S.CONNECTED, "login", S.AUTHENTICATING),
    (S.AUTHENTICATING, "login_ok", S.READY),
    (S.AUTHENTICATING, "login_failed", S.ERROR),
    (S.READY, "send", S.READY),
]
EVENTS = ["greeting", "login", "login_ok", "login_failed", "send", "close", "protocol_error"]


@pytest.mark.parametrize(("state", "event", "after"), LEGAL)
def test_legal_moves(state: ConnState, event: str, after: ConnState) -> None:
    """Each move in the table leads to its target state."""
    assert transition(state, event) is after


@pytest.mark.parametrize("state", [S.GREETING, S.CONNECTED, S.AUTHENTICATING, S.READY])
def test_close_and_error_from_any_live_state(state: ConnState) -> None:
    """close and protocol_error are legal from every live state."""
    assert transition(state, "close") is S.CLOSED
    assert transition(state, "protocol_error") is S.ERROR


ILLEGAL = [
    (state, event)
    for state in (S.GREETING, S.CONNECTED, S.AUTHENTICATING, S.READY)
    for event in EVENTS
    if (state, event) not in {(s, e) for s, e, _ in LEGAL}
    and event not in ("close", "protocol_error")
]


@pytest.mark.parametrize(("state", "event"), ILLEGAL)
def test_illegal_moves_raise_naming_state_and_event(state: ConnState, event: str) -> None:
    """Any move not in the table raises ProtocolError naming the state and the event."""
    with pytest.raises(ProtocolError) as info:
        transition(state, event)
    assert state.value in str(info.value) and event in str(info.value)


@pytest.mark.parametrize("state", [S.CLOSED, S.ERROR])
@pytest.mark.parametrize("event", [e for e in EVENTS if e != "close"])
def test_end_states_are_sticky(state: ConnState, event: str) -> None:
    """CLOSED and ERROR refuse every event but close, naming the state and event."""
    with pytest.raises(ProtocolError) as info:
        transition(state, event)
    assert state.value in str(info.value) and event in str(info.value)


@pytest.mark.parametrize("state", [S.CLOSED, S.ERROR])
def test_close_from_end_states(state: ConnState) -> None:
    """Closing is always allowed and ends in CLOSED (closing twice is harmless)."""
    assert transition(state, "close") is S.CLOSED


L = LinkState
LINK_LEGAL = [
    (L.IDLE, "connect", L.CONNECTING),
    (L.CONNECTING, "ready", L.READY),
    (L.CONNECTING, "failed", L.IDLE),
    (L.READY, "lost", L.RECONNECTING),
    (L.READY, "lost_for_good", L.IDLE),
    (L.RECONNECTING, "ready", L.READY),
    (L.RECONNECTING, "refused", L.GAVE_UP),
    (L.GAVE_UP, "connect", L.CONNECTING),
    (L.CLOSED, "connect", L.CONNECTING),
]
LINK_EVENTS = ["connect", "ready", "failed", "lost", "lost_for_good", "refused"]


@pytest.mark.parametrize(("state", "event", "after"), LINK_LEGAL)
def test_link_legal_moves(state: LinkState, event: str, after: LinkState) -> None:
    """Each move of the client's link table leads to its target state."""
    assert link_transition(state, event) is after


@pytest.mark.parametrize("state", list(LinkState))
def test_link_close_is_legal_everywhere(state: LinkState) -> None:
    """close() may be called in any link state and always ends in CLOSED."""
    assert link_transition(state, "close") is L.CLOSED


LINK_ILLEGAL = [
    (state, event)
    for state in LinkState
    for event in LINK_EVENTS
    if (state, event) not in {(s, e) for s, e, _ in LINK_LEGAL}
]


@pytest.mark.parametrize(("state", "event"), LINK_ILLEGAL)
def test_link_illegal_moves_raise(state: LinkState, event: str) -> None:
    """A link move not in the table (e.g. connect while READY) raises, naming both."""
    with pytest.raises(ProtocolError) as info:
        link_transition(state, event)
    assert state.value in str(info.value) and event in str(info.value)
