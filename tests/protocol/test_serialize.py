"""Action and normalize_headers: Python values to AMI bytes, and injection refusal."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from amilab.protocol.message import Message
from amilab.protocol.serialize import Action, normalize_headers
from amilab.protocol.server import ServerProtocol

INJECTION = "x\r\nAction: Command\r\nCommand: core stop now"


def test_action_name_first_then_headers() -> None:
    """to_bytes writes Action: Name first, the headers in order, then one blank line."""
    act = Action("Originate", {"Channel": "Local/100@default"}, Exten="200", Priority=1)
    assert act.to_bytes() == (
        b"Action: Originate\r\nChannel: Local/100@default\r\nExten: 200\r\nPriority: 1\r\n\r\n"
    )


def test_scalars_become_strings() -> None:
    """ints, floats and bools serialise as text; bools as lowercase true/false."""
    act = Action("X", A=5, B=1.5, C=True, D=False, E="0044")
    assert act.headers == (
        ("A", "5"),
        ("B", "1.5"),
        ("C", "true"),
        ("D", "false"),
        ("E", "0044"),
    )


def test_list_becomes_repeated_headers() -> None:
    """A list (or tuple) value becomes one header per item, in order."""
    act = Action("X", Codecs=["ulaw", "alaw"], Ids=(1, 2))
    assert act.headers == (
        ("Codecs", "ulaw"),
        ("Codecs", "alaw"),
        ("Ids", "1"),
        ("Ids", "2"),
    )


def test_dict_for_variable_becomes_repeated_k_equals_v() -> None:
    """A dict value becomes repeated `Variable: k=v` headers."""
    act = Action("Originate", Variable={"A": 1, "B": "two", "C": True})
    assert act.headers == (
        ("Variable", "A=1"),
        ("Variable", "B=two"),
        ("Variable", "C=true"),
    )
    assert b"Variable: A=1\r\nVariable: B=two\r\n" in act.to_bytes()


def test_none_drops_header() -> None:
    """A None value drops the header entirely."""
    assert Action("X", A=None, B="b").headers == (("B", "b"),)
    assert normalize_headers({"A": None}) == []
    assert normalize_headers(None) == []


def test_pairs_input_keeps_order_and_duplicates() -> None:
    """An iterable of pairs is accepted and keeps duplicates and order."""
    assert normalize_headers([("A", 1), ("B", 2), ("A", 3)]) == [("A", "1"), ("B", "2"), ("A", "3")]


@pytest.mark.parametrize("value", [object(), b"bytes", {1, 2}])
def test_unsupported_value_type_raises_typeerror(value: object) -> None:
    """Values that are not str/int/float/bool/list/dict raise TypeError."""
    with pytest.raises(TypeError):
        Action("X", A=value)


def test_non_pair_items_raise_typeerror() -> None:
    """Header input that is not (key, value) pairs raises TypeError."""
    with pytest.raises(TypeError):
        normalize_headers([("A", 1, 2)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        normalize_headers([(1, "x")])  # type: ignore[list-item]


@pytest.mark.parametrize("key", ["", " A", "A ", "A:B", "A\rB", "A\nB"])
def test_bad_header_names_raise(key: str) -> None:
    """Empty, padded, or CR/LF/colon-bearing header names raise ValueError."""
    with pytest.raises(ValueError):
        Action("X", {key: "v"})


def test_action_given_as_header_is_refused() -> None:
    """The action name may not be repeated as an Action header (it would be sent twice)."""
    with pytest.raises(ValueError):
        Action("Ping", {"action": "Command"})


# -- injection ----------------------------------------------------------------
BUILDERS: dict[str, Callable[[], object]] = {
    "positional dict value": lambda: Action("Ping", {"Channel": INJECTION}),
    "positional dict key": lambda: Action("Ping", {INJECTION: "v"}),
    "pairs value": lambda: Action("Ping", [("Channel", INJECTION)]),
    "kwargs value": lambda: Action("Ping", Channel=INJECTION),
    "list item": lambda: Action("Ping", Channel=["ok", INJECTION]),
    "dict value": lambda: Action("Originate", Variable={"A": INJECTION}),
    "dict key": lambda: Action("Originate", Variable={INJECTION: "1"}),
    "action name": lambda: Action(INJECTION),
    "with_action_id": lambda: Action("Ping").with_action_id(INJECTION),
    "LF only value": lambda: Action("Ping", Channel="x\nAction: Command"),
    "CR only value": lambda: Action("Ping", Channel="x\rAction: Command"),
    "server response message": lambda: ServerProtocol.response(None, "Success", INJECTION),
    "server response status": lambda: ServerProtocol.response(None, INJECTION),
    "server response header": lambda: ServerProtocol.response(None, headers={"A": INJECTION}),
    "server response key": lambda: ServerProtocol.response(None, headers={INJECTION: "a"}),
    "server response event_list": lambda: ServerProtocol.response(None, event_list=INJECTION),
    "server event name": lambda: ServerProtocol.event(INJECTION),
    "server event header": lambda: ServerProtocol.event("X", {"A": INJECTION}),
    "server event action_id": lambda: ServerProtocol.event("X", action_id=INJECTION),
    "server event list": lambda: ServerProtocol.event("X", {"A": ["ok", INJECTION]}),
}


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_injection_is_refused(build: Callable[[], object]) -> None:
    """CR or LF anywhere (or ':' in a key) raises ValueError before any bytes exist."""
    with pytest.raises(ValueError) as info:
        build()
    assert "\r\n" not in str(info.value)


def test_colon_allowed_in_value_only() -> None:
    """A colon is fine in a value (e.g. a SIP URI), and round-trips through parsing."""
    act = Action("Originate", Channel="PJSIP/sip:100@host:5060")
    assert Message(act.to_bytes()[:-4])["Channel"] == "PJSIP/sip:100@host:5060"


# -- ActionID and repr --------------------------------------------------------
def test_action_id_and_with_action_id() -> None:
    """with_action_id replaces any ActionID (any spelling) and puts it first after Action."""
    act = Action("Ping", {"actionid": "old", "A": "1"})
    assert act.action_id == "old"
    new = act.with_action_id("new")
    assert new.action_id == "new"
    assert new.pairs() == [("Action", "Ping"), ("ActionID", "new"), ("A", "1")]
    assert act.action_id == "old"
    assert Action("Ping").action_id is None


def test_repr_masks_secret_and_key() -> None:
    """An Action's repr never shows Secret or Key values."""
    text = repr(Action("Login", Username="admin", Secret="s3cr3t", Key="k3yk3y"))
    assert "s3cr3t" not in text and "k3yk3y" not in text
    assert "admin" in text and "Login" in text


def test_to_message_round_trip() -> None:
    """to_message gives a Message equal to parsing the action's own bytes."""
    act = Action("Setvar", Channel="PJSIP/1", Variable="A=1", Value="")
    msg = act.to_message()
    assert msg.name == "Setvar" and msg.kind == "action"
    assert msg == Message(act.to_bytes().rstrip(b"\r\n"))
    assert msg["Value"] == ""


def test_equality() -> None:
    """Actions compare by their pairs and are unhashable (they are mutable)."""
    assert Action("Ping", A=1) == Action("Ping", {"A": "1"})
    assert Action("Ping", A=1) != Action("Ping", A=2)
    with pytest.raises(TypeError):
        hash(Action("Ping"))


def test_an_action_cannot_be_changed_after_build():
    """Headers and name are read-only, so nothing can smuggle CR/LF in after validation."""
    act = Action("Setvar", Variable="x", Value="1")
    with pytest.raises(AttributeError):
        act.headers.append(("Value", "1\r\nAction: Command"))  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        act.headers = (("Value", "1\r\nAction: Command"),)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        act.name = "Ping\r\nAction: Command"  # type: ignore[misc]
    assert act.to_bytes() == b"Action: Setvar\r\nVariable: x\r\nValue: 1\r\n\r\n"
