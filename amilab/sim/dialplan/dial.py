"""app_dial: ``Dial(target,timeout)`` to a PJSIP phone or a Local channel.

:func:`dial` creates the called channel, emits ``DialBegin``, rings it (its
fate: answer, busy, no answer; :attr:`PBXModel.fates`), and on answer sets the
Dial variables, emits ``DialEnd`` and bridges the two. Orders are those of
``tests/fixtures/asterisk22`` (originate_async_call.ami for a Local pair).
"""

from __future__ import annotations

from collections.abc import Callable

from amilab.sim.dialplan.engine import application, arg_float, run_dialplan
from amilab.sim.dialplan.lifecycle import (
    REASON_BUSY,
    REASON_HANGUP,
    REASON_TIMEOUT,
    answer,
    connect,
    dial_begin,
    dial_end,
    local_bridge,
    new_local_pair,
    notify_answered,
    notify_failed,
    parse_local,
    teardown,
)
from amilab.sim.model import BUSY, CALLING_PRES, RINGING, UP, Channel, PBXModel

__all__ = ["DEFAULT_RING_TIME", "DIAL_VARS", "DialDone", "dial", "ring_phone"]

#: ``Dial()``'s timeout when the dialplan gives none (seconds).
DEFAULT_DIAL_TIMEOUT = 30.0
#: How long a simulated phone rings before its owner picks up (seconds).
DEFAULT_RING_TIME = 1.0


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


def _after_dial(pbx: PBXModel, channel: Channel, status: str) -> None:
    if channel.hungup:
        return
    if status == "ANSWER":
        teardown(pbx, channel, 16, soft=True)
        return
    channel.priority += 1
    run_dialplan(pbx, channel)


def dial(pbx: PBXModel, caller: Channel, target: str, timeout: float, done: DialDone) -> None:
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


def _dial_local(pbx: PBXModel, caller: Channel, one: Channel, two: Channel, number: str) -> None:
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


def ring_phone(pbx: PBXModel, callee: Channel, timeout: float) -> None:
    """The phone rings, then answers, refuses (busy) or is ignored, per its fate."""
    pbx.set_state(callee, RINGING)
    pbx.device_state(callee.device, "RINGING")
    fate = pbx.fates.pop(callee.endpoint or "", None) or pbx.default_fate
    kind, _, arg = fate.partition(":")
    delay = arg_float(arg, pbx.ring_time)
    if kind == "busy":
        callee.timer = pbx.clock.call_later(delay, lambda: _refuse(pbx, callee, 17, REASON_BUSY))
    elif kind == "noanswer" or delay >= timeout:
        callee.timer = pbx.clock.call_later(
            timeout, lambda: _refuse(pbx, callee, 19, REASON_TIMEOUT)
        )
    else:
        callee.timer = pbx.clock.call_later(delay, lambda: _phone_answers(pbx, callee))


def _phone_answers(pbx: PBXModel, callee: Channel) -> None:
    callee.timer = None
    pbx.set_state(callee, UP)
    notify_answered(callee)


def _refuse(pbx: PBXModel, callee: Channel, cause: int, reason: int) -> None:
    callee.timer = None
    if cause == 17:
        pbx.set_state(callee, BUSY)
    notify_failed(callee, reason)
    teardown(pbx, callee, cause)


_STATUS = {REASON_BUSY: "BUSY", REASON_TIMEOUT: "NOANSWER", REASON_HANGUP: "CANCEL"}


def _wait_for_answer(
    pbx: PBXModel, caller: Channel, callee: Channel, timeout: float, done: DialDone
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


@application("Dial")
def dial_app(pbx: PBXModel, channel: Channel, data: str) -> bool:
    target, _, rest = data.partition(",")
    timeout = arg_float(rest.split(",", 1)[0], DEFAULT_DIAL_TIMEOUT)
    dial(pbx, channel, target, timeout, lambda status: _after_dial(pbx, channel, status))
    return False
