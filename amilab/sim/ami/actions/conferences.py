"""Parking and ConfBridge actions: ParkedCalls, Parkinglots, Confbridge*.

Texts and framing are Asterisk 22's res_parking and app_confbridge, as
recorded in ``tests/fixtures/asterisk22/breadth.json``. res_parking always
has its ``default`` lot (res_parking.conf's defaults), so ``Parkinglots``
lists it even on a PBX configured with none. A ConfBridge conference exists
only while someone is in it; the simulator's dialplan has no ``ConfBridge``
application yet, so every Confbridge action finds "No active conferences."
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.actions.channels import park_fields
from amilab.sim.ami.lists import aid, event_list
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import ParkingLot

__all__: list[str] = []

respond = ServerProtocol.response
event = ServerProtocol.event

NO_NAME = "No Conference name provided."
NO_CONFERENCES = "No active conferences."


def _lots(ctx: ActionContext) -> list[ParkingLot]:
    return list(ctx.pbx.parking_lots.values()) or [ParkingLot()]


@action("Parkinglots", "call", "Get a list of parking lots")
def parking_lots(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        event(
            "Parkinglot",
            [
                ("Name", lot.name),
                ("StartSpace", str(lot.first_space)),
                ("StopSpace", str(lot.last_space)),
                ("Timeout", str(lot.timeout)),
            ],
            action_id=msg.action_id,
        )
        for lot in _lots(ctx)
    ]
    return event_list(msg, "Parking lots will follow", items, "ParkinglotsComplete")


@action("ParkedCalls", "call", "List parked calls.")
def parked_calls(ctx: ActionContext, msg: Message) -> Reply:
    wanted = msg.get("ParkingLot")
    lots = [lot for lot in _lots(ctx) if not wanted or lot.name == wanted]
    if wanted and not lots:
        return respond(msg, "Error", f"Requested parking lot could not be found: {wanted}")
    names = {lot.name for lot in lots}
    now = ctx.pbx.clock.now()
    items = [  # ActionID last in these items; the Complete event adds ``Total``
        event("ParkedCall", [*park_fields(p, now), *aid(msg)])
        for p in ctx.pbx.parked
        if p.lot.name in names and not p.channel.hungup
    ]
    total = [("Total", str(len(items)))]
    return event_list(msg, "Parked calls will follow", items, "ParkedCallsComplete", total)


@action("ConfbridgeListRooms", "reporting", "List active conferences.")
def confbridge_list_rooms(ctx: ActionContext, msg: Message) -> Reply:
    return respond(msg, "Error", NO_CONFERENCES)


def _conference_action(name: str, privilege: str, synopsis: str) -> None:
    """A Confbridge action: the conference name first, then whether any conference is active."""

    def handler(ctx: ActionContext, msg: Message) -> Reply:
        if not msg.get("Conference"):
            return respond(msg, "Error", NO_NAME)
        return respond(msg, "Error", NO_CONFERENCES)

    action(name, privilege, synopsis)(handler)


for _name, _priv, _synopsis in (
    ("ConfbridgeList", "reporting", "List participants in a conference."),
    ("ConfbridgeKick", "call", "Kick a Confbridge user."),
    ("ConfbridgeMute", "call", "Mute a Confbridge user."),
    ("ConfbridgeUnmute", "call", "Unmute a Confbridge user."),
    ("ConfbridgeLock", "call", "Lock a Confbridge conference."),
    ("ConfbridgeUnlock", "call", "Unlock a Confbridge conference."),
    ("ConfbridgeStartRecord", "system", "Start recording a Confbridge conference."),
    ("ConfbridgeStopRecord", "system", "Stop recording a Confbridge conference."),
    (
        "ConfbridgeSetSingleVideoSrc",
        "call",
        "Set a conference user as the single video source distributed to all other participants.",
    ),
):
    _conference_action(_name, _priv, _synopsis)
