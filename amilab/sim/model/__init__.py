"""The PBX model: its objects, its clock and its state, with no drivers and no I/O.

Read bottom-up: :mod:`~amilab.sim.model.clock` (real or virtual time),
:mod:`~amilab.sim.model.objects` (endpoints, channels, bridges, queues as
data), :mod:`~amilab.sim.model.snapshots` (the header blocks events share),
:mod:`~amilab.sim.model.pbx` (the state and its event emission).
"""

from amilab.sim.model.clock import Clock, Handle, LoopClock, VirtualClock
from amilab.sim.model.objects import (
    BUSY,
    CALLING_PRES,
    CAUSE_TEXT,
    DEFAULT_CONTEXT,
    DOWN,
    RING,
    RINGING,
    STATE_DESC,
    UNKNOWN,
    UP,
    Bridge,
    Channel,
    ConferenceRoom,
    Endpoint,
    Mailbox,
    ParkedCall,
    ParkingLot,
    Queue,
    QueueMember,
    SipPeer,
    SipRegistration,
)
from amilab.sim.model.pbx import ASTERISK_VERSION, Dialplan, Listener, PBXModel
from amilab.sim.model.snapshots import bridge_snapshot, member_fields, snapshot

__all__ = [
    "ASTERISK_VERSION",
    "BUSY",
    "CALLING_PRES",
    "CAUSE_TEXT",
    "DEFAULT_CONTEXT",
    "DOWN",
    "RING",
    "RINGING",
    "STATE_DESC",
    "UNKNOWN",
    "UP",
    "Bridge",
    "Channel",
    "Clock",
    "ConferenceRoom",
    "Dialplan",
    "Endpoint",
    "Handle",
    "Listener",
    "LoopClock",
    "Mailbox",
    "PBXModel",
    "ParkedCall",
    "ParkingLot",
    "Queue",
    "QueueMember",
    "SipPeer",
    "SipRegistration",
    "VirtualClock",
    "bridge_snapshot",
    "member_fields",
    "snapshot",
]
