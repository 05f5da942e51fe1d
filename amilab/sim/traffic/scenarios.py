"""Call kinds the dialplan layer has no application for yet: blind transfer, parking, ConfBridge.

Built only from the model's public API (channels, bridges, ``emit``) and the
dialplan layer's Dial and lifecycle helpers. Event fields are those Asterisk
22 documents (``core-en_US.xml``, as in ``amilab/catalog/ami.json``); the
orders follow recordings of the real sandbox (``tests/asterisk/record_simulate.py``
writes them to ``tests/fixtures/asterisk22``):

* **transfer** (``blindtransfer.ami``): A calls B, they talk, B blind-transfers
  A to C. ``BLINDTRANSFER`` and a cleared ``BRIDGEPEER`` on both, A's
  ``Newexten`` at C, then ``BlindTransfer`` (the bridge as it was, two
  channels), then A leaves the bridge before B. B hangs up; A dials C.
* **park** (``park_blindtransfer.ami``, ``park_giveup.ami``,
  ``park_timeout.ami``): A calls B, they talk, B blind-transfers A to the
  lot's extension (700). ``ParkedCall`` comes first (no ``Parker*``
  snapshot, only ``ParkerDialString``: the parker's device), A moves from the
  call's bridge to the lot's holding bridge (``BridgeType: parking``, named
  after the lot, created on the first park and never destroyed), music on
  hold starts, and only then ``BlindTransfer``. A is then picked up by a phone
  dialling the space (``UnParkedCall``; A and the phone enter a new basic
  bridge), gives up (``ParkedCallGiveUp``) or times out (``ParkedCallTimeOut``).
* **conference** (``confbridge.ami``): a phone dials 800 and runs
  ``ConfBridge(room)``. The first one opens the room (``BridgeCreate`` of a
  softmix bridge, ``ConfbridgeStart``, device ``confbridge:<room>`` INUSE);
  each join is ``BridgeEnter`` then ``ConfbridgeJoin``, each leave
  ``ConfbridgeLeave`` then ``BridgeLeave``; the last leave ends the room.
  The room's announcer channel (``CBAnn/<room>-...``) is in the bridge without
  events of its own, so ``BridgeNumChannels`` counts one more than the phones
  and ``BRIDGEPEER`` names it.

Approximate (not recorded): the phone's side of a SIP REFER (``Hold``, and the
transferer hanging up at once: the recordings transfer over AMI), the
``park-dial`` call back to the parker after a timeout (``comebacktoorigin``),
the announcer's prompts (joins follow each other without the prompt's delay),
and a conference bridge destroyed at once after ``ConfbridgeEnd`` (the real
one goes when its announcer channel does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amilab.sim.dialplan.lifecycle import answer, teardown
from amilab.sim.model import (
    Bridge,
    Channel,
    ConferenceRoom,
    ParkingLot,
    PBXModel,
    bridge_snapshot,
    snapshot,
)
from amilab.sim.traffic.calls import (
    RING_RANGE,
    TALK_RANGE,
    CallPlan,
    Fate,
    answered,
    dial_phone,
    end_talk,
    incoming,
)

__all__ = ["CONFERENCE_EXTEN", "SCENARIO_FATES"]

#: The extension phones dial to join a conference (a teaching dialplan's ``ConfBridge``).
CONFERENCE_EXTEN = "800"
#: The room used when the PBX configures none, as confbridge.conf's sample does.
DEFAULT_ROOM = "amilab"
#: How long a participant stays in a conference (seconds): longer than a call, so
#: rooms hold several phones at once at ordinary call rates.
CONFERENCE_STAY = (30.0, 300.0)
#: How long a parked call waits before it is picked up or given up (seconds).
PARKED_WAIT = (5.0, 40.0)
#: Shares of parked calls that are picked up or given up; the rest time out.
RETRIEVE_SHARE, GIVE_UP_SHARE = 0.6, 0.2
#: Parking's holding bridge and ConfBridge's mixing bridge, as their modules create them.
_PARKING = {
    "BridgeType": "parking",
    "BridgeTechnology": "holding_bridge",
    "BridgeCreator": "Parking",
}
_SOFTMIX = {"BridgeType": "base", "BridgeTechnology": "softmix", "BridgeCreator": "ConfBridge"}


# -- bridges of other kinds than Dial's basic one ---------------------------------
@dataclass(eq=False)
class _Special:
    """A parking or conference bridge: the model's Bridge plus its own snapshot values.

    ``hidden`` channels count in ``BridgeNumChannels`` without events of their
    own (ConfBridge's announcer, confbridge.ami).
    """

    bridge: Bridge
    values: dict[str, str]
    hidden: int = 0

    def headers(self) -> list[tuple[str, str]]:
        count = str(len(self.bridge.channels) + self.hidden)
        values = {**self.values, "BridgeNumChannels": count}
        return [(k, values.get(k, v)) for k, v in bridge_snapshot(self.bridge)]


def _open(pbx: PBXModel, values: dict[str, str]) -> _Special:
    bridge = Bridge(pbx.new_bridge_id(), created=pbx.clock.now())
    pbx.bridges[bridge.uniqueid] = bridge
    special = _Special(bridge, values)
    pbx.emit("BridgeCreate", "call", special.headers())
    return special


def _enter(pbx: PBXModel, special: _Special, channel: Channel) -> None:
    special.bridge.channels.append(channel)
    channel.bridge = special.bridge.uniqueid
    pbx.emit("BridgeEnter", "call", [*special.headers(), *snapshot(channel)])


def _leave(pbx: PBXModel, special: _Special, channel: Channel) -> None:
    """``BridgeLeave`` (the bridge stays; :func:`_close` destroys it)."""
    channel.bridge = ""
    if channel in special.bridge.channels:
        special.bridge.channels.remove(channel)
        pbx.emit("BridgeLeave", "call", [*special.headers(), *snapshot(channel)])


def _close(pbx: PBXModel, special: _Special) -> None:
    """``BridgeDestroy`` of an empty bridge."""
    special.hidden = 0
    if pbx.bridges.pop(special.bridge.uniqueid, None) is not None:
        pbx.emit("BridgeDestroy", "call", special.headers())


# -- blind transfer -----------------------------------------------------------------
@dataclass(eq=False)
class _Transfer:
    """A two-party bridge about to be transferred, as ``BlindTransfer`` will show it."""

    transferer: Channel
    transferee: Channel
    headers: list[tuple[str, str]]


def _start_transfer(pbx: PBXModel, transferee: Channel) -> _Transfer | None:
    """The bridged peer of ``transferee`` and the event's snapshots, taken before any change."""
    bridge = pbx.bridges.get(transferee.bridge)
    peers = [c for c in bridge.channels if c is not transferee] if bridge else []
    if bridge is None or len(peers) != 1:
        return None
    transferer = peers[0]
    headers = [
        ("Result", "Success"),
        *snapshot(transferer, "Transferer"),
        *snapshot(transferee, "Transferee"),
        *bridge_snapshot(bridge),
    ]
    return _Transfer(transferer, transferee, headers)


def _announce(pbx: PBXModel, xfer: _Transfer, context: str, exten: str) -> None:
    """The ``BlindTransfer`` event (a REFER from the phone: ``IsExternal: Yes``)."""
    where = [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)]
    pbx.emit("BlindTransfer", "call", [*xfer.headers, *where])


