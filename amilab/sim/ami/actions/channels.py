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
from amilab.sim.ami.lists import not_simulated, require
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import Channel

__all__ = ["DTMF_DURATION_MS"]

respond = ServerProtocol.response

#: PlayDTMF's default ``Duration`` when none is given (main/manager.c: the
#: channel's default, 100 ms in asterisk.conf's absence).
DTMF_DURATION_MS = 100


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
_simple("Park", "call", "Park a channel.", "Channel not specified",
        "Channel does not exist: {name}")  # fmt: skip
_simple("MixMonitor", "system", "Record a call and mix the audio during the recording.  Use of "
        "StopMixMonitor is required to guarantee the audio file is available for processing "
        "during dialplan execution.", "No channel specified", "No such channel")  # fmt: skip
_simple("StopMixMonitor", "system,call", "Stop recording a call through MixMonitor, and free "
        "the recording's file handle.", "No channel specified", "No such channel")  # fmt: skip
_simple("ControlPlayback", "call", "Control the playback of a file being played to a channel.",
        "Channel not specified", "No such channel")  # fmt: skip
_simple("AOCMessage", "aoc", "Generate an Advice of Charge message on a channel.",
        "Channel and PartialChannel are not specified. Specify at least one of these.",
        "No such channel")  # fmt: skip
_simple("AGI", "agi", "Add an AGI command to execute by Async AGI.",
        "Both, Channel and Command are *required*", "Channel {name} does not exist.")  # fmt: skip
_simple("CoreShowChannelMap", "system,reporting",
        "List all channels connected to the specified channel.",
        "CoreShowChannelMap requires a channel.", "Could not get channel snapshot")  # fmt: skip
_simple("LocalOptimizeAway", "system,call", "Optimize away a local channel when possible.",
        "'Channel' not specified.", "Channel does not exist.")  # fmt: skip
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
    return error if channel is None else not_simulated(msg, "MixMonitorMute")


@action("MuteAudio", "system", "Mute an audio stream.")
def mute_audio(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "Channel not specified", "No such channel")
    return error if channel is None else not_simulated(msg, "MuteAudio")


@action(
    "SendText",
    "call",
    # The tab is Asterisk 22's own (its XML synopsis, as ListCommands prints it).
    "Sends a text message to channel. A content type\tcan be optionally specified. If not set "
    "it is set to an empty string allowing a custom handler to default it as it sees fit.",
)
def send_text(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    return error if channel is None else not_simulated(msg, "SendText")


@action("PlayDTMF", "call", "Play DTMF signal on a specific channel.")
def play_dtmf(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "Channel not found", "Channel not found")
    return error if channel is None else not_simulated(msg, "PlayDTMF")


@action("AbsoluteTimeout", "system,call", "Set absolute timeout.")
def absolute_timeout(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "No such channel")
    if channel is None:
        return error
    seconds = msg.get("Timeout", "0")
    if not seconds.isdigit():
        return respond(msg, "Error", "No timeout specified")
    pbx, target = ctx.pbx, channel

    def arm() -> None:  # 0 clears it; the timer is the channel's own (``TimeToHangup``)
        if int(seconds):
            pbx.clock.call_later(
                int(seconds), lambda: None if target.hungup else dialplan.hangup(pbx, target)
            )

    return [respond(msg, "Success", "Timeout Set"), arm]


@action("BlindTransfer", "call", "Blind transfer channel(s) to the given destination")
def blind_transfer(ctx: ActionContext, msg: Message) -> Reply:
    channel, error = _channel(ctx, msg, "No channel specified", "Channel specified does not exist")
    if channel is None:
        return error
    if not msg.get("Exten"):
        return respond(msg, "Error", "No extension specified")
    return not_simulated(msg, "BlindTransfer")
