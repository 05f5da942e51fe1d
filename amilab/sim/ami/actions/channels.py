"""Actions on one channel: transfers, parking, recording, DTMF, text, timeouts, Local channels.

Each module of Asterisk 22 checks its headers in its own order and words its
errors its own way; the orders and texts here are those recorded in
``tests/fixtures/asterisk22/breadth.json`` (a missing header, a channel
that does not exist). What these actions do to a live channel is simulated
where the model has a place for it (a timeout, DTMF, a blind transfer);
the rest answer with :func:`~amilab.sim.ami.lists.not_simulated`, and the
README's simulator limits list them.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim import dialplan
from amilab.sim.ami.lists import event_list, not_simulated, require
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.dialplan.lifecycle import leave_bridge
from amilab.sim.model import (
    Channel,
    ParkedCall,
    ParkingLot,
    PBXModel,
    bridge_snapshot,
    snapshot,
)

__all__ = ["DTMF_DURATION_MS", "park_fields"]

respond = ServerProtocol.response
#: PlayDTMF's ``Duration`` when none is given: the DTMFEnd ``DurationMs`` recorded
#: from Asterisk 22 (breadth.json), its default digit length.
DTMF_DURATION_MS = 100
event = ServerProtocol.event


def _channel(
    ctx: ActionContext, msg: Message, missing: str, unknown: str, header: str = "Channel"
) -> tuple[Channel | None, bytes | None]:
    """The named channel, or the module's error for a missing header / unknown channel."""
    name = msg.get(header)
    if not name:
        return None, respond(msg, "Error", missing)
    channel = ctx.pbx.find_channel(name)
    if channel is None:
        return None, respond(msg, "Error", unknown.format(name=name))
    return channel, None


def _simple(name: str, privilege: str, synopsis: str, missing: str, unknown: str) -> None:
    """Register an action whose live-channel effect is not simulated (README limits)."""

    def handler(ctx: ActionContext, msg: Message) -> Reply:
        channel, error = _channel(ctx, msg, missing, unknown)
        return error if channel is None else not_simulated(msg, name)

    action(name, privilege, synopsis)(handler)


_simple("Atxfer", "call", "Attended transfer.", "No channel specified",
        "Channel specified does not exist")  # fmt: skip
_simple("CancelAtxfer", "call", "Cancel an attended transfer.", "No channel specified",
        "Channel specified does not exist")  # fmt: skip
_simple("ControlPlayback", "call", "Control the playback of a file being played to a channel.",
        "Channel not specified", "No such channel")  # fmt: skip
_simple("AOCMessage", "aoc", "Generate an Advice of Charge message on a channel.",
        "Channel and PartialChannel are not specified. Specify at least one of these.",
        "No such channel")  # fmt: skip
_simple("AGI", "agi", "Add an AGI command to execute by Async AGI.",
        "Both, Channel and Command are *required*", "Channel {name} does not exist.")  # fmt: skip
_simple("PJSIPHangup", "system,call",
        "Hangup an incoming PJSIP channel with a SIP response code", "No channel specified",
        "No such channel")  # fmt: skip
_simple("PlayMF", "call", "Play MF digit on a specific channel.", "Channel not found",
        "Channel not found")  # fmt: skip
_simple("SendFlash", "call", "Send a hook flash on a specific channel.", "Channel not found",
        "Channel not found")  # fmt: skip


@action("MixMonitorMute", "system,call", "Mute / unMute a Mixmonitor recording.")
def mixmonitor_mute(ctx: ActionContext, msg: Message) -> Reply:
    # res_mixmonitor checks Direction and State before the channel (breadth.json).
    direction = require(msg, "Direction", "No direction specified. Must be read, write or both")
    state = require(msg, "State", "No state specified")
    if direction or state:
        return direction or state
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    if channel is None:
        return error
    _mute(channel, f"mixmonitor-{msg['Direction'].lower()}", msg["State"])
    return respond(msg, "Success")  # no Message (breadth.json, live)


def _mute(channel: Channel, what: str, state: str) -> None:
    if state.lower() in ("1", "on", "yes", "true"):
        channel.muted.add(what)
    else:
        channel.muted.discard(what)


