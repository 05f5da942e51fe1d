"""Call sequences: a tiny dialplan interpreter plus dial, answer, bridge and hang-up.

Theory of operation. A channel in the dialplan runs :func:`run_dialplan`: each
priority emits ``Newexten`` and its application either continues at once
(``NoOp``, ``Set``, ``Answer``), later (``Wait``, ``Echo``), by dialing
(``Dial``, ``Queue``) or by hanging up. An Originate ``Application`` runs
outside the dialplan (no ``Newexten``, no ``h``; cause 0 when it returns).
:func:`dial` creates the called channel(s), emits ``DialBegin``, and on answer
the Dial variables, ``DialEnd`` and the bridge; :func:`teardown` ends a channel,
then its Local partner, what it dialed and its bridge peer.

Event order follows Asterisk 22 per channel, per device and per bridge, as
recorded in ``tests/fixtures/asterisk22`` (originate_sync, originate_async_call,
hangup, redirect) and checked by ``tests/sim/test_call_sequences.py``. Across
channels real Asterisk's order is a race between channel threads; the
simulator picks one plausible interleaving, deterministically.
"""

from __future__ import annotations

from collections.abc import Callable

from amilab.sim.pbx import (
    BUSY,
    CALLING_PRES,
    DOWN,
    PBX,
    RING,
    RINGING,
    UP,
    Channel,
    snapshot,
)

__all__ = [
    "DEFAULT_RING_TIME",
    "connect",
    "device_idle",
    "dial",
    "dial_begin",
    "dial_end",
    "hangup",
    "local_bridge",
    "new_local_pair",
    "originate",
    "parse_local",
    "run_dialplan",
    "run_h_extension",
    "teardown",
]

#: How long a simulated phone rings before its owner picks up (seconds).
DEFAULT_RING_TIME = 1.0
#: How long ``Echo()`` keeps a call up in the simulator (the real one waits for '#').
ECHO_TIME = 5.0
#: OriginateResponse ``Reason`` codes (``enum ast_control_frame_type`` values).
REASON_FAILURE, REASON_HANGUP, REASON_TIMEOUT, REASON_ANSWERED, REASON_BUSY = 0, 1, 3, 4, 5
REASON_CONGESTION = 8
DIAL_VARS = (
    "DIALSTATUS",
    "DIALEDPEERNUMBER",
    "DIALEDPEERNAME",
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "RINGTIME",
    "RINGTIME_MS",
    "PROGRESSTIME",
    "PROGRESSTIME_MS",
)
DialDone = Callable[[str], None]


def parse_local(spec: str) -> tuple[str, str] | None:
    """``Local/100@amilab/n`` -> ("100", "amilab"); None if not a Local channel."""
    if not spec.lower().startswith("local/"):
        return None
    rest = spec[6:].split("/", 1)[0]
    exten, _, context = rest.partition("@")
    return exten, context or "default"


# -- the dialplan -----------------------------------------------------------
def run_dialplan(pbx: PBX, channel: Channel) -> None:
    """Run ``channel`` from its current priority until something waits or ends it."""
    channel.in_dialplan = True
    while not channel.hungup:
        steps = pbx.dialplan.get(channel.context, {}).get(channel.exten)
        if steps is None or channel.priority > len(steps):
            teardown(pbx, channel, 16, request=True)
            return
        app, data = steps[channel.priority - 1]
        pbx.newexten(channel, app, data)
        if not _execute(pbx, channel, app, data):
            return
        channel.priority += 1


def _continue_later(pbx: PBX, channel: Channel, delay: float) -> None:
    def resume() -> None:
        channel.timer = None
        if channel.hungup:
            return
        if not channel.in_dialplan:
            teardown(pbx, channel, 0)  # an Originate application ended: cause 0
            return
        channel.priority += 1
        run_dialplan(pbx, channel)

    channel.timer = pbx.clock.call_later(delay, resume)


def _execute(pbx: PBX, channel: Channel, app: str, data: str) -> bool:
    """Run one application; True to go on to the next priority now."""
    name = app.lower()
    if name == "set":
        var, _, value = data.partition("=")
        if not var.upper().startswith("CDR("):
            pbx.set_var(channel, var, value)
        return True
    if name == "answer":
        answer(pbx, channel)
        return True
    if name in ("wait", "echo", "playback", "musiconhold"):
        delay = ECHO_TIME if name != "wait" else _float(data, 1.0)
        _continue_later(pbx, channel, delay)
        return False
    if name == "hangup":
        teardown(pbx, channel, int(data) if data.isdigit() else 16, soft=True)
        return False
    if name == "dial":
        target, _, rest = data.partition(",")
        timeout = _float(rest.split(",", 1)[0], 30.0)
        dial(pbx, channel, target, timeout, lambda status: _after_dial(pbx, channel, status))
        return False
    if name == "queue":
        from amilab.sim.queues import queue_call

        args = data.split(",")
        timeout = _float(args[4], 0.0) if len(args) > 4 else 0.0
        queue_call(
            pbx,
            channel,
            args[0],
            on_done=lambda: _next_priority(pbx, channel),
            **({"timeout": timeout} if timeout > 0 else {}),
        )
        return False
    return True


