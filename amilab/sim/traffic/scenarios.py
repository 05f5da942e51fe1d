"""Call kinds the dialplan layer has no application for yet: blind transfer, parking, ConfBridge.

Built only from the model's public API (channels, bridges, ``emit``) and the
dialplan layer's Dial and lifecycle helpers. The event names and each event's
fields, in order, are those Asterisk 22 documents (``core-en_US.xml``, as in
``amilab/catalog/ami.json``): ``BlindTransfer``; ``ParkedCall``,
``UnParkedCall``, ``ParkedCallTimeOut``, ``ParkedCallGiveUp``;
``ConfbridgeStart``, ``ConfbridgeJoin``, ``ConfbridgeLeave``, ``ConfbridgeEnd``.
The sandbox's dialplan has none of them, so there is no recording to copy:
where these events fall among the channel and bridge events is an
approximation after the modules that send them (main/bridge.c
``ast_bridge_transfer_blind``, res/parking/parking_applications.c and
parking_bridge_features.c, apps/app_confbridge.c), and the parking and
ConfBridge bridges carry the type, technology and creator those modules give
them (holding bridges for parking, softmix for ConfBridge).

* **transfer**: A calls B, they talk, B blind-transfers A to C (a SIP REFER:
  ``IsExternal: Yes``); B hangs up, A dials C, A and C talk.
* **park**: A calls B, they talk, B transfers A to the parking extension;
  A waits in the lot's holding bridge with music on hold until a phone picks
  the space up (``UnParkedCall``), A gives up (``ParkedCallGiveUp``) or the
  lot's ``parkingtime`` runs out (``ParkedCallTimeOut``; A is then called
  back to B, as ``comebacktoorigin=yes`` does, through ``park-dial``).
* **conference**: a phone dials the conference extension, ``ConfBridge``
  answers and joins it to the room (``ConfbridgeStart`` for the first),
  it stays a while and leaves (``ConfbridgeEnd`` after the last).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amilab.sim.dialplan.lifecycle import answer, connect, leave_bridge, teardown
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
_HOLDING = {
    "BridgeType": "holding",
    "BridgeTechnology": "holding_bridge",
    "BridgeCreator": "Parking",
}
_SOFTMIX = {"BridgeType": "base", "BridgeTechnology": "softmix", "BridgeCreator": "ConfBridge"}


# -- bridges of other kinds than Dial's basic one ---------------------------------
@dataclass(eq=False)
class _Special:
    """A parking or conference bridge: the model's Bridge plus its own snapshot values."""

    bridge: Bridge
    values: dict[str, str]

    def headers(self) -> list[tuple[str, str]]:
        return [(k, self.values.get(k, v)) for k, v in bridge_snapshot(self.bridge)]


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
    """``BridgeLeave``; the caller destroys the bridge when it is empty (:func:`_close`)."""
    bridge = special.bridge
    channel.bridge = ""
    if channel in bridge.channels:
        bridge.channels.remove(channel)
        pbx.emit("BridgeLeave", "call", [*special.headers(), *snapshot(channel)])


def _close(pbx: PBXModel, special: _Special) -> None:
    """``BridgeDestroy`` of an empty bridge."""
    if special.bridge.channels or special.bridge.uniqueid not in pbx.bridges:
        return
    del pbx.bridges[special.bridge.uniqueid]
    pbx.emit("BridgeDestroy", "call", special.headers())


# -- transfer -------------------------------------------------------------------
def _bridged_peer(pbx: PBXModel, channel: Channel) -> Channel | None:
    bridge = pbx.bridges.get(channel.bridge)
    peers = [c for c in bridge.channels if c is not channel] if bridge else []
    return peers[0] if len(peers) == 1 else None


def _blind_transfer(pbx: PBXModel, transferee: Channel, exten: str) -> Channel | None:
    """The transferer (bridged with ``transferee``) sends it to ``exten``; it hangs up.

    ``BlindTransfer`` first, with the bridge as it was; then both leave the
    bridge and the transferer's channel ends (cause 16). Returns the
    transferer, or None if the call is no longer bridged.
    """
    transferer = _bridged_peer(pbx, transferee)
    bridge = pbx.bridges.get(transferee.bridge)
    if transferer is None or bridge is None:
        return None
    pbx.emit(
        "BlindTransfer",
        "call",
        [
            ("Result", "Success"),
            *snapshot(transferer, "Transferer"),
            *snapshot(transferee, "Transferee"),
            *bridge_snapshot(bridge),
            ("IsExternal", "Yes"),
            ("Context", transferee.context),
            ("Extension", exten),
        ],
    )
    leave_bridge(pbx, transferer)
    teardown(pbx, transferer, 16)
    leave_bridge(pbx, transferee)
    return transferer


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
        if caller.hungup or _blind_transfer(pbx, caller, c) is None:
            return
        caller.exten, caller.priority = c, 1
        dial_phone(pbx, caller, c, f"answer:{ring2}")
        caller.timer = pbx.clock.call_later(ring2 + talk2, lambda: end_talk(pbx, caller, True))

    caller.timer = pbx.clock.call_later(ring + talk, transfer_now)


