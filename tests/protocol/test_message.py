"""Message: the lazy, ordered, case-insensitive multi-map over one AMI block."""

from __future__ import annotations

import pytest

from amilab.protocol.message import Message

NEWCHANNEL = (
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-0000002a\r\n"
    b"CallerIDNum: 0044\r\nAccountCode: \r\nUniqueid: 1795669599.10\r\n"
    b"Extra: a: b: c\r\nSpaced:   three\r\nActionID: x-1"
)
TESTEVENT = b"Event: TestEvent\r\nType: StateChange\r\nState: one\r\nstate: two\r\nSTATE: three"
VARSET = (
    b"Event: Status\r\nChannel: PJSIP/1\r\nVariable: A=1\r\nChanVariable: B=2\r\n"
    b"Variable: C=3\r\nChanVariable: D=4"
)


def test_first_value_getall_and_get_default() -> None:
    """msg[k] and get(k) give the first value, getall every value in order, get a default."""
    msg = Message(TESTEVENT)
    assert msg["State"] == "one"
    assert msg.get("State") == "one"
    assert msg.getall("State") == ["one", "two", "three"]
    assert msg.get("Missing") is None
    assert msg.get("Missing", "dflt") == "dflt"
    assert msg.getall("Missing") == []


def test_case_insensitive_lookup_keeps_spelling() -> None:
    """Lookups ignore case; keys() keeps each key's first-seen spelling."""
    msg = Message(TESTEVENT)
    assert msg["sTaTe"] == "one"
    assert msg.getall("STATE") == ["one", "two", "three"]
    assert msg.keys() == ["Event", "Type", "State"]
    assert "state" in msg and "STATE" in msg


def test_first_value_is_first_in_wire_order_across_spellings() -> None:
    """With mixed spellings, msg[k] is the first value on the wire, as getall()[0]."""
    msg = Message(b"Event: X\r\nactionid: first\r\nActionID: second")
    assert msg["ActionID"] == "first"
    assert msg.get("ActionID") == msg.getall("ActionID")[0]


def test_missing_key_raises_keyerror_and_contains() -> None:
    """A missing key raises KeyError; `in` answers without raising, False for non-str."""
    msg = Message(NEWCHANNEL)
    with pytest.raises(KeyError):
        msg["Nope"]
    assert "Channel" in msg
    assert "Nope" not in msg
    assert 3 not in msg


def test_items_keep_duplicates_in_order() -> None:
    """items() lists every pair in wire order, repeated Variable/ChanVariable included."""
    msg = Message(VARSET)
    assert msg.items() == [
        ("Event", "Status"),
        ("Channel", "PJSIP/1"),
        ("Variable", "A=1"),
        ("ChanVariable", "B=2"),
        ("Variable", "C=3"),
        ("ChanVariable", "D=4"),
    ]
    assert msg.keys() == ["Event", "Channel", "Variable", "ChanVariable"]
    assert list(msg) == msg.keys()
    assert len(msg) == 4
    assert msg.values() == ["Status", "PJSIP/1", "A=1", "B=2", "C=3", "D=4"]


def test_to_dict_single_str_repeated_list() -> None:
    """to_dict maps single headers to str and repeated ones to the list of values."""
    assert Message(TESTEVENT).to_dict() == {
        "Event": "TestEvent",
        "Type": "StateChange",
        "State": ["one", "two", "three"],
    }
    assert Message(VARSET).to_dict()["Variable"] == ["A=1", "C=3"]
    assert Message(VARSET).to_dict()["Channel"] == "PJSIP/1"


def test_output_repeats_kept() -> None:
    """Asterisk 14+ Command output as repeated Output headers keeps every line, blanks too."""
    msg = Message(
        b"Response: Success\r\nActionID: 1\r\nMessage: Command output follows\r\n"
        b"Output: first\r\nOutput: \r\nOutput:   indented: x"
    )
    assert msg.getall("Output") == ["first", "", "  indented: x"]


def test_values_split_on_first_colon_and_drop_one_space() -> None:
    """A line splits on its first colon; one space is dropped, further spaces kept."""
    msg = Message(NEWCHANNEL)
    assert msg["Extra"] == "a: b: c"
    assert msg["Spaced"] == "  three"
    assert msg["AccountCode"] == ""
    assert Message(b"Event: X\r\nNoSpace:value")["NoSpace"] == "value"


def test_values_stay_strings() -> None:
    """Numeric-looking values are never converted: leading zeros and decimals survive."""
    msg = Message(NEWCHANNEL)
    assert msg["CallerIDNum"] == "0044"
    assert msg["Uniqueid"] == "1795669599.10"
    assert all(isinstance(v, str) for v in msg.values())