def _transferer_hangs_up(pbx: PBXModel, transferer: Channel) -> None:
    """The transferring phone hangs up: it leaves the (now empty) bridge and ends."""
    if transferer.bridge:
        pbx.set_var(transferer, "BRIDGEPEER", "")
    teardown(pbx, transferer, 16)


def _blind_transfer(pbx: PBXModel, transferee: Channel, context: str, exten: str) -> bool:
    """``transferee``'s peer sends it to context/exten (blindtransfer.ami's order)."""
    xfer = _start_transfer(pbx, transferee)
    if xfer is None:
        return False
    transferer = xfer.transferer
    pbx.set_var(transferer, "BLINDTRANSFER", transferee.name)
    pbx.set_var(transferee, "BLINDTRANSFER", transferer.name)
    pbx.set_var(transferer, "BRIDGEPEER", "")
    pbx.set_var(transferee, "BRIDGEPEER", "")
    transferee.context, transferee.exten, transferee.priority = context, exten, 1
    pbx.newexten(transferee, transferee.application, transferee.data)
    _announce(pbx, xfer, context, exten)
    pbx.bridge_leave(transferee)
    pbx.bridge_leave(transferer)
    teardown(pbx, transferer, 16)
    return True


def transfer(plan: CallPlan) -> None:
    """A calls B; after talking, B blind-transfers A to C, who answers; A and C talk."""
    if len(plan.phones) < 3:
        answered(plan)
        return
    pbx = plan.pbx
    a, b, c = plan.pick(3)
    ring, talk = plan.between(RING_RANGE), plan.between(TALK_RANGE)
    ring2, talk2 = plan.between(RING_RANGE), plan.between(TALK_RANGE)
    caller = incoming(pbx, a, b)
    dial_phone(pbx, caller, b, f"answer:{ring}")

    def transfer_now() -> None:
        caller.timer = None
        if caller.hungup or not _blind_transfer(pbx, caller, caller.context, c):
            return
        dial_phone(pbx, caller, c, f"answer:{ring2}")
        caller.timer = pbx.clock.call_later(ring2 + talk2, lambda: end_talk(pbx, caller, True))

    caller.timer = pbx.clock.call_later(ring + talk, transfer_now)


