"""Issue 9: framing and input-validation edge cases, pinned on real Asterisk 22 recordings.

The recordings (tests/fixtures/asterisk22/, made by tests/asterisk/record_framing.py,
actions listed in framing_scenarios.json) are fed to the sans-IO protocol as
Asterisk sent them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from amilab.errors import ProtocolError
from amilab.protocol.buffer import MAX_GREETING_SIZE, ReceiveBuffer
from amilab.protocol.client import ClientProtocol, Completed, Greeting, Stray
from amilab.protocol.login import login_flow
from amilab.protocol.message import Message
from amilab.protocol.serialize import Action, normalize_headers
from amilab.protocol.server import ServerProtocol

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
SCENARIOS = json.loads((FIXTURES / "framing_scenarios.json").read_text())["scenarios"]
SECRET = "amilab-s3cret"

Output = Message | Completed | Greeting | Stray


def recording(name: str) -> bytes:
    return (FIXTURES / SCENARIOS[name]["file"]).read_bytes()


def replay(
    name: str, chunk: int | None = None
) -> tuple[ClientProtocol, list[Output], dict[str, str]]:
    """Send the scenario's recorded actions, feed the recorded bytes; return outputs.

    The third value maps each recorded ActionID (``rec-2``) to the one the
    protocol generated, since the recording's own ActionIDs are fixed.
    """
    proto = ClientProtocol(id_prefix="t-", raw=True)  # replays a recorded session
    ids: dict[str, str] = {}
    for step in SCENARIOS[name]["steps"]:
        (_, action_name), *headers = step["action"]
        action = Action(action_name, [tuple(h) for h in headers])
        ids[step["action_id"]] = proto.send(action)[0]
    data = recording(name)
    size = chunk or len(data)
    out: list[Output] = []
    for pos in range(0, len(data), size):
        out.extend(proto.receive_data(data[pos : pos + size]))
    return proto, out, ids


def completed(out: list[Output]) -> dict[str, Completed]:
    return {c.action_id: c for c in out if isinstance(c, Completed)}


def events(out: list[Output]) -> list[Message]:
    return [m for m in out if m.__class__ is Message]


# -- 1. control characters in what we send --------------------------------------------
def echoes() -> list[Message]:
    """The responses of control_chars.ami, in order (Ping echoes its ActionID)."""
    buf = ReceiveBuffer()
    return [m for m in buf.feed(recording("control_chars")) if m.kind == "response"][1:]


def test_recording_shows_how_asterisk_reads_control_characters() -> None:
    """Asterisk 22 truncates a value at NUL, ends a message at a NUL line, keeps TAB/VT/ESC."""
    sent = [s["action"] for s in SCENARIOS["control_chars"]["steps"][1:]]
    assert ["ActionID", "nul-a\x00b"] in sent[0]
    assert ["\x00X", "y"] in sent[1]  # a header line starting with NUL
    got = [(m["Response"], m.action_id, m.get("Message")) for m in echoes()]
    assert got == [
        ("Success", "nul-a", None),  # truncated at the NUL
        ("Success", "nul-line-1", None),  # the NUL line ended the Ping ...
        ("Error", "nul-line-2", "Missing action in request"),  # ... the rest is a 2nd message
        ("Success", "tab-a\tb", None),  # TAB inside a value is data
        ("Success", "tab-lead", None),  # a leading TAB is skipped, like a space
        ("Success", "vt-a\x0bb\x1bc", None),  # other C0 controls inside a value are data
        ("Success", "space-lead", None),  # leading spaces are skipped
        ("Success", None, None),  # an empty ActionID is not echoed at all
        ("Success", "cr-a\rb", None),  # a lone CR does not end a line in Asterisk 22
    ]


NUL_BUILDERS: dict[str, Callable[[], object]] = {
    "header value": lambda: Action("Ping", Channel="PJSIP/100\x00Action: Command"),
    "value start": lambda: Action("Ping", Channel="\x00"),
    "header name": lambda: Action("Ping", {"\x00Action": "Command"}),
    "action name": lambda: Action("Ping\x00"),
    "list item": lambda: Action("Ping", Channel=["ok", "a\x00b"]),
    "variable value": lambda: Action("Originate", Variable={"A": "1\x00"}),
    "variable name": lambda: Action("Originate", Variable={"A\x00B": "1"}),
    "with_action_id": lambda: Action("Ping").with_action_id("id\x00x"),
    "username": lambda: next(login_flow("ad\x00min", SECRET, auth="plain")),
    "server event": lambda: ServerProtocol.event("X", {"A": "a\x00b"}),
}


@pytest.mark.parametrize("build", NUL_BUILDERS.values(), ids=NUL_BUILDERS.keys())
def test_nul_is_refused_before_sending(build: Callable[[], object]) -> None:
    """NUL in any header name, value, action name or login field raises ValueError naming it."""
    with pytest.raises(ValueError, match="NUL"):
        build()


def test_nul_in_secret_refused_without_showing_it() -> None:
    """A secret holding NUL is refused, and the error does not quote the secret."""
    for flow in (login_flow("admin", SECRET + "\x00x", auth="plain"),):
        with pytest.raises(ValueError, match="NUL") as info:
            next(flow)
        assert SECRET not in str(info.value) and "\x00" not in str(info.value)
    with pytest.raises(ValueError) as info:
        Action("Login", Username="admin", Secret=f"{SECRET}\x00Action: Command")
    assert SECRET not in str(info.value) and "Command" not in str(info.value)


def test_headers_cannot_be_mutated_to_carry_nul() -> None:
    """Action.headers is read-only, so no NUL can be added after validation."""
    act = Action("Ping")
    with pytest.raises(AttributeError):
        act.headers.append(("ActionID", "x\x00y"))  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="NUL"):
        Action("Ping", ActionID="x\x00y")


@pytest.mark.parametrize("char", ["\t", "\x01", "\x0b", "\x1b", "\x1f", "\x7f"])
def test_control_characters_refused_in_header_names(char: str) -> None:
    """No AMI header name holds a control character: any one (TAB too) is refused."""
    with pytest.raises(ValueError, match="header name"):
        normalize_headers([(f"X{char}Y", "v")])


@pytest.mark.parametrize("value", ["tab-a\tb", "vt-a\x0bb\x1bc"])
def test_tab_and_other_controls_allowed_in_values(value: str) -> None:
    """TAB, VT, ESC in a value are sent as is: Asterisk keeps them (control_chars.ami)."""
    wire = Action("Ping", ActionID=value).to_bytes()
    assert f"ActionID: {value}\r\n".encode() in wire
    assert value in [m.action_id for m in echoes()]


# -- 2. greeting line limit, however the reads split it -----------------------------------
LONG_GREETING = b"Asterisk Call Manager/" + b"9" * (2 * MAX_GREETING_SIZE) + b"\r\n"


@pytest.mark.parametrize("chunk", [len(LONG_GREETING), 100, 7, 1])
def test_overlong_greeting_refused_in_any_chunking(chunk: int) -> None:
    """A greeting line beyond MAX_GREETING_SIZE is refused in one read or in small pieces."""
    buf = ReceiveBuffer()
    fed = 0
    with pytest.raises(ProtocolError, match="greeting"):
        for pos in range(0, len(LONG_GREETING), chunk):
            fed += len(LONG_GREETING[pos : pos + chunk])
            buf.feed(LONG_GREETING[pos : pos + chunk])
    assert buf.greeting is None
    # Never more than the limit (plus the last read) is buffered before the refusal.
    assert fed <= MAX_GREETING_SIZE + chunk


def test_greeting_at_the_limit_accepted_byte_by_byte() -> None:
    """A greeting whose LF is at the limit is accepted, also fed one byte at a time."""
    line = b"Asterisk Call Manager/" + b"1" * (MAX_GREETING_SIZE - 23) + b"\r\n"
    assert line.index(b"\n") == MAX_GREETING_SIZE
    data = line + recording("faxstats").partition(b"\r\n")[2]
    proto = ClientProtocol()
    out = [o for i in range(len(data)) for o in proto.receive_data(data[i : i + 1])]
    assert isinstance(out[0], Greeting) and len(out[0].line) == MAX_GREETING_SIZE - 1
    assert proto.buffer.buffered == 0


def test_not_a_greeting_refused_at_the_first_wrong_byte() -> None:
    """Bytes that cannot start the greeting (an HTTP server) are refused before any LF."""
    buf = ReceiveBuffer()
    assert buf.feed(b"Asterisk") == []
    with pytest.raises(ProtocolError, match="expected an AMI greeting"):
        buf.feed(b" Gateway")


# -- 3. FAXStats: "event will follow" without EventList, and FAXSessions' "Start" ------------
@pytest.mark.parametrize("chunk", [None, 1, 13])
def test_faxstats_completes_at_its_response_and_its_event_reaches_handlers(
    chunk: int | None,
) -> None:
    """FAXStats (no EventList) completes at once; its FAXStats event goes to handlers."""
    proto, out, ids = replay("faxstats", chunk)
    done = completed(out)
    assert set(done) == {ids["rec-1"], ids["rec-2"], ids["rec-3"]}
    result = done[ids["rec-2"]].result
    assert [m.name for m in result] == ["Success"]
    assert result.message == "FAXStats event will follow" and result.ok
    fax = [m for m in events(out) if m.name == "FAXStats"]
    assert len(fax) == 1 and fax[0].action_id == ids["rec-2"] and fax[0]["CurrentSessions"] == "0"
    assert not proto.pending and proto.stray_responses == 0


def test_faxsessions_capital_start_is_a_list() -> None:
    """FAXSessions' ``EventList: Start`` starts a list ended by FAXSessionsComplete."""
    proto, out, ids = replay("faxsessions", 5)
    result = completed(out)[ids["rec-2"]].result
    assert result.response["EventList"] == "Start"
    assert result.list_end is not None and result.list_end.name == "FAXSessionsComplete"
    assert result.events == [] and result.ok and not proto.pending