def test_lf_only_message() -> None:
    """A message with LF-only line ends parses the same as CRLF."""
    assert Message(NEWCHANNEL.replace(b"\r\n", b"\n")).items() == Message(NEWCHANNEL).items()


def test_name_and_kind() -> None:
    """name gives the Event/Response/Action value; kind says which."""
    assert (Message(NEWCHANNEL).name, Message(NEWCHANNEL).kind) == ("Newchannel", "event")
    resp = Message(b"Response: Error\r\nMessage: Permission denied")
    assert (resp.name, resp.kind) == ("Error", "response")
    act = Message(b"Action: Ping\r\nActionID: 1")
    assert (act.name, act.kind) == ("Ping", "action")
    assert act.is_event is False and resp.is_response is True
    odd = Message(b"Foo: bar\r\nevent:Hangup")
    assert (odd.name, odd.kind) == ("Hangup", "event")
    none = Message(b"Foo: bar")
    assert (none.name, none.kind) == (None, "unknown")


def test_action_id_fast_path_and_fallback() -> None:
    """action_id reads ActionID as Asterisk spells it, and odd spellings via the parser."""
    assert Message(NEWCHANNEL).action_id == "x-1"
    assert Message(b"Response: Success\r\nActionId: a").action_id == "a"
    assert Message(b"Response: Success\r\nactionid: b").action_id == "b"
    assert Message(b"Response: Success\r\nACTIONID: c").action_id == "c"
    assert Message(b"Response: Success\r\naCtIoNiD: d").action_id == "d"
    assert Message(b"Response: Success\r\nActionID:e").action_id == "e"
    assert Message(b"ActionID: first\r\nResponse: Success").action_id == "first"
    assert Message(b"Event: X").action_id is None


def test_action_id_not_matched_inside_value_or_longer_key() -> None:
    """ActionID text inside a value or a longer key is not taken as the ActionID."""
    assert Message(b"Event: X\r\nNote: see ActionID: 5").action_id is None
    assert Message(b"Event: X\r\nXActionID: 5").action_id is None
    assert Message(b"Event: X\r\nNote: ActionID: 5\r\nActionID: 6").action_id == "6"


def test_repr_and_to_text_mask_secrets() -> None:
    """repr and to_text never show Secret, Key or Password values."""
    msg = Message(b"Action: Login\r\nUsername: admin\r\nSecret: s3cr3t\r\nKey: k3y\r\npassword: pw")
    for text in (repr(msg), msg.to_text(), str(msg)):
        assert "s3cr3t" not in text and "k3y" not in text and "pw'" not in text
        assert "admin" in text
    assert msg.to_text().endswith("\r\n\r\n")
    assert "Secret: ***\r\n" in msg.to_text()


def test_repr_abbreviates_long_messages() -> None:
    """repr shows the first headers and counts the rest."""
    msg = Message(b"\r\n".join(b"K%d: v" % i for i in range(10)))
    assert repr(msg).endswith("+4 more)")


def test_from_pairs_round_trip() -> None:
    """from_pairs builds a message whose raw bytes parse back to the same pairs."""
    pairs = [("Event", "X"), ("A", "1"), ("A", "2")]
    msg = Message.from_pairs(pairs)
    assert msg.items() == pairs
    assert Message(msg.raw).items() == pairs


def test_equal_messages_hash_equal() -> None:
    """Messages equal by headers hash equal, whatever their raw spelling."""
    a = Message(b"Event: X\r\nA: 1")
    b = Message(b"Event:X\nA:1")
    c = Message.from_pairs([("Event", "X"), ("A", "1")])
    assert a == b == c
    assert hash(a) == hash(b) == hash(c)
    assert a != Message(b"Event: X\r\nA: 2")
    assert len({a, b, c}) == 1


def test_line_without_colon_is_kept() -> None:
    """A line with no colon is kept under an empty key rather than dropped."""
    msg = Message(b"Event: X\r\nstray text")
    assert msg.items() == [("Event", "X"), ("", "stray text")]


def test_parsing_is_lazy() -> None:
    """name, kind and action_id are read without parsing the headers."""
    msg = Message(NEWCHANNEL)
    assert (msg.name, msg.kind, msg.action_id) == ("Newchannel", "event", "x-1")
    assert msg._pairs is None


def test_name_is_cached_and_survives_pickle():
    """name is read once and cached; a pickled Message comes back equal with the same name."""
    import pickle

    msg = Message(b"Event: Hangup\r\nChannel: X")
    assert msg.name == "Hangup" and msg.name is msg.name
    back = pickle.loads(pickle.dumps(msg))
    assert back == msg and back.name == "Hangup" and back.raw == msg.raw
