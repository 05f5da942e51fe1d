"""ClientProtocol details pinned after mutation testing (mutmut on amilab/protocol/client.py).

Each test names the behaviour a surviving mutant changed. Some check the set
of ActionIDs still collecting events: while it is non-empty every event takes
the slow routing path, so it must empty once no list is arriving, and stay
bounded (benchmarks/flood.py measures that path).
"""

from __future__ import annotations

import pytest

import amilab.protocol.client as client_module
from amilab.errors import ProtocolError
from amilab.protocol.client import ClientProtocol, Stray
from amilab.protocol.message import Message
from amilab.protocol.serialize import Action
from amilab.protocol.state import ConnState


def block(*pairs: tuple[str, str]) -> bytes:
    return "".join(f"{k}: {v}\r\n" for k, v in pairs).encode() + b"\r\n"


def greeted(version: str) -> ClientProtocol:
    proto = ClientProtocol(id_prefix="t-", raw=True)
    proto.receive_data(f"Asterisk Call Manager/{version}\r\n".encode())
    return proto


def test_legacy_stray_will_follow_list_items_are_strays_too() -> None:
    """On a pre-EventList server (AMI 1.1), a late "Channel status will follow" answer of a
    cancelled action makes its Status items and StatusComplete strays, not events."""
    proto = greeted("1.1")
    aid, _ = proto.send(Action("Status"))
    proto.cancel(aid)
    out = proto.receive_data(
        block(("Response", "Success"), ("ActionID", aid), ("Message", "Channel status will follow"))
        + block(("Event", "Status"), ("ActionID", aid), ("Channel", "SIP/100-00000001"))
        + block(("Event", "StatusComplete"), ("ActionID", aid), ("Items", "1"))
    )
    assert [(type(o).__name__, o.message.name) for o in out if isinstance(o, Stray)] == [
        ("Stray", "Success"),
        ("Stray", "Status"),
        ("Stray", "StatusComplete"),
    ]
    assert not [o for o in out if isinstance(o, Message)]
    assert not proto._collecting


def test_late_list_of_a_caller_chosen_action_id_ends_and_restores_the_fast_path() -> None:
    """A caller-ID action cancelled before its answer: the late list is strays, and once it
    ends no ActionID is left collecting (events go back to the fast path)."""
    proto = greeted("11.0.0")
    proto.send(Action("CoreShowChannels", ActionID="mine"))
    proto.cancel("mine")
    out = proto.receive_data(
        block(("Response", "Success"), ("ActionID", "mine"), ("EventList", "start"))
        + block(("Event", "CoreShowChannel"), ("ActionID", "mine"))
    )
    assert all(isinstance(o, Stray) for o in out) and proto._collecting == {"mine"}
    out = proto.receive_data(
        block(
            ("Event", "CoreShowChannelsComplete"), ("ActionID", "mine"), ("EventList", "Complete")
        )
    )
    assert [type(o) for o in out] == [Stray]
    assert proto._collecting == set()


def test_forgotten_abandoned_lists_stop_collecting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_ABANDONED_IDS the oldest abandoned list is forgotten everywhere, so the set of
    collecting ActionIDs stays bounded too."""
    monkeypatch.setattr(client_module, "MAX_ABANDONED_IDS", 2)
    proto = greeted("11.0.0")
    ids = []
    for _ in range(4):
        aid, _ = proto.send(Action("CoreShowChannels"))
        proto.receive_data(
            block(("Response", "Success"), ("ActionID", aid), ("EventList", "start"))
        )
        proto.cancel(aid)
        ids.append(aid)
    assert proto._collecting == set(ids[2:])
    # The forgotten list's items are plain events again.
    (late,) = proto.receive_data(block(("Event", "CoreShowChannel"), ("ActionID", ids[0])))
    assert isinstance(late, Message) and late.name == "CoreShowChannel"


def test_a_refused_login_sent_by_the_caller_leaves_the_connection_in_error() -> None:
    """Without credentials, the caller's own Login answered with Error moves the state to ERROR
    (not READY), so ordinary actions stay refused."""
    proto = ClientProtocol(id_prefix="t-")
    proto.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    aid, _ = proto.send(Action("Login", Username="admin", Secret="wrong"))
    (done,) = proto.receive_data(
        block(("Response", "Error"), ("ActionID", aid), ("Message", "Authentication failed"))
    )
    assert not done.result.ok
    assert proto.state is ConnState.ERROR and not proto.ready
    with pytest.raises(ProtocolError, match="error"):
        proto.send(Action("Ping"))


def test_an_accepted_login_sent_by_the_caller_makes_the_connection_ready() -> None:
    """Without credentials, the caller's own accepted Login moves the state to READY."""
    proto = ClientProtocol(id_prefix="t-")
    proto.receive_data(b"Asterisk Call Manager/11.0.0\r\n")
    aid, _ = proto.send(Action("Login", Username="admin", Secret="right"))
    proto.receive_data(block(("Response", "Success"), ("ActionID", aid)))
    assert proto.ready and proto.send(Action("Ping"))[0] == "t-2"


def test_a_response_without_action_id_is_an_unknown_stray_while_actions_are_pending() -> None:
    """With an action pending, a response carrying no ActionID is counted as an unknown stray and
    leaves the pending action alone."""
    proto = greeted("11.0.0")
    aid, _ = proto.send(Action("Ping"))
    (out,) = proto.receive_data(block(("Response", "Success"), ("Message", "Who asked?")))
    assert isinstance(out, Stray) and out.reason == Stray.UNKNOWN
    assert out.message["Message"] == "Who asked?"
    assert proto.stray_responses == 1 and aid in proto.pending


def test_a_raw_client_that_logs_in_itself_becomes_ready() -> None:
    """A raw (diagnostic) client's own accepted Login moves it to READY, as send() documents."""
    proto = greeted("11.0.0")
    aid, _ = proto.send(Action("Login", Username="admin", Secret="right"))
    proto.receive_data(block(("Response", "Success"), ("ActionID", aid)))
    assert proto.ready