def old_server(version: str) -> ClientProtocol:
    proto = ClientProtocol(id_prefix="t-", raw=True)  # replays a recorded session
    proto.receive_data(f"Asterisk Call Manager/{version}\r\n".encode())
    return proto


def faxstats_answer(aid: str) -> bytes:
    """The recorded FAXStats answer (response and event) with ActionID ``aid``."""
    blocks = recording("faxstats").split(b"\r\n\r\n")
    answer = [b for b in blocks if b"ActionID: rec-2" in b]
    return b"".join(b.replace(b"rec-2", aid.encode()) + b"\r\n\r\n" for b in answer)


def test_pre_eventlist_server_faxstats_collects_its_one_event() -> None:
    """On AMI 1.1 (Asterisk 1.8), "FAXStats event will follow" announces exactly one event."""
    proto = old_server("1.1")
    aid, _ = proto.send(Action("FAXStats"))
    out = proto.receive_data(faxstats_answer(aid) + b"Event: Hangup\r\n\r\n")
    result = completed(out)[aid].result
    assert [m.name for m in result] == ["Success", "FAXStats"]
    assert [m.name for m in events(out)] == ["Hangup"]


@pytest.mark.parametrize("version", ["2.7.0", "11.0.0", "2.10.6"])
def test_will_follow_alone_is_no_list_from_ami_2_7(version: str) -> None:
    """From AMI 2.7.0 on, "... will follow" without EventList completes at the response."""
    proto = old_server(version)
    aid, _ = proto.send(Action("Status"))
    block = f"Response: Success\r\nActionID: {aid}\r\nMessage: Channel status will follow\r\n\r\n"
    assert list(completed(proto.receive_data(block.encode()))) == [aid]


