"""Call actions: Originate, Hangup, Redirect, Getvar, Setvar.

Replies come before the events the change causes, as Asterisk 22 sends them
(originate_*.ami, hangup.ami, redirect.ami, getvar_setvar.ami in
``tests/fixtures/asterisk22``); the call machinery is :mod:`amilab.sim.dialplan`.
"""

from __future__ import annotations

import asyncio
import re

from amilab.protocol import Message, ServerProtocol
from amilab.sim import dialplan
from amilab.sim.ami.lists import aid
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import STATE_DESC, UNKNOWN, Channel, PBXModel

__all__: list[str] = []

respond = ServerProtocol.response


@action("Originate", "originate", "Originate a call.")
async def originate(ctx: ActionContext, msg: Message) -> Reply:
    target = msg.get("Channel")
    if not target:
        return respond(msg, "Error", "Channel not specified")
    priority = msg.get("Priority", "1")
    if not priority.isdigit():
        return respond(msg, "Error", "Invalid priority")
    exten, context = msg.get("Exten"), msg.get("Context")
    cid = _parse_callerid(msg.get("CallerID"))
    variables = dict(v.partition("=")[::2] for v in msg.getall("Variable"))
    asynchronous = (msg.get("Async") or "").lower() in ("true", "yes", "1", "on")
    timeout = float(msg.get("Timeout") or 30000) / 1000.0
    is_local = target.lower().startswith("local/")
    waiter: asyncio.Future[tuple[bool, int]] = asyncio.get_running_loop().create_future()
    pbx = ctx.pbx

    def done(ok: bool, reason: int, channel: Channel | None) -> None:
        if asynchronous:
            _originate_response(pbx, msg, target, context, exten, ok, reason, channel, cid)
        elif not waiter.done():
            waiter.set_result((ok, reason))

    def start() -> None:
        dialplan.originate(
            pbx,
            target,
            application=msg.get("Application"),
            data=msg.get("Data", ""),
            context=context,
            exten=exten,
            priority=int(priority),
            callerid=cid,
            variables=variables,
            timeout=timeout,
            done=done,
            uniqueids=(msg.get("ChannelId"), msg.get("OtherChannelId")),
        )

    if asynchronous or is_local:  # answered at once, the call's events follow
        return [respond(msg, "Success", "Originate successfully queued"), start]
    start()
    ok, _ = await waiter
    if ok:
        return respond(msg, "Success", "Originate successfully queued")
    return respond(msg, "Error", "Originate failed")


def _parse_callerid(text: str | None) -> tuple[str, str] | None:
    if not text:
        return None
    m = re.match(r'\s*"?([^"<]*?)"?\s*<([^>]*)>', text)
    if m:
        return m.group(2), m.group(1)
    return text.strip(), ""


def _originate_response(
    pbx: PBXModel,
    msg: Message,
    target: str,
    context: str | None,
    exten: str | None,
    ok: bool,
    reason: int,
    channel: Channel | None,
    cid: tuple[str, str] | None,
) -> None:
    application = msg.get("Application")
    target_fields = (
        [("Application", application), ("Data", msg.get("Data", ""))]
        if application
        else [("Context", context or ""), ("Exten", exten or "")]
    )
    pbx.emit(
        "OriginateResponse",
        "call",
        [
            *aid(msg),
            ("Response", "Success" if ok else "Failure"),
            ("Channel", channel.name if channel is not None and ok else target),
            *target_fields,
            ("Reason", str(reason)),
            ("Uniqueid", channel.uniqueid if channel is not None and ok else UNKNOWN),
            ("CallerIDNum", cid[0] if cid else UNKNOWN),
            ("CallerIDName", cid[1] if cid else UNKNOWN),
        ],
    )


