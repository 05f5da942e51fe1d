"""ServerProtocol: greeting bytes, action parsing, and response/event header order."""

from __future__ import annotations

import pytest

from amilab.errors import ProtocolError
from amilab.protocol.client import ClientProtocol, Completed, Greeting
from amilab.protocol.message import Message
from amilab.protocol.serialize import Action
from amilab.protocol.server import AMI_VERSION, ServerProtocol


def test_greeting_bytes() -> None:
    """The greeting is one CRLF-terminated line with the AMI version."""
    assert ServerProtocol().greeting() == b"Asterisk Call Manager/11.0.0\r\n"
    assert AMI_VERSION == "11.0.0"
    assert ServerProtocol(version="2.10.6").greeting() == b"Asterisk Call Manager/2.10.6\r\n"


def test_parses_actions_sent_in_pieces() -> None:
    """Actions arriving byte by byte are returned whole, once each, in order."""
    server = ServerProtocol()
    data = (
        Action("Login", Username="admin", Secret="x").to_bytes()
        + Action("Ping", ActionID="2").to_bytes()
    )
    out: list[Message] = []
    for i in range(len(data)):
        out.extend(server.receive_data(data[i : i + 1]))
    assert [(m.name, m.kind) for m in out] == [("Login", "action"), ("Ping", "action")]
    assert out[0]["Username"] == "admin" and out[1].action_id == "2"


def test_parses_lf_only_actions() -> None:
    """A client that ends lines with LF alone is understood."""
    (act,) = ServerProtocol().receive_data(b"Action: Ping\nActionID: 9\n\n")
    assert act.name == "Ping" and act.action_id == "9"


def test_server_limits() -> None:
    """The server side enforces max_message_size too."""
    server = ServerProtocol(max_message_size=100)
    with pytest.raises(ProtocolError):
        server.receive_data(b"Action: Ping\r\nData: " + b"x" * 200 + b"\r\n\r\n")


def test_response_header_order() -> None:
    """response writes Response, ActionID, EventList, Message, then extra headers."""
    action = Message(b"Action: CoreShowChannels\r\nActionID: abc")
    data = ServerProtocol.response(
        action, "Success", "Channels will follow", {"Extra": 1}, event_list="start"
    )
    assert data == (
        b"Response: Success\r\nActionID: abc\r\nEventList: start\r\n"
        b"Message: Channels will follow\r\nExtra: 1\r\n\r\n"
    )


def test_response_without_action_id_or_message() -> None:
    """Without an ActionID or message those headers are left out."""
    data = ServerProtocol.response(Message(b"Action: Ping"), "Success", headers={"Ping": "Pong"})
    assert data == b"Response: Success\r\nPing: Pong\r\n\r\n"
    assert ServerProtocol.response(None, "Error", "Missing action in request") == (
        b"Response: Error\r\nMessage: Missing action in request\r\n\r\n"
    )


def test_event_action_id_right_after_name() -> None:
    """event puts ActionID right after Event, then the headers in order."""
    data = ServerProtocol.event("QueueMember", {"Queue": "support", "Name": "a"}, action_id="q1")
    assert data == b"Event: QueueMember\r\nActionID: q1\r\nQueue: support\r\nName: a\r\n\r\n"
    assert ServerProtocol.event("Hangup") == b"Event: Hangup\r\n\r\n"


def test_client_and_server_wired_in_memory() -> None:
    """A ClientProtocol and a ServerProtocol talk to each other through bytes alone."""
    server, client = ServerProtocol(), ClientProtocol()
    assert isinstance(client.receive_data(server.greeting())[0], Greeting)
    _, login = client.send(Action("Login", Username="u", Secret="s"))
    (act,) = server.receive_data(login)
    client.receive_data(server.response(act, "Success", "Authentication accepted"))
    assert client.ready
    aid, data = client.send(Action("CoreShowChannels"))
    (act,) = server.receive_data(data)
    reply = (
        server.response(act, "Success", "Channels will follow", event_list="start")
        + server.event("CoreShowChannel", {"Channel": "PJSIP/1"}, action_id=act.action_id)
        + server.event("Newexten", {"Exten": "100"})
        + server.event(
            "CoreShowChannelsComplete",
            {"EventList": "Complete", "ListItems": 1},
            action_id=act.action_id,
        )
    )
    out = client.receive_data(reply)
    (done,) = [x for x in out if isinstance(x, Completed)]
    assert done.action_id == aid
    assert [e["Channel"] for e in done.result.events] == ["PJSIP/1"]
    assert [m.name for m in out if isinstance(m, Message)] == ["Newexten"]