def test_will_follow_list_on_ami_2_6() -> None:
    """On AMI 2.6.0 (Asterisk 12), Status's "will follow" still starts a list."""
    proto = old_server("2.6.0")
    aid, _ = proto.send(Action("Status"))
    head = f"Response: Success\r\nActionID: {aid}\r\nMessage: Channel status will follow\r\n\r\n"
    assert proto.receive_data(head.encode()) == []
    tail = f"Event: StatusComplete\r\nActionID: {aid}\r\nItems: 0\r\n\r\n"
    assert list(completed(proto.receive_data(tail.encode()))) == [aid]


# -- 4. ShowDialPlan broken off by a second Response: Error -------------------------------
@pytest.mark.parametrize("chunk", [None, 1, 29])
def test_showdialplan_error_after_items_ends_the_list(chunk: int | None) -> None:
    """The second Response: Error ends the list: not ok, its message, the partial items."""
    proto, out, ids = replay("showdialplan_missing_extension", chunk)
    done = completed(out)
    assert set(done) == {ids["rec-1"], ids["rec-2"], ids["rec-3"]}
    result = done[ids["rec-2"]].result
    assert not result.ok
    assert result.message == "Did not find extension 99999@amilab-framing"
    assert [(e.name, e["IgnorePattern"]) for e in result.events] == [("ListDialplan", "9")]
    assert result.error is not None and result.error["Response"] == "Error"
    assert result.list_end is None and result.response["EventList"] == "start"
    assert repr(result) == "<ActionResult ShowDialPlan: Error, 1 events>"
    assert all(m.action_id != ids["rec-2"] for m in events(out))
    assert not any(isinstance(o, Stray) for o in out) and proto.stray_responses == 0