def _next_priority(pbx: PBX, channel: Channel) -> None:
    if not channel.hungup:
        channel.priority += 1
        run_dialplan(pbx, channel)


def _after_dial(pbx: PBX, channel: Channel, status: str) -> None:
    if channel.hungup:
        return
    if status == "ANSWER":
        teardown(pbx, channel, 16, soft=True)
        return
    channel.priority += 1
    run_dialplan(pbx, channel)


def _float(text: str, default: float) -> float:
    try:
        return float(text)
    except ValueError:
        return default


# -- answer / dial ------------------------------------------------------------
def answer(pbx: PBX, channel: Channel) -> None:
    """Answer ``channel``; a Local ;2 answering also answers its ;1 and its dialer."""
    if channel.state == UP:
        return
    pbx.set_state(channel, UP)
    partner = channel.partner
    if partner is not None and channel.name.endswith(";2"):
        pbx.set_state(partner, UP)
        _answered(partner)
        for _half in (channel, partner):  # one INUSE per half, after DialEnd: originate_sync.ami
            pbx.device_state(channel.device, "INUSE")


def _answered(channel: Channel) -> None:
    callback, channel.on_answer, channel.on_fail = channel.on_answer, None, None
    if callback is not None:
        callback(channel)


def _failed(channel: Channel, reason: int) -> None:
    callback, channel.on_answer, channel.on_fail = channel.on_fail, None, None
    if callback is not None:
        callback(reason)