# -- parking --------------------------------------------------------------------
@dataclass(eq=False)
class _Parked:
    """One parked call: where, since when, and who parked it (a snapshot: the parker is gone)."""

    lot: ParkingLot
    space: int
    channel: Channel
    holding: _Special
    parker: list[tuple[str, str]]
    parker_dialstring: str
    since: float

    def fields(self, pbx: PBXModel, *, parker: bool = True) -> list[tuple[str, str]]:
        """``Parkee*``, ``Parker*`` and the lot's own fields.

        ``ParkedCall`` documents no ``Parker*`` snapshot, only ``ParkerDialString``;
        ``UnParkedCall``, ``ParkedCallTimeOut`` and ``ParkedCallGiveUp`` carry it.
        """
        waited = int(pbx.clock.now() - self.since)
        return [
            *snapshot(self.channel, "Parkee"),
            *(self.parker if parker else []),
            ("ParkerDialString", self.parker_dialstring),
            ("Parkinglot", self.lot.name),
            ("ParkingSpace", str(self.space)),
            ("ParkingTimeout", str(max(0, self.lot.timeout - waited))),
            ("ParkingDuration", str(waited)),
        ]


def _lot(pbx: PBXModel) -> ParkingLot:
    """The PBX's first parking lot, or res_parking's ``default`` lot (always present)."""
    lots = pbx.parking_lots
    return lots[sorted(lots)[0]] if lots else ParkingLot()


def _free_space(parked: dict[tuple[str, int], _Parked], lot: ParkingLot) -> int | None:
    for space in range(lot.first_space, lot.last_space + 1):
        if (lot.name, space) not in parked:
            return space
    return None


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
    parked: dict[tuple[str, int], _Parked] = plan.state.setdefault("parked", {})

    def park_now() -> None:
        caller.timer = None
        lot = _lot(pbx)
        space = _free_space(parked, lot)
        parker = _bridged_peer(pbx, caller)
        if caller.hungup or parker is None or space is None:
            end_talk(pbx, caller, True)  # nothing to park, or a full lot: hang up
            return
        parker_fields = snapshot(parker, "Parker")
        dialstring = parker.device
        _blind_transfer(pbx, caller, lot.exten)
        holding = _open(pbx, {**_HOLDING, "BridgeName": f"Parking/{lot.name}"})
        call = _Parked(lot, space, caller, holding, parker_fields, dialstring, pbx.clock.now())
        parked[(lot.name, space)] = call
        _enter(pbx, holding, caller)
        pbx.emit("ParkedCall", "call", call.fields(pbx, parker=False))
        pbx.emit("MusicOnHoldStart", "call", [*snapshot(caller), ("Class", "default")])
        if outcome < RETRIEVE_SHARE and wait < lot.timeout:
            pbx.clock.call_later(wait, lambda: _retrieve(pbx, parked, call, retriever, talk2))
        elif outcome < RETRIEVE_SHARE + GIVE_UP_SHARE and wait < lot.timeout:
            pbx.clock.call_later(wait, lambda: _give_up(pbx, parked, call))
        else:
            pbx.clock.call_later(lot.timeout, lambda: _time_out(pbx, parked, call, ring, talk2))

    caller.timer = pbx.clock.call_later(ring + talk, park_now)


def _unpark(pbx: PBXModel, parked: dict[tuple[str, int], _Parked], call: _Parked) -> None:
    """The parked channel leaves the lot: music stops, the holding bridge empties."""
    parked.pop((call.lot.name, call.space), None)
    pbx.emit_channel("MusicOnHoldStop", call.channel)
    _leave(pbx, call.holding, call.channel)
    _close(pbx, call.holding)


