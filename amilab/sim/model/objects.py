"""The PBX's objects as plain data: endpoints, channels, bridges, queues and their members.

No behaviour beyond small derived properties: what happens to these objects
(dialing, bridging, queueing) lives in :mod:`amilab.sim.dialplan`, and how
they are announced lives in :mod:`amilab.sim.model.snapshots`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
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
    "ConferenceRoom",
    "Endpoint",
    "Mailbox",
    "ParkingLot",
    "Queue",
    "QueueMember",
    "SipPeer",
    "SipRegistration",
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
#: The sandbox's dialplan context (tests/asterisk/etc/extensions.conf ``[amilab]``).
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
    #: MixMonitor's file while one records this channel ("" when none does).
    recording: str = ""
    #: Audio directions muted by MuteAudio or MixMonitorMute ("in", "out", "read", ...).
    muted: set[str] = field(default_factory=set)

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
    #: queues.conf ``ringinuse``: whether a member already on a call may be rung.
    ringinuse: bool = False

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
    #: app_queue's state per waiting caller (:mod:`amilab.sim.dialplan.queue`), in arrival order.
    entries: list[Any] = field(default_factory=list)

    def member(self, interface: str) -> QueueMember | None:
        for m in self.members:
            if m.interface.lower() == interface.lower():
                return m
        return None


@dataclass
class SipPeer:
    """A chan_sip peer (sip.conf ``type=friend``), for the Asterisk 20 profile.

    Defaults are those a dynamic, qualified, registered phone shows in
    ``SIPpeers``/``SIPshowpeer`` (channels/chan_sip.c, Asterisk 20).
    """

    name: str
    callerid_name: str = ""
    context: str = DEFAULT_CONTEXT
    address: str = "127.0.0.1"
    port: int = 5060
    dynamic: bool = True
    #: Qualify round trip in ms; None: not reachable (``UNREACHABLE``).
    latency_ms: int | None = 1
    useragent: str = ""
    description: str = ""

    @property
    def registered(self) -> bool:
        return bool(self.address)

    @property
    def status(self) -> str:
        """chan_sip's ``peer_status`` text."""
        if not self.registered:
            return "UNKNOWN"
        return "UNREACHABLE" if self.latency_ms is None else f"OK ({self.latency_ms} ms)"


@dataclass
class SipRegistration:
    """An outbound chan_sip registration (sip.conf ``register =>``), for ``SIPshowregistry``."""

    host: str
    username: str
    port: int = 5060
    domain: str = ""
    domain_port: int = 5060
    refresh: int = 120
    state: str = "Registered"
    registered_at: int = 0


@dataclass
class ConferenceRoom:
    """A ConfBridge conference (``ConfBridge(<name>)``; confbridge.conf's bridge profile)."""

    name: str
    max_members: int = 0
    locked: bool = False


@dataclass
class ParkingLot:
    """A res_parking lot; the defaults are res_parking.conf's ``[default]`` lot."""

    name: str = "default"
    exten: str = "700"
    first_space: int = 701
    last_space: int = 720
    context: str = "parkedcalls"
    #: ``parkingtime``: seconds before a parked call times out.
    timeout: int = 45


@dataclass
class ParkedCall:
    """A channel parked in a lot's space by the ``Park`` action (res_parking)."""

    channel: Channel
    lot: ParkingLot
    space: int
    parked_at: float
    #: ``ParkerDialString``: where a timed-out call would go back to.
    parker: str


@dataclass
class Mailbox:
    """A voicemail box (voicemail.conf ``<box> => ...`` in ``context``) and its counts."""

    box: str
    context: str = "default"
    new: int = 0
    old: int = 0
    urgent: int = 0

    @property
    def id(self) -> str:
        """``box@context``, as ``MailboxStatus``/``MailboxCount`` name it."""
        return f"{self.box}@{self.context}"