def test_showdialplan_error_after_cancel_is_a_stray_and_frees_the_action_id() -> None:
    """A list cancelled mid-way: its items and the closing error are strays, not events."""
    data = recording("showdialplan_missing_extension")
    proto = ClientProtocol(id_prefix="t-", raw=True)  # replays a recorded session
    proto.send(Action("Login", Username="admin", Secret=SECRET, ActionID="rec-1"))
    proto.send(Action("ShowDialPlan", ActionID="rec-2"))
    cut = data.index(b"Event: ListDialplan")
    proto.receive_data(data[:cut])
    proto.cancel("rec-2")
    out = proto.receive_data(data[cut:])
    assert [(o.message.name, o.reason) for o in out if isinstance(o, Stray)] == [
        ("ListDialplan", Stray.ABANDONED),
        ("Error", Stray.ABANDONED),
        ("Success", Stray.UNKNOWN),  # the recorded Ping (rec-3) was not sent here
    ]
    assert all(m.action_id != "rec-2" for m in events(out))
    assert proto.send(Action("ShowDialPlan", ActionID="rec-2"))[0] == "rec-2"


# -- 5. responses for no pending action are strays, never events ---------------------------
def test_response_with_no_action_pending_is_a_stray_not_an_event() -> None:
    """With nothing pending, a response (recorded Ping answer) comes out as a Stray."""
    data = recording("faxstats")
    proto = ClientProtocol(id_prefix="t-", raw=True)  # replays a recorded session
    out = proto.receive_data(data)  # nothing was sent: every response is a stray
    strays = [o for o in out if isinstance(o, Stray)]
    assert [s.message.action_id for s in strays] == ["rec-1", "rec-2", "rec-3"]
    assert all(s.reason == Stray.UNKNOWN for s in strays)
    assert all(m.kind == "event" for m in events(out))
    assert proto.stray_responses == 3


def test_duplicate_response_for_a_finished_action_is_a_stray() -> None:
    """A second response for an action that already completed is a Stray, not an event."""
    proto, _, ids = replay("faxstats")
    again = b"Response: Success\r\nActionID: " + ids["rec-3"].encode() + b"\r\nPing: Pong\r\n\r\n"
    more = proto.receive_data(again)
    assert [type(o).__name__ for o in more] == ["Stray"] and proto.stray_responses == 1


