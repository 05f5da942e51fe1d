"""ActionResult: the list of an action's messages and its convenience properties."""

from __future__ import annotations

import pytest
from protocol_helpers import logged_in_client

from amilab.protocol.client import Completed
from amilab.protocol.message import Message
from amilab.protocol.result import ActionResult
from amilab.protocol.serialize import Action

GREETING = b"Asterisk Call Manager/11.0.0\r\n"
COMMAND_TEXT = "Channel   Location   State\n\nfoo: bar: baz\n   indented\n\n1 active channel"


def run(action: Action, reply: bytes, chunk: int | None = None) -> ActionResult:
    """Send action through a fresh ClientProtocol, feed reply (%s = ActionID); return result."""
    proto = logged_in_client(id_prefix="r-")
    aid, _ = proto.send(action)
    data = reply.replace(b"%s", aid.encode())
    step = chunk or len(data)
    out: list[object] = []
    for i in range(0, len(data), step):
        out.extend(proto.receive_data(data[i : i + step]))
    (done,) = [x for x in out if isinstance(x, Completed)]
    return done.result


def msg(text: str) -> Message:
    return Message(text.replace("\n", "\r\n").encode())


def test_pre14_command_output_exact_glued_marker() -> None:
    """Pre-14 Follows body (marker glued) becomes Output lines and .output is the exact text."""
    body = COMMAND_TEXT.replace("\n", "\r\n").encode()
    reply = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: %s\r\n"
        + body
        + b"--END COMMAND--\r\n\r\n"
    )
    for chunk in (None, 1, 2, 3, 7):
        result = run(Action("Command", Command="core show channels"), reply, chunk)
        assert result.ok and result.complete
        assert result.output == COMMAND_TEXT
        assert result.response["Privilege"] == "Command"


def test_pre14_command_output_exact_marker_own_line() -> None:
    """Pre-14 Follows body with the marker on its own line keeps the text exactly."""
    body = COMMAND_TEXT.replace("\n", "\r\n").encode()
    reply = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: %s\r\n"
        + body
        + b"\r\n--END COMMAND--\r\n\r\n"
    )
    for chunk in (None, 1, 5):
        assert run(Action("Command", Command="x"), reply, chunk).output == COMMAND_TEXT


def test_14plus_command_output_exact() -> None:
    """Asterisk 14+ repeated Output headers join back into the exact text."""
    lines = COMMAND_TEXT.split("\n")
    reply = (
        b"Response: Success\r\nActionID: %s\r\nMessage: Command output follows\r\n"
        + b"".join(b"Output: " + line.encode() + b"\r\n" for line in lines)
        + b"\r\n"
    )
    result = run(Action("Command", Command="core show channels"), reply)
    assert result.output == COMMAND_TEXT
    assert result.message == "Command output follows"


@pytest.mark.parametrize(
    ("status", "ok"),
    [("Success", True), ("Follows", True), ("Goodbye", True), ("Error", False), ("success", True)],
)
def test_ok_by_response_status(status: str, ok: bool) -> None:
    """.ok is True for Success/Follows/Goodbye (any case) and False for Error."""
    assert ActionResult([msg(f"Response: {status}\nMessage: m")]).ok is ok


def test_empty_result() -> None:
    """An empty result is not ok, has no message or output, and .response raises."""
    result = ActionResult()
    assert not result.ok and result.message is None and result.output == ""
    assert result.events == [] and result.list_end is None and not result.complete
    with pytest.raises(ValueError):
        _ = result.response


def test_list_properties() -> None:
    """.response is first, .events excludes the Complete event, .list_end is it."""
    items = [
        msg("Response: Success\nEventList: start\nMessage: Channels will follow"),
        msg("Event: CoreShowChannel\nChannel: A"),
        msg("Event: CoreShowChannel\nChannel: B"),
        msg("Event: CoreShowChannelsComplete\nEventList: Complete\nListItems: 2"),
    ]
    result = ActionResult(items)
    assert result.response is items[0]
    assert result.events == items[1:3]
    assert result.list_end is items[3]
    assert result.message == "Channels will follow"
    assert len(result) == 4 and isinstance(result, list)


def test_single_response_has_no_events() -> None:
    """A one-message result has no events and no list end."""
    result = ActionResult([msg("Response: Error\nMessage: Permission denied")])
    assert result.events == [] and result.list_end is None
    assert result.message == "Permission denied" and not result.ok


def test_repr() -> None:
    """repr names the action and status, and counts events."""
    result = run(
        Action("CoreShowChannels"),
        b"Response: Success\r\nActionID: %s\r\nEventList: start\r\n\r\n"
        b"Event: CoreShowChannel\r\nActionID: %s\r\n\r\n"
        b"Event: CoreShowChannelsComplete\r\nActionID: %s\r\nEventList: Complete\r\n\r\n",
    )
    assert repr(result) == "<ActionResult CoreShowChannels: Success, 1 events>"
    assert repr(ActionResult()) == "<ActionResult ?: pending>"


def test_list_end_marker_must_be_a_whole_line() -> None:
    """is_list_end ignores 'EventList: Complete' inside a value, and finds it as a line."""
    from amilab.protocol.result import is_list_end

    inside = Message(b"Event: CoreShowChannel\r\nCallerIDName: EventList: Complete")
    longer = Message(b"Event: X\r\nEventList: Completely\r\nY: 1")
    real = Message(b"Event: CoreShowChannelsComplete\r\nEventList: Complete\r\nListItems: 0")
    assert not is_list_end(inside) and not is_list_end(longer)
    assert is_list_end(real)
