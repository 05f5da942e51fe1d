"""The simulated PBX's state: endpoints, channels, bridges, queues, variables, AstDB.

The model is plain data plus :meth:`PBX.emit`, which turns one event into
wire bytes once (through :class:`~amilab.protocol.ServerProtocol`) and hands
them to every listener (the server's connections, a test's collector). It runs
on one thread, the simulator's loop; other threads go through
``pbx.clock.run_threadsafe``. Call progress lives in :mod:`amilab.sim.calls`.

Defaults mirror the real sandbox in ``tests/asterisk/etc`` (context
``amilab``, endpoints 100/101/102/200, queue ``support`` with two Local
members), so the same actions work against both.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from amilab.protocol import ServerProtocol
from amilab.sim.clock import Clock, VirtualClock

__all__ = [
    "CAUSE_TEXT",
    "PBX",
    "STATE_DESC",
    "Bridge",
    "Channel",
    "Endpoint",
    "Queue",
    "QueueMember",
]

#: ast_state2str: channel state number -> ChannelStateDesc.
STATE_DESC = {
    0: "Down",
    1: "Rsrvd",
    2: "OffHook",
    3: "Dialing",
    4: "Ring",
    5: "Ringing",
    6: "Up",
    7: "Busy",
}
DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
#: Q.850 causes the simulator produces, with Asterisk's ``Cause-txt``.
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    34: "Circuit/channel congestion",
}
UNKNOWN = "<unknown>"
#: ``CID-CallingPres`` of NewCallerid: ast_describe_caller_presentation(0), as 22 sends it.
CALLING_PRES = "0 (Presentation Allowed, Not Screened)"
#: AMI event listener: (event name, privilege class, encoded bytes).
Listener = Callable[[str, str, bytes], None]

ASTERISK_VERSION = "22.10.1+amilab-sim"
DEFAULT_CONTEXT = "amilab"


@dataclass
class Endpoint:
    """A PJSIP endpoint (one phone) and its device state."""

    name: str
    callerid_name: str = ""
    context: str = DEFAULT_CONTEXT
    transport: str = "transport-udp"
    device_state: str = "Not in use"
    registered: bool = True
    active_channels: int = 0

    @property
    def callerid(self) -> str:
        return f'"{self.callerid_name}" <{self.name}>'

    @property
    def contact(self) -> str:
        return f"{self.name}/sip:{self.name}@127.0.0.1:5060" if self.registered else ""


@dataclass
class Channel:
    """One channel, with the snapshot fields every channel event carries."""

    name: str
    uniqueid: str
    linkedid: str
    state: int = DOWN
    cid_num: str = UNKNOWN
    cid_name: str = UNKNOWN
    conn_num: str = UNKNOWN
    conn_name: str = UNKNOWN
    language: str = "en"
    accountcode: str = ""
    context: str = DEFAULT_CONTEXT
    exten: str = "s"
    priority: int = 1
    application: str = ""
    data: str = ""
    created: float = 0.0
    variables: dict[str, str] = field(default_factory=dict)
    bridge: str = ""
    device: str = ""
    endpoint: str | None = None
    partner: Channel | None = None
    hungup: bool = False
    timer: Any = None
    dialed: list[Channel] = field(default_factory=list)
    on_answer: Callable[[Channel], None] | None = None
    on_fail: Callable[[int], None] | None = None
    in_dialplan: bool = False
    #: When this channel's Dial was answered / began (app_dial's ANSWEREDTIME, DIALEDTIME).
    dial_answered: float | None = None
    dial_started: float = 0.0
    #: The application that bridged it ("Dial" or "Queue"): only app_dial sets DIALSTATUS.
    dial_app: str = "Dial"
    #: Called once when the channel is destroyed (a queue member's call ends).
    on_hangup: Callable[[], None] | None = None

    @property
    def tech(self) -> str:
        return self.name.split("/", 1)[0]


@dataclass
class Bridge:
    uniqueid: str
    channels: list[Channel] = field(default_factory=list)
    created: float = 0.0


@dataclass
class QueueMember:
    interface: str
    name: str
    penalty: int = 0
    paused: bool = False
    calls_taken: int = 0
    last_call: int = 0
    in_call: bool = False
    membership: str = "static"
    last_pause: int = 0
    login_time: int = 0
    paused_reason: str = ""

    @property
    def status(self) -> int:
        """AST_DEVICE_* number: 1 not in use, 2 in use."""
        return 2 if self.in_call else 1


@dataclass
class Queue:
    name: str
    strategy: str = "ringall"
    members: list[QueueMember] = field(default_factory=list)
    callers: list[Channel] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: int = 0
    talktime: int = 0
    max: int = 0
    weight: int = 0
    servicelevel: int = 0
    #: app_queue's state per waiting caller (:mod:`amilab.sim.queues`), in arrival order.
    entries: list[Any] = field(default_factory=list)

    def member(self, interface: str) -> QueueMember | None:
        for m in self.members:
            if m.interface.lower() == interface.lower():
                return m
        return None


Dialplan = dict[str, dict[str, list[tuple[str, str]]]]


def default_dialplan() -> Dialplan:
    """The sandbox's ``extensions.conf`` as data: context -> exten -> [(app, data)]."""
    ctx: dict[str, list[tuple[str, str]]] = {
        "100": [("NoOp", "amilab 100"), ("Answer", ""), ("Wait", "1"), ("Hangup", "")],
        "101": [("NoOp", "amilab 101"), ("Answer", ""), ("Wait", "2"), ("Hangup", "")],
        "102": [("NoOp", "amilab 102"), ("Answer", ""), ("Wait", "30"), ("Hangup", "")],
        "200": [
            ("NoOp", "amilab 200"),
            ("Set", "CDR(userfield)=amilab"),
            ("Dial", "Local/100@amilab,10"),
            ("Hangup", ""),
        ],
        "300": [("NoOp", "amilab 300"), ("Answer", ""), ("Queue", "support,,,,10"), ("Hangup", "")],
        "400": [("NoOp", "amilab agent 400"), ("Answer", ""), ("Wait", "2"), ("Hangup", "")],
        "401": [("NoOp", "amilab agent 401"), ("Answer", ""), ("Wait", "2"), ("Hangup", "")],
        "500": [("NoOp", "amilab redirected"), ("Answer", ""), ("Wait", "2"), ("Hangup", "")],
        "echo": [("Answer", ""), ("Echo", ""), ("Hangup", "")],
        "h": [("NoOp", "amilab hangup handler")],
    }
    return {DEFAULT_CONTEXT: ctx}


