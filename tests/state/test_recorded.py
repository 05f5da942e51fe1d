"""The model replayed over a real Asterisk 22 recording agrees with Asterisk's own lists.

tests/fixtures/state/state_calls.ami (tests/state/record_state.py) holds
every event of a scenario plus, at checkpoints, the items of
CoreShowChannels / BridgeList / QueueStatus / ConfbridgeListRooms. The model
is seeded from the first checkpoint's items, then fed the events; at every
later checkpoint its view must equal the listed one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from amilab import Message
from amilab.recorder import replay_timed
from amilab.state import StateModel
from tests.state.compare import LIST_ITEMS, differences, from_lists, from_model

#: Asterisk 22 counts a ConfBridge party (ConfbridgeListRooms ``Parties``)
#: before it sends the party's ConfbridgeJoin (the join prompt plays first).
#: In state_calls.ami a list at 865.882 says Parties 2 and the second
#: ConfbridgeJoin arrives at 866.039 (0.16 s later); an earlier recording of
#: the same scenario showed 0.50 s. A listed party counts as pending when its
#: ConfbridgeJoin arrives within this many seconds after the list.
CONF_JOIN_LAG = 1.0
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "state" / "state_calls.ami"
_NS = 1e9


def _checkpoints() -> list[tuple[float, list[Message], list[tuple[float, Message]]]]:
    """(time, list items, events before it) for each checkpoint of the recording."""
    out: list[tuple[float, list[Message], list[tuple[float, Message]]]] = []
    items: list[Message] = []
    events: list[tuple[float, Message]] = []
    for ns, msg in replay_timed(FIXTURE):
        if msg.kind == "response" or msg.name in LIST_ITEMS or msg.name.endswith("Complete"):
            items.append(msg)
            last = msg.name == "ConfbridgeListRoomsComplete" or (
                msg.kind == "response" and msg.get("Message") == "No active conferences."
            )
            if last:
                out.append((ns / _NS, items, events))
                items, events = [], []
            continue
        events.append((ns / _NS, msg))
    return out


def seeded(items: list[Message], now: float) -> StateModel:
    model = StateModel()
    model.seed("channels", [m for m in items if m.name == "CoreShowChannel"], now)
    model.seed("bridges", [m for m in items if m.name == "BridgeListItem"], now)
    model.seed(
        "queues", [m for m in items if m.name in ("QueueParams", "QueueMember", "QueueEntry")], now
    )
    model.seed("conferences", [m for m in items if m.name == "ConfbridgeListRooms"], now)
    return model


def test_recording_has_checkpoints_with_calls() -> None:
    """The fixture holds six checkpoints; the second has bridges, a queue caller, a conference."""
    points = _checkpoints()
    assert len(points) == 6
    busiest = from_lists(points[1][1])
    assert len(busiest["channels"]) >= 10
    assert busiest["bridges"] and busiest["callers"] and busiest["conferences"]


@pytest.mark.parametrize("strict", [False, True])
def test_model_agrees_with_every_checkpoint(strict: bool) -> None:
    """Seeded at the first checkpoint, fed the events: every later checkpoint agrees."""
    points = _checkpoints()
    t0, items, _ = points[0]
    model = seeded(items, t0)
    if strict:
        model.strict = frozenset({"channels", "bridges"})
    for i, (at, listed, events) in enumerate(points[1:], 1):
        for t, msg in events:
            model.apply(msg, t)
        assert model.contradiction is None
        view = from_model(model)
        for name, parties in view["conferences"].items():
            view["conferences"][name] = parties + _pending_joins(points, i + 1, at, name)
        assert differences(view, from_lists(listed)) == [], f"checkpoint {i}"


def _pending_joins(points: list, nxt: int, at: float, conference: str) -> int:
    """ConfbridgeJoin events for ``conference`` received within CONF_JOIN_LAG after ``at``."""
    later = points[nxt][2] if nxt < len(points) else []
    return sum(
        1
        for t, m in later
        if m.name == "ConfbridgeJoin"
        and m.get("Conference") == conference
        and t - at < CONF_JOIN_LAG
    )


def test_a_lost_event_is_caught() -> None:
    """Dropping one Newchannel makes the strict model report a contradiction (a gap)."""
    points = _checkpoints()
    model = seeded(points[0][1], points[0][0])
    model.strict = frozenset({"channels", "bridges"})
    events = [e for _, _, evs in points[1:] for e in evs]
    lost = next(i for i, (_, m) in enumerate(events) if m.name == "Newchannel")
    for t, msg in events[:lost] + events[lost + 1 :]:
        model.apply(msg, t)
    assert model.contradiction is not None and "unknown channel" in model.contradiction


def test_event_after_hangup_is_not_a_gap() -> None:
    """Asterisk 22 sends NewConnectedLine after a Local;1 Hangup: no ghost row, no contradiction."""
    path = FIXTURE.parents[1] / "asterisk22" / "queue_call.ami"
    model = StateModel()
    model.strict = frozenset({"channels", "bridges"})
    for ns, msg in replay_timed(path):
        if msg.kind == "event" and msg.name != "CoreShowChannel":
            model.apply(msg, ns / _NS)
    assert model.contradiction is None
    assert model.tables["channels"] == {}
    assert model.tables["bridges"] == {}
