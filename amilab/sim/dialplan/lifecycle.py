"""Channel lifecycle shared by every application: answer, Local pairs, bridge, hang-up.

:func:`teardown` ends a channel, then its Local partner, what it dialed and
its bridge peer, in Asterisk 22's per-channel order (originate_async_call.ami,
redirect.ami, hangup.ami in ``tests/fixtures/asterisk22``). Applications
(:mod:`amilab.sim.dialplan.apps`, ``.dial``, ``.queue``) build on these; this
module runs no dialplan itself.
"""

from __future__ import annotations

from amilab.sim.model import DOWN, RING, UP, Channel, PBXModel, snapshot

__all__ = [
    "REASON_ANSWERED",
    "REASON_BUSY",
    "REASON_FAILURE",
    "REASON_HANGUP",
    "REASON_TIMEOUT",
    "answer",
    "connect",
    "device_idle",
    "dial_begin",
    "dial_end",
    "hangup",
    "leave_bridge",
    "local_bridge",
    "new_local_pair",
    "notify_answered",
    "notify_failed",
    "parse_local",
    "run_h_extension",
    "teardown",
]

#: OriginateResponse ``Reason`` codes (``enum ast_control_frame_type`` values).
REASON_FAILURE, REASON_HANGUP, REASON_TIMEOUT, REASON_ANSWERED, REASON_BUSY = 0, 1, 3, 4, 5


REASON_CONGESTION = 8


def parse_local(spec: str) -> tuple[str, str] | None:
    """``Local/100@amilab/n`` -> ("100", "amilab"); None if not a Local channel."""
    if not spec.lower().startswith("local/"):
        return None
    rest = spec[6:].split("/", 1)[0]
    exten, _, context = rest.partition("@")
    return exten, context or "default"


def answer(pbx: PBXModel, channel: Channel) -> None:
    """Answer ``channel``; a Local ;2 answering also answers its ;1 and its dialer."""
    if channel.state == UP:
        return
    pbx.set_state(channel, UP)
    partner = channel.partner
    if partner is not None and channel.name.endswith(";2"):
        pbx.set_state(partner, UP)
        notify_answered(partner)
        for _half in (channel, partner):  # one INUSE per half, after DialEnd: originate_sync.ami
            pbx.device_state(channel.device, "INUSE")


def notify_answered(channel: Channel) -> None:
    callback, channel.on_answer, channel.on_fail = channel.on_answer, None, None
    if callback is not None:
        callback(channel)


def notify_failed(channel: Channel, reason: int) -> None:
    callback, channel.on_answer, channel.on_fail = channel.on_fail, None, None
    if callback is not None:
        callback(reason)


def new_local_pair(
    pbx: PBXModel,
    exten: str,
    context: str,
    *,
    linkedid: str | None = None,
    uniqueids: tuple[str | None, str | None] = (None, None),
) -> tuple[Channel, Channel]:
    """Create ``Local/exten@context-XXXXXXXX;1`` (Down) and ``;2`` (Ring), as 22 names them.

    ``uniqueids`` are Originate's ``ChannelId``/``OtherChannelId``.
    """
    base = f"Local/{exten}@{context}-{pbx.next_local_id()}"
    one = pbx.new_channel(
        f"{base};1", linkedid=linkedid, context=context, exten=exten, uniqueid=uniqueids[0]
    )
    two = pbx.new_channel(
        f"{base};2",
        linkedid=one.linkedid,
        state=RING,
        context=context,
        exten=exten,
        uniqueid=uniqueids[1],
    )
    one.partner, two.partner = two, one
    return one, two


def local_bridge(pbx: PBXModel, one: Channel, two: Channel) -> None:
    pbx.emit(
        "LocalBridge",
        "call",
        [
            *snapshot(one, "LocalOne"),
            *snapshot(two, "LocalTwo"),
            ("Context", two.context),
            ("Exten", two.exten),
            ("LocalOptimization", "Yes"),
        ],
    )


def dial_begin(pbx: PBXModel, caller: Channel | None, callee: Channel, dialstring: str) -> None:
    source = snapshot(caller) if caller is not None else []
    pbx.emit("DialBegin", "call", [*source, *snapshot(callee, "Dest"), ("DialString", dialstring)])


def dial_end(pbx: PBXModel, caller: Channel | None, callee: Channel, status: str) -> None:
    source = snapshot(caller) if caller is not None else []
    pbx.emit("DialEnd", "call", [*source, *snapshot(callee, "Dest"), ("DialStatus", status)])


def connect(pbx: PBXModel, caller: Channel, callee: Channel) -> None:
    """Bridge two answered channels, set ``BRIDGEPEER`` on each, mark phones in use.

    Local pairs announced INUSE when they answered (:func:`answer`).
    """
    bridge = pbx.create_bridge()
    pbx.bridge_enter(bridge, callee)
    pbx.bridge_enter(bridge, caller)
    pbx.set_var(callee, "BRIDGEPEER", caller.name)
    pbx.set_var(caller, "BRIDGEPEER", callee.name)
    for channel in (caller, callee):
        if channel.tech != "Local":
            pbx.device_state(channel.device, "INUSE")


