"""Calls started from outside the dialplan: Originate and Redirect.

``Originate`` rings a PJSIP phone or creates a Local pair (as Asterisk 22 does
it in originate_sync.ami / originate_async_call.ami), then on answer runs the
given application (outside the dialplan: no ``Newexten``, no ``h``, Hangup
cause 0 when it returns) or the given extension. ``Redirect`` takes a channel
out of its bridge or application and runs it at a new place (redirect.ami).
"""

from __future__ import annotations

from collections.abc import Callable

from amilab.sim.dialplan.dial import ring_phone
from amilab.sim.dialplan.engine import execute, run_dialplan
from amilab.sim.dialplan.lifecycle import (
    REASON_ANSWERED,
    REASON_FAILURE,
    dial_begin,
    dial_end,
    leave_bridge,
    local_bridge,
    new_local_pair,
    parse_local,
    teardown,
)
from amilab.sim.model import Channel, PBXModel

__all__ = ["OriginateDone", "originate", "redirect"]

OriginateDone = Callable[[bool, int, Channel | None], None]


def originate(
    pbx: PBXModel,
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
            if execute(pbx, channel, application, data):
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
    pbx: PBXModel,
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


def redirect(pbx: PBXModel, channel: Channel, context: str, exten: str, priority: int) -> None:
    """Move ``channel`` (out of its bridge or application) to context/exten/priority."""
    if channel.timer is not None:
        channel.timer.cancel()
        channel.timer = None
    for peer in leave_bridge(pbx, channel):
        teardown(pbx, peer, 16, soft=True)
    channel.context, channel.exten, channel.priority = context, exten, priority
    run_dialplan(pbx, channel)
