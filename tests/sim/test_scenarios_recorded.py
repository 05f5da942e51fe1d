"""Transfer, parking and ConfBridge in the simulator against real Asterisk 22 recordings.

The recordings (``tests/asterisk/record_simulate.py``; blindtransfer.ami,
park_blindtransfer.ami, park_giveup.ami, park_timeout.ami, confbridge.ami)
were made on the shared sandbox, so other users' calls are interleaved: each
comparison keeps only the events of the channels playing a role (named by
role, so names and Uniqueids do not matter), the bridges they use and the
parking and conference devices, over one window of the scenario. VarSets count
only for the variables the scenario is about, and ``TestEvent`` (Debian's
test-framework build) never does.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from amilab.protocol import Message, ReceiveBuffer
from amilab.sim import PBX, VirtualClock, simulate
from amilab.sim.traffic.calls import CallPlan
from amilab.sim.traffic.scenarios import conference

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk22"
#: Events kept without a channel of their own.
STRUCTURAL = {
    "BlindTransfer",
    "ParkedCall",
    "UnParkedCall",
    "ParkedCallGiveUp",
    "ParkedCallTimeOut",
    "ConfbridgeStart",
    "ConfbridgeEnd",
}
DEVICES = ("park:", "confbridge:")


def recorded(name: str) -> list[Message]:
    data = (FIXTURES / f"{name}.ami").read_bytes()
    return [m for m in ReceiveBuffer().feed(data) if m.get("Event") and m.name != "TestEvent"]


def simulated(kind: str, seed: int = 1, minutes: float = 10.0) -> list[Message]:
    return simulate(minutes=minutes, calls_per_minute=6, seed=seed, mix={kind: 1}).messages()


def first(msgs: list[Message], test: Callable[[Message], bool], start: int = 0) -> int:
    return next(i for i in range(start, len(msgs)) if test(msgs[i]))


def is_(name: str, **headers: str) -> Callable[[Message], bool]:
    return lambda m: m.name == name and all(m.get(k) == v for k, v in headers.items())


def tokens(
    msgs: Iterable[Message],
    roles: dict[str, str],
    variables: tuple[str, ...] = ("BLINDTRANSFER", "BRIDGEPEER"),
    names: set[str] | None = None,
) -> list[str]:
    """One line per relevant event: its name, the role it concerns, what it means."""
    msgs = list(msgs)
    bridges = {
        m["BridgeUniqueid"]
        for m in msgs
        if m.name in ("BridgeEnter", "BridgeLeave") and m.get("Channel") in roles
    }
    out = []
    for m in msgs:
        name = m.name or ""
        if (names is not None and name not in names) or name == "OriginateResponse":
            continue  # OriginateResponse: how the recording started its calls
        channel = m.get("Channel")
        if name == "DeviceStateChange":
            device = m["Device"]
            if device.startswith(DEVICES):
                out.append(f"{name} {device.split(':')[0]} {m['State']}")
        elif channel is not None:
            role = roles.get(channel)
            if role is None or (name == "VarSet" and m["Variable"] not in variables):
                continue
            detail = {
                "VarSet": m.get("Variable"),
                "Newexten": m.get("Context"),
            }.get(name, m.get("BridgeType"))
            out.append(" ".join(filter(None, [name, role, detail])))
        elif name in STRUCTURAL:
            out.append(name)
        elif name in ("BridgeCreate", "BridgeDestroy") and m["BridgeUniqueid"] in bridges:
            out.append(f"{name} {m['BridgeType']}")
    return out


def headers_of(msgs: list[Message], name: str) -> list[str]:
    return [k for k, _ in msgs[first(msgs, is_(name))].headers]


# -- blind transfer ---------------------------------------------------------------
def transfer_window(msgs: list[Message]) -> list[str]:
    """From the first BLINDTRANSFER VarSet to the destruction of the transferred bridge."""
    bt = msgs[first(msgs, is_("BlindTransfer"))]
    roles = {bt["TransfererChannel"]: "transferer", bt["TransfereeChannel"]: "transferee"}
    start = first(msgs, is_("VarSet", Variable="BLINDTRANSFER"))
    end = first(msgs, is_("BridgeDestroy", BridgeUniqueid=bt["BridgeUniqueid"]), start)
    return tokens(msgs[start : end + 1], roles)


def test_blind_transfer_follows_the_recording():
    """BLINDTRANSFER, BRIDGEPEER cleared, the Newexten, BlindTransfer, then the leaves."""
    real = transfer_window(recorded("blindtransfer"))
    assert real[:2] == ["VarSet transferer BLINDTRANSFER", "VarSet transferee BLINDTRANSFER"]
    assert transfer_window(simulated("transfer")) == real


@pytest.mark.parametrize(
    ("recording", "kind", "event"),
    [
        ("blindtransfer", "transfer", "BlindTransfer"),
        ("park_blindtransfer", "park", "ParkedCall"),
        ("park_blindtransfer", "park", "UnParkedCall"),
        ("park_blindtransfer", "park", "MusicOnHoldStart"),
        ("park_giveup", "park", "ParkedCallGiveUp"),
        ("park_timeout", "park", "ParkedCallTimeOut"),
        ("confbridge", "conference", "ConfbridgeStart"),
        ("confbridge", "conference", "ConfbridgeJoin"),
        ("confbridge", "conference", "ConfbridgeLeave"),
        ("confbridge", "conference", "ConfbridgeEnd"),
    ],
)
def test_scenario_events_have_the_recorded_headers(recording, kind, event):
    """Each scenario event carries the recorded header names, in order (no Parker* snapshot)."""
    assert headers_of(simulated(kind, minutes=30), event) == headers_of(recorded(recording), event)


@pytest.mark.parametrize(
    ("recording", "kind", "bridge_type"),
    [("park_blindtransfer", "park", "parking"), ("confbridge", "conference", "base")],
)
def test_special_bridges_are_typed_as_recorded(recording, kind, bridge_type):
    """The lot's holding bridge and the conference's mixing bridge: type, technology, creator."""

    def described(msgs: list[Message]) -> list[tuple[str, str]]:
        create = msgs[first(msgs, is_("BridgeCreate", BridgeType=bridge_type))]
        keys = ("BridgeType", "BridgeTechnology", "BridgeCreator")
        return [(k, create[k]) for k in keys] + [("headers", ",".join(create.keys()))]

    assert described(simulated(kind)) == described(recorded(recording))


# -- parking ------------------------------------------------------------------------
def park_window(msgs: list[Message]) -> list[str]:
    """The first park: ParkedCall to BlindTransfer (parkee and transferer)."""
    start = first(msgs, is_("ParkedCall"))
    end = first(msgs, is_("BlindTransfer"), start)
    roles = {
        msgs[start]["ParkeeChannel"]: "parkee",
        msgs[end]["TransfererChannel"]: "transferer",
    }
    return tokens(msgs[start : end + 1], roles)


def test_parking_a_call_follows_the_recording():
    """ParkedCall, the lot's bridge, the move into it, the space INUSE, music, BlindTransfer."""
    real = park_window(recorded("park_blindtransfer"))
    assert "DeviceStateChange park INUSE" in real and real[-1] == "BlindTransfer"
    assert park_window(simulated("park")) == real