# -- parking ------------------------------------------------------------------------
@dataclass(eq=False)
class _Parked:
    """One parked call: where, since when, and the parker's device."""

    lot: ParkingLot
    space: int
    channel: Channel
    parker_dialstring: str
    since: float

    @property
    def device(self) -> str:
        """The space's device state name (``park:701@parkedcalls``)."""
        return f"park:{self.space}@{self.lot.context}"

    def fields(self, pbx: PBXModel, retriever: Channel | None = None) -> list[tuple[str, str]]:
        """``Parkee*``, ``Retriever*`` if given, then the lot's fields.

        The recordings carry no ``Parker*`` snapshot (park_blindtransfer.ami).
        """
        waited = int(pbx.clock.now() - self.since)
        return [
            *snapshot(self.channel, "Parkee"),
            *(snapshot(retriever, "Retriever") if retriever is not None else []),
            ("ParkerDialString", self.parker_dialstring),
            ("Parkinglot", self.lot.name),
            ("ParkingSpace", str(self.space)),
            ("ParkingTimeout", str(max(0, self.lot.timeout - waited))),
            ("ParkingDuration", str(waited)),
        ]


@dataclass
class _Lots:
    """Parking state that outlives one call: each lot's bridge and its parked calls."""

    bridges: dict[str, _Special] = field(default_factory=dict)
    parked: dict[tuple[str, int], _Parked] = field(default_factory=dict)

    def free_space(self, lot: ParkingLot) -> int | None:
        for space in range(lot.first_space, lot.last_space + 1):
            if (lot.name, space) not in self.parked:
                return space
        return None

    def bridge(self, pbx: PBXModel, lot: ParkingLot) -> _Special:
        """The lot's holding bridge, created on its first park (park_blindtransfer.ami)."""
        if lot.name not in self.bridges:
            self.bridges[lot.name] = _open(pbx, {**_PARKING, "BridgeName": lot.name})
        return self.bridges[lot.name]


def _lot(pbx: PBXModel) -> ParkingLot:
    """The PBX's first parking lot, or res_parking's ``default`` lot (always present)."""
    lots = pbx.parking_lots
    return lots[sorted(lots)[0]] if lots else ParkingLot()


def _state(plan: CallPlan, key: str, make: Any) -> Any:
    if key not in plan.state:
        plan.state[key] = make()
    return plan.state[key]


def park(plan: CallPlan) -> None:
    """A calls B; after talking, B parks A; A is picked up, gives up or times out."""
    if len(plan.phones) < 3:
        answered(plan)
        return
    pbx, rng = plan.pbx, plan.rng
    a, b, retriever = plan.pick(3)
    ring, talk = plan.between(RING_RANGE), plan.between(TALK_RANGE)
    wait, outcome, talk2 = plan.between(PARKED_WAIT), rng.random(), plan.between(TALK_RANGE)
    caller = incoming(pbx, a, b)
    dial_phone(pbx, caller, b, f"answer:{ring}")
    lots: _Lots = _state(plan, "parking", _Lots)

    def park_now() -> None:
        caller.timer = None
        lot = _lot(pbx)
        space = lots.free_space(lot)
        if caller.hungup:
            return
        if space is None:  # a full lot: the transfer fails and the call just ends
            end_talk(pbx, caller, True)
            return
        call = _park(pbx, lots, lot, space, caller)
        if call is None:
            return
        if outcome < RETRIEVE_SHARE and wait < lot.timeout:
            pbx.clock.call_later(wait, lambda: _retrieve(pbx, lots, call, retriever, talk2))
        elif outcome < RETRIEVE_SHARE + GIVE_UP_SHARE and wait < lot.timeout:
            pbx.clock.call_later(wait, lambda: _give_up(pbx, lots, call))
        else:
            pbx.clock.call_later(lot.timeout, lambda: _time_out(pbx, lots, call, ring, talk2))

    caller.timer = pbx.clock.call_later(ring + talk, park_now)