def new_local_pair(
    pbx: PBX,
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


def local_bridge(pbx: PBX, one: Channel, two: Channel) -> None:
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


def dial_begin(pbx: PBX, caller: Channel | None, callee: Channel, dialstring: str) -> None:
    source = snapshot(caller) if caller is not None else []
    pbx.emit("DialBegin", "call", [*source, *snapshot(callee, "Dest"), ("DialString", dialstring)])


def dial_end(pbx: PBX, caller: Channel | None, callee: Channel, status: str) -> None:
    source = snapshot(caller) if caller is not None else []
    pbx.emit("DialEnd", "call", [*source, *snapshot(callee, "Dest"), ("DialStatus", status)])


def dial(pbx: PBX, caller: Channel, target: str, timeout: float, done: DialDone) -> None:
    """``Dial(target, timeout)`` from ``caller``; ``done`` gets the DIALSTATUS."""
    for var in DIAL_VARS:
        pbx.set_var(caller, var, "")
    caller.dial_started = pbx.clock.now()
    local = parse_local(target)
    if local is not None:
        exten, context = local
        if not pbx.extension_exists(context, exten):
            done("CHANUNAVAIL")
            return
        callee, two = new_local_pair(pbx, exten, context, linkedid=caller.linkedid)
        _dial_local(pbx, caller, callee, two, target[6:])
        dial_begin(pbx, caller, callee, f"{exten}@{context}")
        _wait_for_answer(pbx, caller, callee, timeout, done)
        run_dialplan(pbx, two)
        return
    endpoint_name = target.split("/", 1)[1] if "/" in target else target
    endpoint = pbx.endpoints.get(endpoint_name)
    if endpoint is None or not endpoint.registered:
        pbx.set_var(caller, "DIALSTATUS", "CHANUNAVAIL")
        done("CHANUNAVAIL")
        return
    callee = pbx.new_channel(
        f"PJSIP/{endpoint.name}-{pbx.next_pjsip_id()}",
        linkedid=caller.linkedid,
        context=endpoint.context,
        exten=endpoint.name,
        endpoint=endpoint.name,
        cid=(endpoint.name, endpoint.callerid_name),
    )
    dial_begin(pbx, caller, callee, endpoint.name)
    _wait_for_answer(pbx, caller, callee, timeout, done)
    ring_phone(pbx, callee, timeout)


def _dial_local(pbx: PBX, caller: Channel, one: Channel, two: Channel, number: str) -> None:
    """app_dial preparing a Local pair, in 22's order (originate_async_call.ami).

    ;1 takes the caller's place in the dialplan (its exten, its number as
    caller ID, the caller's ID as connected line); ;2 gets the caller's ID.
    """
    pbx.set_var(one, "DIALEDPEERNUMBER", number)
    one.context, one.exten = caller.context, caller.exten
    one.cid_num, one.cid_name = caller.exten, caller.cid_name
    one.conn_num, one.conn_name = caller.cid_num, caller.cid_name
    pbx.newexten(one, "AppDial", "(Outgoing Line)")
    pbx.emit_channel("NewCallerid", one, [("CID-CallingPres", CALLING_PRES)])
    pbx.emit_channel("NewConnectedLine", one)
    pbx.set_var(two, "DIALEDPEERNUMBER", number)
    pbx.set_caller_id(two, caller.cid_num, caller.cid_name)
    pbx.set_connected_line(two, caller.exten, caller.cid_name)
    local_bridge(pbx, one, two)


def ring_phone(pbx: PBX, callee: Channel, timeout: float) -> None:
    """The phone rings, then answers, refuses (busy) or is ignored, per its fate."""
    pbx.set_state(callee, RINGING)
    pbx.device_state(callee.device, "RINGING")
    fate = pbx.fates.pop(callee.endpoint or "", None) or pbx.default_fate
    kind, _, arg = fate.partition(":")
    delay = _float(arg, pbx.ring_time)
    if kind == "busy":
        callee.timer = pbx.clock.call_later(delay, lambda: _refuse(pbx, callee, 17, REASON_BUSY))
    elif kind == "noanswer" or delay >= timeout:
        callee.timer = pbx.clock.call_later(
            timeout, lambda: _refuse(pbx, callee, 19, REASON_TIMEOUT)
        )
    else:
        callee.timer = pbx.clock.call_later(delay, lambda: _phone_answers(pbx, callee))


def _phone_answers(pbx: PBX, callee: Channel) -> None:
    callee.timer = None
    pbx.set_state(callee, UP)
    _answered(callee)


def _refuse(pbx: PBX, callee: Channel, cause: int, reason: int) -> None:
    callee.timer = None
    if cause == 17:
        pbx.set_state(callee, BUSY)
    _failed(callee, reason)
    teardown(pbx, callee, cause)


_STATUS = {REASON_BUSY: "BUSY", REASON_TIMEOUT: "NOANSWER", REASON_HANGUP: "CANCEL"}


def _wait_for_answer(
    pbx: PBX, caller: Channel, callee: Channel, timeout: float, done: DialDone
) -> None:
    caller.dialed.append(callee)

    def on_answer(_: Channel) -> None:
        if callee in caller.dialed:
            caller.dialed.remove(callee)
        pbx.set_var(caller, "DIALSTATUS", "ANSWER")
        pbx.set_var(caller, "DIALEDPEERNAME", callee.name)
        pbx.set_var(caller, "DIALEDPEERNUMBER", callee.variables.get("DIALEDPEERNUMBER", ""))
        dial_end(pbx, caller, callee, "ANSWER")
        answer(pbx, caller)
        caller.dial_answered = pbx.clock.now()
        if callee.partner is not None:  # the bridged ;1 re-announces itself, exten blank
            callee.exten = ""
            pbx.newexten(callee, "AppDial", "(Outgoing Line)")
        connect(pbx, caller, callee)

    def on_fail(reason: int) -> None:
        if callee in caller.dialed:
            caller.dialed.remove(callee)
        status = _STATUS.get(reason, "CONGESTION")
        dial_end(pbx, caller, callee, status)
        pbx.set_var(caller, "DIALSTATUS", status)
        done(status)

    callee.on_answer, callee.on_fail = on_answer, on_fail
    caller.on_fail = None


def connect(pbx: PBX, caller: Channel, callee: Channel) -> None:
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


# -- originate ------------------------------------------------------------------
OriginateDone = Callable[[bool, int, Channel | None], None]


def originate(
    pbx: PBX,
    target: str,
    *,
    application: str | None = None,
    data: str = "",
    context: str | None = None,
    exten: str | None = None,
    priority: int = 1,
    callerid: tuple[str, str] | None = None,
    variables: dict[str, str] | None = None,
    timeout: float = 30.0,
    done: OriginateDone,
    uniqueids: tuple[str | None, str | None] = (None, None),
) -> Channel | None:
    """Place a call to ``target``; on answer run the application or the extension.

    ``done(ok, reason, channel)`` fires once: on answer (reason 4) or failure.
    """
    pbx.processed_calls += 1

    def then(channel: Channel) -> None:
        done(True, REASON_ANSWERED, channel)
        if application:
            # Outside the dialplan: no Newexten, no ``h``, and Hangup cause 0 when the
            # application returns (originate_sync.ami).
            channel.in_dialplan = False
            channel.application, channel.data = application, data
            if _execute(pbx, channel, application, data):
                teardown(pbx, channel, 0)
            return
        if context and exten:
            channel.context, channel.exten, channel.priority = context, exten, priority
            run_dialplan(pbx, channel)

    local = parse_local(target)
    if local is not None:
        lexten, lcontext = local
        if not pbx.extension_exists(lcontext, lexten):
            done(False, REASON_FAILURE, None)
            return None
        one, two = new_local_pair(pbx, lexten, lcontext, uniqueids=uniqueids)
        pbx.newexten(one, "AppDial2", "(Outgoing Line)")
        _originate_local(pbx, one, two, callerid, variables or {})
        dial_begin(pbx, None, one, f"{lexten}@{lcontext}")

        def local_answered(ch: Channel) -> None:
            dial_end(pbx, None, ch, "ANSWER")
            then(ch)

        one.on_answer = local_answered
        one.on_fail = lambda reason: done(False, reason, None)
        run_dialplan(pbx, two)
        return one
    endpoint = pbx.endpoints.get(target.split("/", 1)[-1])
    if endpoint is None or not endpoint.registered or not target.upper().startswith("PJSIP/"):
        done(False, REASON_FAILURE, None)
        return None
    channel = pbx.new_channel(
        f"PJSIP/{endpoint.name}-{pbx.next_pjsip_id()}",
        context=context or endpoint.context,
        exten=exten or "s",
        endpoint=endpoint.name,
        cid=callerid or (endpoint.name, endpoint.callerid_name),
    )
    for name, value in (variables or {}).items():
        pbx.set_var(channel, name, value)

    def phone_answered(ch: Channel) -> None:
        pbx.device_state(ch.device, "INUSE")
        then(ch)

    channel.on_answer = phone_answered
    channel.on_fail = lambda reason: done(False, reason, channel)
    ring_phone(pbx, channel, timeout)
    return channel


def _originate_local(
    pbx: PBX,
    one: Channel,
    two: Channel,
    callerid: tuple[str, str] | None,
    variables: dict[str, str],
) -> None:
    """Originate's variables and caller ID on a Local pair, then ``LocalBridge``.

    22 sets the variables on ;1 in reverse order (a prepended list) and on ;2 in
    order; caller ID and connected line each announce themselves on each half
    (originate_async_call.ami, queue_call.ami).
    """
    for name, value in reversed(variables.items()):
        pbx.set_var(one, name, value)
    if callerid is not None:
        pbx.set_caller_id(one, *callerid)
        pbx.set_connected_line(one, *callerid)
    for name, value in variables.items():
        pbx.set_var(two, name, value)
    if callerid is not None:
        two.conn_num, two.conn_name = callerid
        pbx.set_caller_id(two, *callerid)
        pbx.emit_channel("NewConnectedLine", two)
    local_bridge(pbx, one, two)


def redirect(pbx: PBX, channel: Channel, context: str, exten: str, priority: int) -> None:
    """Move ``channel`` (out of its bridge or application) to context/exten/priority."""
    if channel.timer is not None:
        channel.timer.cancel()
        channel.timer = None
    for peer in leave_bridge(pbx, channel):
        teardown(pbx, peer, 16, soft=True)
    channel.context, channel.exten, channel.priority = context, exten, priority
    run_dialplan(pbx, channel)


# -- hang-up ----------------------------------------------------------------------
def hangup(pbx: PBX, channel: Channel, cause: int = 16) -> None:
    """Hang ``channel`` up from outside (the AMI ``Hangup`` action).

    Asterisk 22 emits no request event for the channel itself here, only the
    ``HangupRequest`` its Local partner receives (tests/fixtures/asterisk22/hangup.ami).
    """
    teardown(pbx, channel, cause)


def teardown(
    pbx: PBX, channel: Channel, cause: int, *, request: bool = False, soft: bool = False
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


def _teardown(pbx: PBX, channel: Channel, cause: int, *, request: bool, soft: bool) -> None:
    if channel.timer is not None:
        channel.timer.cancel()
        channel.timer = None
    if request:
        pbx.emit_channel("HangupRequest", channel, [("Cause", str(cause))])
    if channel.state not in (UP, DOWN) and channel.on_fail is not None:
        _failed(channel, REASON_HANGUP)
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


def leave_bridge(pbx: PBX, channel: Channel) -> list[Channel]:
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


def _dial_closed(pbx: PBX, channel: Channel) -> None:
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


def run_h_extension(pbx: PBX, channel: Channel) -> None:
    if not channel.in_dialplan or not pbx.extension_exists(channel.context, "h"):
        return
    channel.exten, channel.priority = "h", 1
    for app, data in pbx.dialplan[channel.context]["h"]:
        pbx.newexten(channel, app, data)
        channel.priority += 1


def device_idle(pbx: PBX, channel: Channel) -> None:
    """NOT_INUSE once per Local half (two per pair, as 22 sends); once per other device."""
    if channel.tech == "Local" or not any(
        c.device == channel.device for c in pbx.channels.values()
    ):
        pbx.device_state(channel.device, "NOT_INUSE")