def _retrieve(
    pbx: PBXModel, parked: dict[tuple[str, int], _Parked], call: _Parked, phone: str, talk: float
) -> None:
    """A phone dials the space: ``ParkedCall()`` answers it, ``UnParkedCall``, they talk."""
    parkee = call.channel
    if parkee.hungup:
        return
    retriever = incoming(pbx, phone, str(call.space))
    retriever.context = call.lot.context
    pbx.newexten(retriever, "ParkedCall", f"{call.lot.name},{call.space}")
    answer(pbx, retriever)
    pbx.emit("UnParkedCall", "call", [*call.fields(pbx), *snapshot(retriever, "Retriever")])
    _unpark(pbx, parked, call)
    connect(pbx, retriever, parkee)
    retriever.timer = pbx.clock.call_later(talk, lambda: end_talk(pbx, retriever, True))


def _give_up(pbx: PBXModel, parked: dict[tuple[str, int], _Parked], call: _Parked) -> None:
    """The parked caller hangs up first: ``ParkedCallGiveUp``, then its channel ends."""
    if call.channel.hungup:
        return
    pbx.emit("ParkedCallGiveUp", "call", call.fields(pbx))
    _unpark(pbx, parked, call)
    teardown(pbx, call.channel, 16)


def _time_out(
    pbx: PBXModel, parked: dict[tuple[str, int], _Parked], call: _Parked, ring: float, talk: float
) -> None:
    """``parkingtime`` ran out: ``ParkedCallTimeOut``, then A is called back to the parker."""
    parkee = call.channel
    if parkee.hungup:
        return
    pbx.emit("ParkedCallTimeOut", "call", call.fields(pbx))
    _unpark(pbx, parked, call)
    parker = call.parker_dialstring.partition("/")[2]
    if parker not in pbx.endpoints:
        teardown(pbx, parkee, 16)
        return
    parkee.context, parkee.exten, parkee.priority = "park-dial", f"PJSIP_{parker}", 1
    dial_phone(pbx, parkee, parker, f"answer:{ring}")
    parkee.timer = pbx.clock.call_later(ring + talk, lambda: end_talk(pbx, parkee, True))


# -- conferences ----------------------------------------------------------------
@dataclass(eq=False)
class _Room:
    """An open conference: its mixing bridge and who is in it."""

    name: str
    bridge: _Special
    members: list[Channel] = field(default_factory=list)

    def headers(self) -> list[tuple[str, str]]:
        return [("Conference", self.name), *self.bridge.headers()]


def _room_name(pbx: PBXModel, plan: CallPlan) -> str:
    rooms: dict[str, ConferenceRoom] = pbx.conferences
    return plan.rng.choice(sorted(rooms)) if rooms else DEFAULT_ROOM


def conference(plan: CallPlan) -> None:
    """A phone dials the conference extension, joins the room, stays a while, leaves."""
    pbx = plan.pbx
    (phone,) = plan.pick(1)
    room_name = _room_name(pbx, plan)
    stay = plan.between(CONFERENCE_STAY)
    rooms: dict[str, _Room] = plan.state.setdefault("rooms", {})
    channel = incoming(pbx, phone, CONFERENCE_EXTEN)
    pbx.newexten(channel, "Answer", "")
    answer(pbx, channel)
    channel.priority = 2
    pbx.newexten(channel, "ConfBridge", room_name)
    room = rooms.get(room_name)
    if room is None:
        values = {**_SOFTMIX, "BridgeName": room_name}
        room = rooms[room_name] = _Room(room_name, _open(pbx, values))
        pbx.emit("ConfbridgeStart", "call", room.headers())
    room.members.append(channel)
    pbx.emit("ConfbridgeJoin", "call", [*room.headers(), *snapshot(channel), *_member()])
    _enter(pbx, room.bridge, channel)
    pbx.device_state(channel.device, "INUSE")
    channel.timer = pbx.clock.call_later(stay, lambda: _leave_room(pbx, rooms, room, channel))


def _member() -> list[tuple[str, str]]:
    return [("Admin", "No"), ("Muted", "No")]


def _leave_room(pbx: PBXModel, rooms: dict[str, _Room], room: _Room, channel: Channel) -> None:
    """The participant hangs up: it leaves the bridge, then the conference; the last ends it."""
    channel.timer = None
    if channel.hungup:
        return
    _leave(pbx, room.bridge, channel)
    room.members.remove(channel)
    pbx.emit("ConfbridgeLeave", "call", [*room.headers(), *snapshot(channel), ("Admin", "No")])
    if not room.members:  # the conference ends before its bridge goes
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