@action(
    "MixMonitor",
    "system",
    "Record a call and mix the audio during the recording.  Use of StopMixMonitor is required "
    "to guarantee the audio file is available for processing during dialplan execution.",
)
def mixmonitor(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    if channel is None:
        return error
    # The simulator writes no audio; the channel only remembers that it is recorded.
    channel.recording = msg.get("File") or f"{channel.uniqueid}.wav"
    pbx = ctx.pbx
    return [  # no Message; MixMonitorStart follows (breadth.json, live)
        respond(msg, "Success"),
        lambda: pbx.emit_channel("MixMonitorStart", channel),
    ]


@action(
    "StopMixMonitor",
    "system,call",
    "Stop recording a call through MixMonitor, and free the recording's file handle.",
)
def stop_mixmonitor(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    if channel is None:
        return error
    if not channel.recording:
        return respond(msg, "Error", "Could not stop monitoring channel")
    channel.recording = ""
    pbx = ctx.pbx
    return [  # no Message; MixMonitorStop follows (breadth.json, live)
        respond(msg, "Success"),
        lambda: pbx.emit_channel("MixMonitorStop", channel),
    ]


@action(
    "CoreShowChannelMap",
    "system,reporting",
    "List all channels connected to the specified channel.",
)
def core_show_channel_map(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(
        ctx, msg, "CoreShowChannelMap requires a channel.", "Could not get channel snapshot"
    )
    if channel is None:
        return error
    items = [
        event(
            "CoreShowChannelMap",
            [("Channel", channel.name), ("ConnectedChannel", other.name)],
            action_id=msg.action_id,
        )
        for other in _connected(ctx.pbx, channel)
    ]
    return event_list(msg, "Channel map will follow", items, "CoreShowChannelMapComplete")


def _connected(pbx: PBXModel, start: Channel) -> list[Channel]:
    """Every channel reachable through bridges and Local pairs, by name (manager.c's map)."""
    seen, todo = {start.name}, [start]
    found: list[Channel] = []
    while todo:
        ch = todo.pop()
        bridge = pbx.bridges.get(ch.bridge)
        near = [*(bridge.channels if bridge else []), *([ch.partner] if ch.partner else [])]
        for other in near:
            if other.name not in seen:
                seen.add(other.name)
                found.append(other)
                todo.append(other)
    return sorted(found, key=lambda c: c.name)


@action("LocalOptimizeAway", "system,call", "Optimize away a local channel when possible.")
def local_optimize_away(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "'Channel' not specified.", "Channel does not exist.")
    if channel is None:
        return error
    if channel.tech != "Local":
        return respond(msg, "Error", "Unable to find channel")
    # Asterisk only queues the request; the simulator never optimizes Local pairs away
    # (README limits), which Asterisk also leaves undone when the pair cannot go.
    return respond(msg, "Success", "Queued channel to be optimized away")


@action("MuteAudio", "system", "Mute an audio stream.")
def mute_audio(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "Channel not specified", "No such channel")
    if channel is None:
        return error
    if (msg.get("Direction") or "").lower() not in ("in", "out", "all"):
        return respond(msg, "Error", "Failed to mute/unmute stream")
    _mute(channel, msg["Direction"].lower(), msg.get("State") or "")
    return respond(msg, "Success")  # no Message (breadth.json, live)


@action(
    "SendText",
    "call",
    # The tab is Asterisk 22's own (its XML synopsis, as ListCommands prints it).
    "Sends a text message to channel. A content type\tcan be optionally specified. If not set "
    "it is set to an empty string allowing a custom handler to default it as it sees fit.",
)
def send_text(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    if channel is None:
        return error
    if not msg.get("Message"):
        return respond(msg, "Error", "No Message specified")
    return respond(msg, "Success", "Success")  # the text goes nowhere: no phone reads it


@action("PlayDTMF", "call", "Play DTMF signal on a specific channel.")
def play_dtmf(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "Channel not found", "Channel not found")
    if channel is None:
        return error
    digit = msg.get("Digit")
    if not digit:
        return respond(msg, "Error", "No digit specified")
    duration = msg.get("Duration") or str(DTMF_DURATION_MS)
    # The digit is played into the channel, so its peer receives it: for a Local
    # channel, the other half (breadth.json: DTMF to Local/102;1 is seen on ;2).
    heard, pbx = channel.partner or channel, ctx.pbx

    def play() -> None:
        pbx.emit_channel("DTMFBegin", heard, [("Digit", digit[0]), ("Direction", "Received")],
                         cat="dtmf")  # fmt: skip
        pbx.emit_channel(
            "DTMFEnd",
            heard,
            [("Digit", digit[0]), ("DurationMs", duration), ("Direction", "Received")],
            cat="dtmf",
        )

    return [respond(msg, "Success", "DTMF successfully queued"), play]


@action("AbsoluteTimeout", "system,call", "Set absolute timeout.")
def absolute_timeout(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    if channel is None:
        return error
    seconds = msg.get("Timeout", "")
    if not seconds.isdigit() or not int(seconds):  # 0 is refused too (breadth.json, live)
        return respond(msg, "Error", "No timeout specified")
    pbx, target = ctx.pbx, channel

    def arm() -> None:
        pbx.clock.call_later(
            int(seconds), lambda: None if target.hungup else dialplan.hangup(pbx, target)
        )

    return [respond(msg, "Success", "Timeout Set"), arm]


@action("BlindTransfer", "call", "Blind transfer channel(s) to the given destination")
def blind_transfer(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "Channel specified does not exist")
    if channel is None:
        return error
    exten = msg.get("Exten")
    if not exten:
        return respond(msg, "Error", "No extension specified")
    bridge = ctx.pbx.bridges.get(channel.bridge)
    peers = [ch for ch in bridge.channels if ch is not channel] if bridge else []
    if bridge is None or len(peers) != 1:
        return not_simulated(msg, "BlindTransfer of a channel outside a two-party bridge")
    pbx, peer = ctx.pbx, peers[0]
    context = msg.get("Context") or channel.context
    fields = [
        ("Result", "Success"),
        *snapshot(channel, "Transferer"),
        *snapshot(peer, "Transferee"),
        *bridge_snapshot(bridge),
        ("IsExternal", "Yes"),  # requested over AMI, not by a DTMF feature code
        ("Context", context),
        ("Extension", exten),
    ]

    def transfer() -> None:  # the transferee goes to the extension; the transferer is left alone
        pbx.emit("BlindTransfer", "call", fields)
        dialplan.redirect(pbx, peer, context, exten, 1)

    return [respond(msg, "Success", "Transfer succeeded"), transfer]


def park_fields(parked: ParkedCall, now: float) -> list[tuple[str, str]]:
    """ParkedCall's headers (the event and ParkedCalls' items), as breadth.json recorded."""
    return [
        *snapshot(parked.channel, "Parkee"),
        ("ParkerDialString", parked.parker),
        ("Parkinglot", parked.lot.name),
        ("ParkingSpace", str(parked.space)),
        ("ParkingTimeout", str(max(0, int(parked.lot.timeout - (now - parked.parked_at))))),
        ("ParkingDuration", str(int(now - parked.parked_at))),
    ]


@action("Park", "call", "Park a channel.")
def park(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "Channel not specified", "Channel does not exist: {name}")
    if channel is None:
        return error
    pbx = ctx.pbx
    lot = next(iter(pbx.parking_lots.values()), None) or ParkingLot()
    taken = {p.space for p in pbx.parked if p.lot.name == lot.name and not p.channel.hungup}
    free = [n for n in range(lot.first_space, lot.last_space + 1) if n not in taken]
    if not free:
        return respond(msg, "Error", "Park action failed")
    # ParkerDialString is where a timed-out call returns: the channel's own dial string.
    parker = channel.name.split("-", 1)[0].rsplit(";", 1)[0]
    parked = ParkedCall(channel, lot, free[0], pbx.clock.now(), parker)

    def do_park() -> None:  # out of its bridge (the peer left alone hangs up), into the lot
        pbx.parked = [p for p in pbx.parked if not p.channel.hungup]
        pbx.parked.append(parked)
        if channel.timer is not None:
            channel.timer.cancel()
            channel.timer = None
        for peer in leave_bridge(pbx, channel):
            dialplan.teardown(pbx, peer, 16, soft=True)
        channel.application, channel.data = "Park", ""
        pbx.emit("ParkedCall", "call", park_fields(parked, pbx.clock.now()))

    return [respond(msg, "Success", "Park successful"), do_park]
