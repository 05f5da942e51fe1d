"""The PBX model: state plus event emission, with no drivers and no I/O.

:class:`PBXModel` holds what a running Asterisk knows (endpoints, channels,
bridges, queues, the dialplan as data, global variables, AstDB, device states,
the clock) and the primitive changes every driver shares: create a channel,
change its state, enter a bridge, destroy it. Each change announces itself
through :meth:`PBXModel.emit`, which turns one event into wire bytes once
(through :class:`~amilab.protocol.ServerProtocol`) and hands them to every
listener (the server's connections, a test's collector).

What makes calls progress (the dialplan applications, Dial, Queue) lives one
layer up in :mod:`amilab.sim.dialplan`; traffic generation above that in
:mod:`amilab.sim.traffic`. The model runs on one thread, the simulator's loop;
other threads go through ``pbx.clock.run_threadsafe``.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping

from amilab.protocol import ServerProtocol
from amilab.sim.model.clock import Clock, VirtualClock
from amilab.sim.model.objects import (
    CALLING_PRES,
    CAUSE_TEXT,
    DEFAULT_CONTEXT,
    DOWN,
    Bridge,
    Channel,
    ConferenceRoom,
    Endpoint,
    Mailbox,
    ParkedCall,
    ParkingLot,
    Queue,
    SipPeer,
    SipRegistration,
)
from amilab.sim.model.snapshots import bridge_snapshot, snapshot

__all__ = ["ASTERISK_VERSION", "Dialplan", "Listener", "PBXModel"]

#: AMI event listener: (event name, privilege class, encoded bytes).
Listener = Callable[[str, str, bytes], None]
#: The dialplan as data: context -> extension -> [(application, data)] by priority.
Dialplan = dict[str, dict[str, list[tuple[str, str]]]]

ASTERISK_VERSION = "22.10.1+amilab-sim"
#: ``CoreSettings`` ``CoreMaxCalls``: the sandbox's asterisk.conf sets no maxcalls.
DEFAULT_MAX_CALLS = 100


class PBXModel:
    """The simulated Asterisk's state plus event emission. Runs on the sim loop only.

    Everything is given by argument, so a test or a notebook builds the PBX it
    needs: ``endpoints`` (:class:`Endpoint` objects), ``queues``
    (:class:`Queue` objects), ``dialplan`` (:data:`Dialplan` data, see
    :func:`amilab.sim.dialplan.parse_extensions` for ``extensions.conf`` text),
    ``globals``, ``astdb``, ``conferences``, ``parking_lots``,
    ``mailboxes``, and chan_sip's ``sip_peers`` and
    ``sip_registrations``. :class:`amilab.sim.PBX` fills them with the
    sandbox's configuration.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        endpoints: Iterable[Endpoint] = (),
        queues: Iterable[Queue] = (),
        dialplan: Mapping[str, Mapping[str, list[tuple[str, str]]]] | None = None,
        globals: Mapping[str, str] | None = None,
        astdb: Mapping[str, str] | None = None,
        conferences: Iterable[ConferenceRoom] = (),
        parking_lots: Iterable[ParkingLot] = (),
        mailboxes: Iterable[Mailbox] = (),
        sip_peers: Iterable[SipPeer] = (),
        sip_registrations: Iterable[SipRegistration] = (),
        seed: int | None = None,
        system_name: str = "",
        version: str = ASTERISK_VERSION,
    ) -> None:
        self.clock: Clock = clock or VirtualClock()
        self.rng = random.Random(seed)
        self.system_name = system_name
        self.version = version
        self.endpoints: dict[str, Endpoint] = {ep.name: ep for ep in endpoints}
        #: Conference rooms, parking lots and mailboxes by name (``Mailbox.id``): configured
        #: here so a PBX can be described whole; no action reads them yet (issue 10 §2).
        self.conferences: dict[str, ConferenceRoom] = {c.name: c for c in conferences}
        self.parking_lots: dict[str, ParkingLot] = {lot.name: lot for lot in parking_lots}
        self.mailboxes: dict[str, Mailbox] = {box.id: box for box in mailboxes}
        #: chan_sip's peers and outbound registrations (empty unless chan_sip is loaded).
        self.sip_peers: dict[str, SipPeer] = {peer.name: peer for peer in sip_peers}
        self.sip_registrations: list[SipRegistration] = list(sip_registrations)
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.queues: dict[str, Queue] = {q.name: q for q in queues}
        self.dialplan: Dialplan = {
            ctx: {exten: list(steps) for exten, steps in extens.items()}
            for ctx, extens in (dialplan or {}).items()
        }
        self.globals: dict[str, str] = dict(globals or {})
        self.astdb: dict[str, str] = dict(astdb or {})
        # main/asterisk.c stores the system's UUID in AstDB at first start, so a
        # real AstDB is never empty (DBGetTree in tests/fixtures/asterisk22/breadth.json).
        # Drawn from its own generator so the seeded call traffic stays as it was.
        uuid_bits = random.Random(f"pbx-uuid-{seed}").getrandbits(128)
        self.astdb.setdefault("/pbx/UUID", str(uuid.UUID(int=uuid_bits, version=4)))
        self.device_states: dict[str, str] = {}
        #: Calls parked with ``Park``, in the order they were parked.
        self.parked: list[ParkedCall] = []
        #: Bridge technologies suspended with ``BridgeTechnologySuspend``, by name.
        self.suspended_technologies: set[str] = set()
        self._deferred: list[tuple[str, str]] | None = None
        self.listeners: list[Listener] = []
        self.max_calls = DEFAULT_MAX_CALLS
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

    def active_calls(self) -> int:
        """Calls in progress: one per Linkedid (``CoreCurrentCalls``, ``core show channels``)."""
        return len({ch.linkedid for ch in self.channels.values()})


_ENDPOINT_STATE = {
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "RINGING": "Ringing",
    "BUSY": "Busy",
    "UNAVAILABLE": "Unavailable",
}