def _park(
    pbx: PBXModel, lots: _Lots, lot: ParkingLot, space: int, parkee: Channel
) -> _Parked | None:
    """The parkee's peer blind-transfers it to the lot's extension (park_blindtransfer.ami)."""
    xfer = _start_transfer(pbx, parkee)
    if xfer is None:
        return None
    transferer = xfer.transferer
    call = _Parked(lot, space, parkee, transferer.device, pbx.clock.now())
    lots.parked[(lot.name, space)] = call
    pbx.emit("ParkedCall", "call", call.fields(pbx))
    holding = lots.bridge(pbx, lot)
    pbx.set_var(parkee, "BLINDTRANSFER", transferer.name)
    pbx.bridge_leave(parkee)
    pbx.device_state(call.device, "INUSE")
    _enter(pbx, holding, parkee)
    pbx.set_var(parkee, "BLINDTRANSFER", "")
    pbx.set_var(parkee, "BRIDGEPEER", "")
    pbx.emit("MusicOnHoldStart", "call", [*snapshot(parkee), ("Class", "default")])
    _announce(pbx, xfer, lot.context, lot.exten)
    _transferer_hangs_up(pbx, transferer)
    return call


def _unpark(
    pbx: PBXModel, lots: _Lots, call: _Parked, event: str, retriever: Channel | None = None
) -> None:
    """Music stops, the space frees, ``event``, the parkee leaves the lot.

    Each ending in its recording's order: park_blindtransfer.ami (the space's
    NOT_INUSE before ``UnParkedCall``), park_giveup.ami (after
    ``ParkedCallGiveUp``), park_timeout.ami (``ParkedCallTimeOut`` after the
    parkee has left for ``park-dial``). res_parking publishes them from other
    threads, hence the differences.
    """
    lots.parked.pop((call.lot.name, call.space), None)
    pbx.emit_channel("MusicOnHoldStop", call.channel)
    if event == "ParkedCallGiveUp":
        pbx.emit(event, "call", call.fields(pbx, retriever))
    pbx.device_state(call.device, "NOT_INUSE")
    if event == "UnParkedCall":
        pbx.emit(event, "call", call.fields(pbx, retriever))
    _leave(pbx, lots.bridges[call.lot.name], call.channel)


def _retrieve(pbx: PBXModel, lots: _Lots, call: _Parked, phone: str, talk: float) -> None:
    """A phone dials the space and ``ParkedCall()`` bridges it with the parkee."""
    parkee = call.channel
    if parkee.hungup:
        return
    retriever = incoming(pbx, phone, str(call.space))
    retriever.context = call.lot.context
    pbx.newexten(retriever, "ParkedCall", f"{call.lot.name},{call.space}")
    answer(pbx, retriever)
    bridge = pbx.create_bridge()
    _unpark(pbx, lots, call, "UnParkedCall", retriever)
    pbx.bridge_enter(bridge, parkee)
    pbx.bridge_enter(bridge, retriever)
    pbx.set_var(parkee, "BRIDGEPEER", retriever.name)
    pbx.set_var(retriever, "BRIDGEPEER", parkee.name)
    pbx.set_connected_line(parkee, retriever.cid_num, retriever.cid_name)
    pbx.set_connected_line(retriever, parkee.cid_num, parkee.cid_name)
    pbx.device_state(retriever.device, "INUSE")
    retriever.timer = pbx.clock.call_later(talk, lambda: end_talk(pbx, retriever, True))


def _give_up(pbx: PBXModel, lots: _Lots, call: _Parked) -> None:
    """The parked caller hangs up first (park_giveup.ami)."""
    if call.channel.hungup:
        return
    _unpark(pbx, lots, call, "ParkedCallGiveUp")
    teardown(pbx, call.channel, 16)