def unpark_window(msgs: list[Message], event: str, end_name: str) -> list[str]:
    """From the parkee's MusicOnHoldStop before ``event`` to ``end_name`` of its last role."""
    at = first(msgs, is_(event))
    roles = {msgs[at]["ParkeeChannel"]: "parkee"}
    if msgs[at].get("RetrieverChannel"):
        roles[msgs[at]["RetrieverChannel"]] = "retriever"
    stop = max(
        i for i in range(at) if msgs[i].name == "MusicOnHoldStop" and msgs[i]["Channel"] in roles
    )
    last_role = list(roles)[-1]
    end = first(msgs, lambda m: m.name == end_name and m.get("Channel") in (last_role, None), at)
    names = None
    if event == "ParkedCallTimeOut":  # the real parkee had no one to call back
        names = {"MusicOnHoldStop", "DeviceStateChange", "BridgeLeave", "Newexten", event}
    return tokens(msgs[stop : end + 1], roles, names=names)


@pytest.mark.parametrize(
    ("recording", "event", "end_name"),
    [
        ("park_blindtransfer", "UnParkedCall", "NewConnectedLine"),
        ("park_giveup", "ParkedCallGiveUp", "BridgeLeave"),
        ("park_timeout", "ParkedCallTimeOut", "ParkedCallTimeOut"),
    ],
)
def test_each_end_of_a_parked_call_follows_its_recording(recording, event, end_name):
    """Picked up, given up, timed out: music stops, the space frees, the event, the lot is left."""
    real = unpark_window(recorded(recording), event, end_name)
    assert real[0] == "MusicOnHoldStop parkee" and event in real
    assert unpark_window(simulated("park", minutes=30), event, end_name) == real


# -- ConfBridge -----------------------------------------------------------------------
class Scripted(random.Random):
    """A Random whose ``uniform`` returns given values (the conference stays), in order."""

    def __init__(self, stays: list[float]) -> None:
        super().__init__(0)
        self.stays = list(stays)

    def uniform(self, a: float, b: float) -> float:
        return self.stays.pop(0)


def two_member_conference() -> list[Message]:
    """Two phones join 1 s apart; the second leaves first, as in the recording."""
    pbx = PBX(clock=VirtualClock(), seed=1)
    out: list[bytes] = []
    pbx.listeners.append(lambda name, cat, data: out.append(data))
    plan = CallPlan(pbx, Scripted([100.0, 10.0]), sorted(pbx.endpoints))
    conference(plan)
    pbx.clock.run_for(1.0)
    conference(plan)
    pbx.clock.run_for(200.0)
    return ReceiveBuffer(expect_greeting=False).feed(b"".join(out))


def conference_window(msgs: list[Message]) -> tuple[list[str], set[str]]:
    """The room's life without the BRIDGEPEER VarSets, and the values BRIDGEPEER took."""
    joins = [m["Channel"] for m in msgs if m.name == "ConfbridgeJoin"]
    roles = {channel: f"m{n}" for n, channel in enumerate(joins, 1)}
    start = first(msgs, is_("BridgeCreate", BridgeType="base"))
    end = first(msgs, is_("ConfbridgeEnd"), start)
    window = msgs[start : end + 1]
    peers = {
        m["Value"].split("-")[0]
        for m in window
        if m.name == "VarSet" and m["Variable"] == "BRIDGEPEER" and m["Value"]
    }
    names = {
        "BridgeCreate",
        "BridgeEnter",
        "BridgeLeave",
        "BridgeDestroy",
        "ConfbridgeStart",
        "ConfbridgeJoin",
        "ConfbridgeLeave",
        "ConfbridgeEnd",
        "DeviceStateChange",
        "VarSet",
    }
    return tokens(window, roles, variables=("CONFBRIDGE_RESULT",), names=names), peers


def test_a_conference_follows_the_recording():
    """Open, two joins, the second leaves, the first leaves, the room ends; BRIDGEPEER is CBAnn."""
    real, real_peers = conference_window(recorded("confbridge"))
    ours, our_peers = conference_window(two_member_conference())
    assert ours == real
    assert real_peers == {"CBAnn/amilabsim"} and our_peers == {"CBAnn/amilab"}