# -- 6. other mis-routings -------------------------------------------------------------
@pytest.mark.parametrize(
    ("action_id", "echoed"),
    [("", None), ("  space-lead", "space-lead"), ("\ttab-lead", "tab-lead")],
)
def test_action_id_asterisk_would_alter_is_refused(action_id: str, echoed: str | None) -> None:
    """An empty ActionID or one starting with a blank is refused: its echo could never match."""
    sent = [dict(s["action"]).get("ActionID") for s in SCENARIOS["control_chars"]["steps"]]
    assert action_id in sent and echoed in [m.action_id for m in echoes()]  # what Asterisk did
    with pytest.raises(ValueError, match="ActionID"):
        Action("Ping", ActionID=action_id)
    with pytest.raises(ValueError, match="ActionID"):
        Action("Ping").with_action_id(action_id)


def test_list_of_action_cancelled_before_its_response_is_stray_not_events() -> None:
    """A list answer arriving after cancel(): response, items and list end are all strays."""
    proto = ClientProtocol(id_prefix="t-", raw=True)  # replays a recorded session
    proto.send(Action("Login", Username="admin", Secret=SECRET, ActionID="rec-1"))
    aid, _ = proto.send(Action("FAXSessions"))
    proto.cancel(aid)
    data = recording("faxsessions").replace(b"ActionID: rec-2", f"ActionID: {aid}".encode())
    out = proto.receive_data(data)
    strays = [(o.message.name, o.reason) for o in out if isinstance(o, Stray)]
    assert strays == [("Success", Stray.ABANDONED), ("FAXSessionsComplete", Stray.ABANDONED)]
    assert all(m.action_id != aid for m in events(out))
    assert proto.stray_responses == 1
    # The list ended, so later traffic is back on the fast path.
    assert not proto.pending and proto.receive_data(b"Event: Hangup\r\n\r\n")[0].name == "Hangup"


# -- reads that cannot end a message are held, not re-split ---------------------------------
FOLLOWS_BODY = (
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: c-1\r\n"
    b"line one\r\n\r\n\r\nName: Value\r\nlast line--END COMMAND--\r\n\r\n"
)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_tiny_reads_frame_like_one_read(size: int) -> None:
    """Recorded answers and a pre-14 Follows block fed in tiny reads frame as fed whole."""
    data = recording("showdialplan_missing_extension") + FOLLOWS_BODY + b"Event: X\r\n\r\n"
    whole = ReceiveBuffer().feed(data)
    buf = ReceiveBuffer()
    got = [m for pos in range(0, len(data), size) for m in buf.feed(data[pos : pos + size])]
    assert [m.raw for m in got] == [m.raw for m in whole]
    assert got[-2].getall("Output") == ["line one", "", "", "Name: Value", "last line"]
    assert buf.buffered == 0 and buf.ended_cleanly


def test_held_reads_count_toward_the_message_size_limit() -> None:
    """Bytes held across reads still break max_message_size, one byte at a time."""
    buf = ReceiveBuffer(max_message_size=64)
    buf.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: Big\r\n")
    with pytest.raises(ProtocolError, match="max_message_size"):
        for _ in range(64):
            buf.feed(b"x")
    assert buf.buffered == 0


@pytest.mark.parametrize("size", range(1, 9))
def test_blank_lines_after_a_follows_block_make_no_empty_message(size: int) -> None:
    """Blank lines after a pre-14 Follows block, split so a read starts with LF, are skipped."""
    follows = b"Response: Follows\r\nActionID: c-2\r\nx\r\n\r\n--END COMMAND--\r\n\r\n"
    data = b"Asterisk Call Manager/1.1\r\n" + follows + b"\r\n\r\nEvent: A\r\n\r\n"
    buf = ReceiveBuffer()
    got = [m for pos in range(0, len(data), size) for m in buf.feed(data[pos : pos + size])]
    assert [m.name for m in got] == ["Follows", "A"]