def _time_out(pbx: PBXModel, lots: _Lots, call: _Parked, ring: float, talk: float) -> None:
    """``parkingtime`` ran out: ``ParkedCallTimeOut``; the parkee calls the parker back."""
    parkee = call.channel
    if parkee.hungup:
        return
    _unpark(pbx, lots, call, "ParkedCallTimeOut")
    # comebacktoorigin: to park-dial,<PARKER_FLAT> (park_timeout.ami), which dials the parker.
    parker = call.parker_dialstring.partition("/")[2]
    parkee.context, parkee.exten, parkee.priority = "park-dial", f"PJSIP_{parker}", 1
    pbx.newexten(parkee, parkee.application, parkee.data)
    pbx.emit("ParkedCallTimeOut", "call", call.fields(pbx))  # Parkee* already at park-dial
    if parker not in pbx.endpoints:
        teardown(pbx, parkee, 16)
        return
    dial_phone(pbx, parkee, parker, f"answer:{ring}")
    parkee.timer = pbx.clock.call_later(ring + talk, lambda: end_talk(pbx, parkee, True))


# -- conferences ------------------------------------------------------------------
@dataclass(eq=False)
class _Room:
    """An open conference: its mixing bridge, its announcer and who is in it."""

    name: str
    bridge: _Special
    announcer: str
    members: list[Channel] = field(default_factory=list)

    def headers(self) -> list[tuple[str, str]]:
        return [("Conference", self.name), *self.bridge.headers()]


def _room_name(pbx: PBXModel, plan: CallPlan) -> str:
    rooms: dict[str, ConferenceRoom] = pbx.conferences
    return plan.rng.choice(sorted(rooms)) if rooms else DEFAULT_ROOM


def _open_room(pbx: PBXModel, name: str) -> _Room:
    """``BridgeCreate`` (no channel yet), ``ConfbridgeStart`` (the announcer in), INUSE."""
    bridge = _open(pbx, {**_SOFTMIX, "BridgeName": name})
    room = _Room(name, bridge, f"CBAnn/{name}-{pbx.next_local_id()};1")
    bridge.hidden = 1
    pbx.emit("ConfbridgeStart", "call", room.headers())
    pbx.device_state(f"confbridge:{name}", "INUSE")
    return room


def conference(plan: CallPlan) -> None:
    """A phone dials the conference extension, joins the room, stays a while, leaves."""
    pbx = plan.pbx
    (phone,) = plan.pick(1)
    room_name = _room_name(pbx, plan)
    stay = plan.between(CONFERENCE_STAY)
    rooms: dict[str, _Room] = _state(plan, "rooms", dict)
    channel = incoming(pbx, phone, CONFERENCE_EXTEN)
    pbx.newexten(channel, "Answer", "")
    answer(pbx, channel)
    channel.priority = 2
    pbx.newexten(channel, "ConfBridge", room_name)
    room = rooms.get(room_name)
    if room is None:
        room = rooms[room_name] = _open_room(pbx, room_name)
    room.members.append(channel)
    _enter(pbx, room.bridge, channel)
    for member in room.members:
        pbx.set_var(member, "BRIDGEPEER", room.announcer)
    pbx.emit("ConfbridgeJoin", "call", [*room.headers(), *snapshot(channel), *_MEMBER])
    pbx.device_state(channel.device, "INUSE")
    channel.timer = pbx.clock.call_later(stay, lambda: _leave_room(pbx, rooms, room, channel))


#: A participant's ``Admin`` and ``Muted`` (confbridge.conf's default_user profile).
_MEMBER = (("Admin", "No"), ("Muted", "No"))


def _leave_room(pbx: PBXModel, rooms: dict[str, _Room], room: _Room, channel: Channel) -> None:
    """The phone hangs up: ``ConfbridgeLeave``, ``BridgeLeave``; the last one ends the room."""
    channel.timer = None
    if channel.hungup:
        return
    pbx.set_var(channel, "BRIDGEPEER", "")
    pbx.emit("ConfbridgeLeave", "call", [*room.headers(), *snapshot(channel), _MEMBER[0]])
    _leave(pbx, room.bridge, channel)
    room.members.remove(channel)
    for member in room.members:
        pbx.set_var(member, "BRIDGEPEER", room.announcer)
    pbx.set_var(channel, "CONFBRIDGE_RESULT", "HANGUP")
    if not room.members:
        pbx.device_state(f"confbridge:{room.name}", "NOT_INUSE")
        pbx.emit("ConfbridgeEnd", "call", room.headers())
        _close(pbx, room.bridge)
        rooms.pop(room.name, None)
    teardown(pbx, channel, 16)


#: The scenarios by their ``mix`` name.
SCENARIO_FATES: dict[str, Fate] = {
    "transfer": transfer,
    "park": park,
    "conference": conference,
}