@action("Hangup", "system,call", "Hangup channel.")
def hangup(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Channel", "")
    cause = int(msg.get("Cause") or 16) if (msg.get("Cause") or "16").isdigit() else 16
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        rx = re.compile(name[1:-1])
        victims = [ch for ch in list(ctx.pbx.channels.values()) if rx.search(ch.name)]
        for ch in victims:
            dialplan.hangup(ctx.pbx, ch, cause)
        return respond(msg, "Success", None, [("Message", f"{len(victims)} channels hung up.")])
    if not name:
        return respond(msg, "Error", "No channel specified")
    channel = ctx.pbx.find_channel(name)
    if channel is None:
        return respond(msg, "Error", "No such channel")
    pbx = ctx.pbx
    return [  # the response before the events, as 22 does (hangup.ami)
        respond(msg, "Success", "Channel Hungup"),
        lambda: dialplan.hangup(pbx, channel, cause),
    ]


@action("Redirect", "call", "Redirect (transfer) a call.")
def redirect(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Channel", "")
    if not name:
        return respond(msg, "Error", "Channel not specified")
    if not msg.get("Priority"):  # checked before the channel (breadth.json)
        return respond(msg, "Error", "Priority not specified")
    channel = ctx.pbx.find_channel(name)
    if channel is None:
        return respond(msg, "Error", f"Channel does not exist: {name}")
    context = msg.get("Context") or channel.context
    exten = msg.get("Exten") or ""
    if not ctx.pbx.extension_exists(context, exten):
        return respond(msg, "Error", "Extension does not exist.")
    priority = msg.get("Priority", "1")
    pbx, where = ctx.pbx, int(priority) if priority.isdigit() else 1
    return [  # the response before the events (redirect.ami)
        respond(msg, "Success", "Redirect successful"),
        lambda: dialplan.redirect(pbx, channel, context, exten, where),
    ]


@action("Getvar", "call,reporting", "Gets a channel variable or function value.")
def getvar(ctx: ActionContext, msg: Message) -> Reply:
    var = msg.get("Variable")
    if not var:
        return respond(msg, "Error", "No variable specified")
    name = msg.get("Channel")
    if name:
        channel = ctx.pbx.find_channel(name)
        if channel is None:
            return respond(msg, "Error", "No such channel")
        value = _channel_value(channel, var)
    else:
        value = ctx.pbx.globals.get(var, "")
    return respond(msg, headers=[("Variable", var), ("Value", value)])


def _channel_value(channel: Channel, var: str) -> str:
    functions = {
        "CALLERID(NUM)": channel.cid_num,
        "CALLERID(NAME)": channel.cid_name,
        "CHANNEL": channel.name,
        "UNIQUEID": channel.uniqueid,
        "CONTEXT": channel.context,
        "EXTEN": channel.exten,
        "PRIORITY": str(channel.priority),
        "CHANNEL(STATE)": STATE_DESC.get(channel.state, ""),
        "CHANNEL(LINKEDID)": channel.linkedid,
    }
    return functions.get(var.upper(), channel.variables.get(var, ""))


@action("Setvar", "call", "Sets a channel variable or function value.")
def setvar(ctx: ActionContext, msg: Message) -> Reply:
    var = msg.get("Variable")
    if not var:
        return respond(msg, "Error", "No variable specified")
    name, value = msg.get("Channel"), msg.get("Value", "")
    channel = None
    if name:
        channel = ctx.pbx.find_channel(name)
        if channel is None:
            return respond(msg, "Error", "No such channel")
    return [respond(msg, "Success", "Variable Set"), lambda: _set(ctx.pbx, channel, var, value)]


def _set(pbx: PBXModel, channel: Channel | None, var: str, value: str) -> None:
    """Setvar's change: a global's VarSet says ``Channel: none`` (getvar_setvar.ami)."""
    if channel is None:
        pbx.globals[var] = value
        pbx.emit(
            "VarSet",
            "dialplan",
            [("Channel", "none"), ("Uniqueid", "none"), ("Variable", var), ("Value", value)],
        )
    else:
        pbx.set_var(channel, var, value)