DEFAULT_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("100", "Alice"),
    ("101", "Bob"),
    ("102", "Carol"),
    ("200", "Support Desk"),
)


def _default_queues(now: float) -> dict[str, Queue]:
    support = Queue(
        "support",
        members=[
            QueueMember("Local/400@amilab/n", "Agent 400", login_time=int(now)),
            QueueMember("Local/401@amilab/n", "Agent 401", login_time=int(now)),
        ],
    )
    return {"support": support, "sales": Queue("sales", strategy="rrmemory")}


class PBX:
    """The simulated Asterisk: state plus event emission. Runs on the sim loop only."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        endpoints: Iterable[str | tuple[str, str]] | Mapping[str, str] | None = None,
        seed: int | None = None,
        system_name: str = "",
    ) -> None:
        self.clock: Clock = clock or VirtualClock()
        self.rng = random.Random(seed)
        self.system_name = system_name
        self.version = ASTERISK_VERSION
        self.endpoints: dict[str, Endpoint] = {}
        for name, cid in _endpoint_pairs(endpoints):
            self.endpoints[name] = Endpoint(name, cid)
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.queues = _default_queues(self.clock.now())
        self.dialplan = default_dialplan()
        self.globals: dict[str, str] = {"AMILAB_GLOBAL": "hello"}
        self.astdb: dict[str, str] = {}
        self.device_states: dict[str, str] = {}
        self._deferred: list[tuple[str, str]] | None = None
        self.listeners: list[Listener] = []
        self.max_calls = 100
        #: Per-endpoint fate of the next call to it: "answer[:secs]", "busy", "noanswer".
        self.fates: dict[str, str] = {}
        self.default_fate = "answer"
        self.ring_time = 1.0
        self.processed_calls = 0
        self._channel_seq = 0
        self._local_seq = 0
        self._pjsip_seq = 0
        self.startup_time = self.clock.now()
        self.reload_time = self.startup_time
        self.traffic_ids = 0
        from amilab.sim.traffic import Traffic

        self.traffic = Traffic(self)

    # -- time -------------------------------------------------------------
    @property
    def uptime(self) -> int:
        return int(self.clock.now() - self.startup_time)

    @property
    def since_reload(self) -> int:
        return int(self.clock.now() - self.reload_time)

    def restart(self) -> None:
        """A fresh start: no channels or bridges, new startup and reload times."""
        for channel in list(self.channels.values()):
            if channel.timer is not None:
                channel.timer.cancel()
        self.channels.clear()
        self.bridges.clear()
        for queue in self.queues.values():
            queue.callers.clear()
            queue.entries.clear()
        self.startup_time = self.reload_time = self.clock.now()
        self.processed_calls = 0

    def reload(self) -> None:
        self.reload_time = self.clock.now()

    # -- events -----------------------------------------------------------
    def emit(
        self,
        name: str,
        category: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> bytes:
        """Encode one event (``Privilege: <category>,all`` first) and fan it out."""
        data = ServerProtocol.event(name, [("Privilege", f"{category},all"), *headers])
        for listener in list(self.listeners):
            listener(name, category, data)
        return data

    def emit_channel(
        self, name: str, channel: Channel, extra: Iterable[tuple[str, str]] = (), cat: str = "call"
    ) -> None:
        self.emit(name, cat, [*snapshot(channel), *extra])

    # -- identifiers ------------------------------------------------------
    def next_uniqueid(self) -> str:
        """``<startup epoch>.<n>``, as Asterisk numbers channels since it started."""
        uid = f"{int(self.startup_time)}.{self._channel_seq}"
        self._channel_seq += 1
        return uid

    def next_local_id(self) -> str:
        value = f"{self._local_seq:08x}"
        self._local_seq += 1
        return value

    def next_pjsip_id(self) -> str:
        value = f"{self._pjsip_seq:08x}"
        self._pjsip_seq += 1
        return value

    def new_bridge_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- channel lifecycle ------------------------------------------------
    def new_channel(
        self,
        name: str,
        *,
        linkedid: str | None = None,
        state: int = DOWN,
        context: str = DEFAULT_CONTEXT,
        exten: str = "s",
        cid: tuple[str, str] | None = None,
        endpoint: str | None = None,
        uniqueid: str | None = None,
        emit: bool = True,
    ) -> Channel:
        uid = uniqueid or self.next_uniqueid()
        channel = Channel(
            name,
            uid,
            linkedid or uid,
            state=state,
            context=context,
            exten=exten,
            created=self.clock.now(),
            endpoint=endpoint,
        )
        if cid is not None:
            channel.cid_num, channel.cid_name = cid
        channel.device = name.rsplit("-", 1)[0] if "-" in name else name
        self.channels[name] = channel
        if endpoint in self.endpoints:
            self.endpoints[endpoint].active_channels += 1
        if emit:
            self.emit_channel("Newchannel", channel)
        return channel

    def set_state(self, channel: Channel, state: int) -> None:
        if channel.state == state or channel.hungup:
            return
        channel.state = state
        self.emit_channel("Newstate", channel)

    def newexten(self, channel: Channel, app: str, data: str) -> None:
        channel.application, channel.data = app, data
        self.emit_channel(
            "Newexten",
            channel,
            [("Extension", channel.exten), ("Application", app), ("AppData", data)],
            cat="dialplan",
        )

    def set_caller_id(self, channel: Channel, num: str, name: str) -> None:
        """Change the caller ID: ``NewCallerid`` (with ``CID-CallingPres``, as 22 sends)."""
        channel.cid_num, channel.cid_name = num, name
        self.emit_channel("NewCallerid", channel, [("CID-CallingPres", CALLING_PRES)])

    def set_connected_line(self, channel: Channel, num: str, name: str) -> None:
        channel.conn_num, channel.conn_name = num, name
        self.emit_channel("NewConnectedLine", channel)

    def set_var(self, channel: Channel | None, name: str, value: str) -> None:
        if channel is None:
            self.globals[name] = value
            self.emit("VarSet", "dialplan", [("Variable", name), ("Value", value)])
            return
        channel.variables[name] = value
        self.emit_channel("VarSet", channel, [("Variable", name), ("Value", value)], "dialplan")

    def device_state(self, device: str, state: str) -> None:
        """Record a device state and emit DeviceStateChange (every change, as 22 does).

        Inside :meth:`deferred_device_states` the event waits for the block's end.
        """
        self.device_states[device] = state
        if self._deferred is not None:
            self._deferred.append((device, state))
        else:
            self.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])
        if device.startswith("PJSIP/"):
            endpoint = self.endpoints.get(device[6:])
            if endpoint is not None:
                endpoint.device_state = _ENDPOINT_STATE.get(state, endpoint.device_state)

    @contextlib.contextmanager
    def deferred_device_states(self) -> Iterator[None]:
        """Hold DeviceStateChange events back until the outermost block ends.

        Asterisk publishes device states from its devicestate thread, so after a
        hang-up they trail the channel events (hangup.ami: both NOT_INUSE last).
        """
        if self._deferred is not None:
            yield
            return
        self._deferred = []
        try:
            yield
        finally:
            held, self._deferred = self._deferred, None
            for device, state in held:
                self.emit("DeviceStateChange", "call", [("Device", device), ("State", state)])

    def destroy_channel(self, channel: Channel, cause: int) -> None:
        """Emit Hangup with ``Cause``/``Cause-txt`` and forget the channel."""
        if channel.hungup:
            return
        channel.hungup = True
        if channel.timer is not None:
            channel.timer.cancel()
        self.emit_channel(
            "Hangup", channel, [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, ""))]
        )
        self.channels.pop(channel.name, None)
        callback, channel.on_hangup = channel.on_hangup, None
        if callback is not None:
            callback()
        if channel.endpoint in self.endpoints:
            endpoint = self.endpoints[channel.endpoint]
            endpoint.active_channels = max(0, endpoint.active_channels - 1)

    # -- bridges ----------------------------------------------------------
    def create_bridge(self) -> Bridge:
        bridge = Bridge(self.new_bridge_id(), created=self.clock.now())
        self.bridges[bridge.uniqueid] = bridge
        self.emit("BridgeCreate", "call", bridge_snapshot(bridge))
        return bridge

    def bridge_enter(self, bridge: Bridge, channel: Channel) -> None:
        bridge.channels.append(channel)
        channel.bridge = bridge.uniqueid
        self.emit("BridgeEnter", "call", [*bridge_snapshot(bridge), *snapshot(channel)])

    def bridge_leave(self, channel: Channel) -> None:
        bridge = self.bridges.get(channel.bridge)
        channel.bridge = ""
        if bridge is None or channel not in bridge.channels:
            return
        bridge.channels.remove(channel)
        self.emit("BridgeLeave", "call", [*bridge_snapshot(bridge), *snapshot(channel)])
        if not bridge.channels:
            del self.bridges[bridge.uniqueid]
            self.emit("BridgeDestroy", "call", bridge_snapshot(bridge))

    # -- lookups ----------------------------------------------------------
    def find_channel(self, name: str) -> Channel | None:
        """By exact name, case-insensitively, or by Uniqueid."""
        channel = self.channels.get(name)
        if channel is not None:
            return channel
        lname = name.lower()
        for ch in self.channels.values():
            if ch.name.lower() == lname or ch.uniqueid == name:
                return ch
        return None

    def extension_exists(self, context: str, exten: str) -> bool:
        return exten in self.dialplan.get(context, {})


_ENDPOINT_STATE = {
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "RINGING": "Ringing",
    "BUSY": "Busy",
    "UNAVAILABLE": "Unavailable",
}

_SNAPSHOT_KEYS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)


def snapshot(channel: Channel, prefix: str = "") -> list[tuple[str, str]]:
    """The channel snapshot headers, in ``ast_manager_build_channel_state_string`` order."""
    values = (
        channel.name,
        str(channel.state),
        STATE_DESC.get(channel.state, "Unknown"),
        channel.cid_num,
        channel.cid_name,
        channel.conn_num,
        channel.conn_name,
        channel.language,
        channel.accountcode,
        channel.context,
        channel.exten,
        str(channel.priority),
        channel.uniqueid,
        channel.linkedid,
    )
    return [(prefix + key, value) for key, value in zip(_SNAPSHOT_KEYS, values, strict=True)]


def bridge_snapshot(bridge: Bridge) -> list[tuple[str, str]]:
    return [
        ("BridgeUniqueid", bridge.uniqueid),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", UNKNOWN),
        ("BridgeName", UNKNOWN),
        ("BridgeNumChannels", str(len(bridge.channels))),
        ("BridgeVideoSourceMode", "none"),
    ]


def _endpoint_pairs(
    endpoints: Iterable[str | tuple[str, str]] | Mapping[str, str] | None,
) -> list[tuple[str, str]]:
    if endpoints is None:
        return list(DEFAULT_ENDPOINTS)
    if isinstance(endpoints, Mapping):
        return [(str(k), str(v)) for k, v in endpoints.items()]
    pairs = []
    for item in endpoints:
        if isinstance(item, str):
            pairs.append((item, f"Phone {item}"))
        else:
            pairs.append((str(item[0]), str(item[1])))
    return pairs