def hangup(pbx: PBXModel, channel: Channel, cause: int = 16) -> None:
    """Hang ``channel`` up from outside (the AMI ``Hangup`` action).

    Asterisk 22 emits no request event for the channel itself here, only the
    ``HangupRequest`` its Local partner receives (tests/fixtures/asterisk22/hangup.ami).
    """
    teardown(pbx, channel, cause)


def teardown(
    pbx: PBXModel, channel: Channel, cause: int, *, request: bool = False, soft: bool = False
) -> None:
    """End ``channel``, then its Local partner, the channels it dialed and its bridge peer.

    The order is Asterisk 22's for one channel (originate_async_call.ami,
    redirect.ami): leave the bridge (``BRIDGEPEER`` cleared on both sides first),
    Dial's closing variables, ``SoftHangupRequest`` if ``soft`` (the ``Hangup()``
    application, or a partner's hang-up), the ``h`` extension, the partner's
    ``HangupRequest``, then ``Hangup``. ``request`` emits a ``HangupRequest`` for
    ``channel`` itself first. A bridge peer left alone is ended silently, as
    the dialed ;1 of a Local pair is in the recordings.
    """
    if channel.hungup:
        return
    with pbx.deferred_device_states():
        _teardown(pbx, channel, cause, request=request, soft=soft)


def _teardown(pbx: PBXModel, channel: Channel, cause: int, *, request: bool, soft: bool) -> None:
    if channel.timer is not None:
        channel.timer.cancel()
        channel.timer = None
    if request:
        pbx.emit_channel("HangupRequest", channel, [("Cause", str(cause))])
    if channel.state not in (UP, DOWN) and channel.on_fail is not None:
        notify_failed(channel, REASON_HANGUP)
    channel.on_answer = channel.on_fail = None
    peers = leave_bridge(pbx, channel)
    _dial_closed(pbx, channel)
    if soft:
        # Cause 0 (an application simply ended) is requested as 16: originate_sync.ami.
        pbx.emit_channel("SoftHangupRequest", channel, [("Cause", str(cause or 16))])
    run_h_extension(pbx, channel)
    partner = channel.partner
    wake = partner is not None and not partner.hungup
    if partner is not None and wake:
        pbx.emit_channel("HangupRequest", partner, [("Cause", str(cause))])
    pbx.destroy_channel(channel, cause)
    device_idle(pbx, channel)
    for callee in list(channel.dialed):
        channel.dialed.remove(callee)
        callee.on_answer = callee.on_fail = None
        teardown(pbx, callee, 16, soft=True)
    if partner is not None and wake:
        teardown(pbx, partner, cause, soft=partner.in_dialplan)
    for peer in peers:
        teardown(pbx, peer, 16, soft=peer.in_dialplan)


def leave_bridge(pbx: PBXModel, channel: Channel) -> list[Channel]:
    """Take ``channel`` out of its bridge; return the channels left in it."""
    bridge = pbx.bridges.get(channel.bridge)
    if bridge is None:
        return []
    peers = [c for c in bridge.channels if c is not channel]
    if len(peers) == 1:
        for side in (channel, peers[0]):
            pbx.set_var(side, "BRIDGEPEER", "")
    pbx.bridge_leave(channel)
    return peers


def _dial_closed(pbx: PBXModel, channel: Channel) -> None:
    """The variables app_dial sets on the caller when an answered call ends."""
    if channel.dial_answered is None:
        return
    talk = max(0.0, pbx.clock.now() - channel.dial_answered)
    dialed = max(0.0, pbx.clock.now() - channel.dial_started)
    for name, value in (
        ("ANSWEREDTIME", str(int(talk))),
        ("ANSWEREDTIME_MS", str(int(talk * 1000))),
        ("DIALEDTIME", str(int(dialed))),
        ("DIALEDTIME_MS", str(int(dialed * 1000))),
        ("DIALSTATUS", "ANSWER"),
    ):
        if name != "DIALSTATUS" or channel.dial_app == "Dial":  # app_queue sets no DIALSTATUS
            pbx.set_var(channel, name, value)
    channel.dial_answered = None


def run_h_extension(pbx: PBXModel, channel: Channel) -> None:
    if not channel.in_dialplan or not pbx.extension_exists(channel.context, "h"):
        return
    channel.exten, channel.priority = "h", 1
    for app, data in pbx.dialplan[channel.context]["h"]:
        pbx.newexten(channel, app, data)
        channel.priority += 1


def device_idle(pbx: PBXModel, channel: Channel) -> None:
    """NOT_INUSE once per Local half (two per pair, as 22 sends); once per other device."""
    if channel.tech == "Local" or not any(
        c.device == channel.device for c in pbx.channels.values()
    ):
        pbx.device_state(channel.device, "NOT_INUSE")
