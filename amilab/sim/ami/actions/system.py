"""System actions: Command, CoreSettings, CoreStatus, Reload, CoreShowChannels, Status.

Header orders are Asterisk 22's (coresettings.ami, corestatus.ami,
coreshowchannels_*.ami, status.ami, command_*.ami in ``tests/fixtures/asterisk22``).
"""

from __future__ import annotations

import time

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.actions.modules import LOADED_MODULES
from amilab.sim.ami.cli import run_cli
from amilab.sim.ami.lists import aid, event_list, hms
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import Channel, PBXModel, snapshot

__all__: list[str] = []

respond = ServerProtocol.response
event = ServerProtocol.event


@action("Command", "command", "Execute Asterisk CLI Command.")
def command(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Command"):
        return respond(msg, "Error", "No command provided")
    ok, lines = run_cli(ctx, msg.get("Command", ""))
    return respond(
        msg,
        "Success" if ok else "Error",
        "Command output follows",
        [("Output", line) for line in lines],
    )


@action("CoreSettings", "system,reporting", "Show PBX core settings (version etc).")
def core_settings(ctx: ActionContext, msg: Message) -> Reply:
    pbx = ctx.pbx
    return respond(
        msg,
        headers=[
            ("AMIversion", ctx.ami_version),
            ("AsteriskVersion", pbx.version),
            ("SystemName", pbx.system_name),
            ("CoreMaxCalls", str(pbx.max_calls)),
            ("CoreMaxLoadAvg", "0.000000"),
            ("CoreRunUser", "asterisk"),
            ("CoreRunGroup", "asterisk"),
            ("CoreMaxFilehandles", "0"),
            ("CoreRealTimeEnabled", "No"),
            ("CoreCDRenabled", "Yes"),
            ("CoreHTTPenabled", "No"),
            ("SoundsSearchCustomDir", "No"),
        ],
    )


@action("CoreStatus", "system,reporting", "Show PBX core status variables.")
def core_status(ctx: ActionContext, msg: Message) -> Reply:
    pbx = ctx.pbx
    start, reload = time.localtime(pbx.startup_time), time.localtime(pbx.reload_time)
    return respond(
        msg,
        headers=[
            ("CoreStartupDate", time.strftime("%Y-%m-%d", start)),
            ("CoreStartupTime", time.strftime("%H:%M:%S", start)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", reload)),
            ("CoreReloadTime", time.strftime("%H:%M:%S", reload)),
            ("CoreCurrentCalls", str(ctx.pbx.active_calls())),
            ("CoreProcessedCalls", str(pbx.processed_calls)),
        ],
    )


@action("Reload", "system,config", "Send a reload event.")
def reload(ctx: ActionContext, msg: Message) -> Reply:
    module = msg.get("Module")
    if module and module.removesuffix(".so") not in LOADED_MODULES:
        return respond(msg, "Error", "No such module")
    ctx.pbx.reload()
    ctx.pbx.emit("Reload", "system", [("Module", "All"), ("Status", "0")])
    return respond(msg, "Success", "Module Reloaded")


@action("CoreShowChannels", "system,reporting", "List currently active channels.")
def core_show_channels(ctx: ActionContext, msg: Message) -> Reply:
    pbx = ctx.pbx
    now = pbx.clock.now()
    items = [
        event(
            "CoreShowChannel",
            [
                *snapshot(ch),
                ("Application", ch.application),
                ("ApplicationData", ch.data),
                ("Duration", hms(now - ch.created)),
                ("BridgeId", ch.bridge),
            ],
            action_id=msg.action_id,
        )
        for ch in _channels_by_age(ctx.pbx)
    ]
    return event_list(msg, "Channels will follow", items, "CoreShowChannelsComplete")


def _channels_by_age(pbx: PBXModel) -> list[Channel]:
    return sorted(pbx.channels.values(), key=lambda ch: (ch.created, ch.name))


@action("Status", "system,call,reporting", "List channel status.")
def status(ctx: ActionContext, msg: Message) -> Reply:
    name = msg.get("Channel")
    if name:
        channel = ctx.pbx.find_channel(name)
        if channel is None:
            return respond(msg, "Error", "No such channel")
        chans = [channel]
    else:
        chans = list(reversed(_channels_by_age(ctx.pbx)))
    now = ctx.pbx.clock.now()
    items = [_status_item(ch, now, msg) for ch in chans]
    n = str(len(items))
    return event_list(msg, "Channel status will follow", items, "StatusComplete", [("Items", n)])


def _status_item(ch: Channel, now: float, msg: Message) -> bytes:
    return event(
        "Status",
        [
            ("Privilege", "Call"),
            *snapshot(ch),
            ("Type", ch.tech),
            ("DNID", ""),
            ("EffectiveConnectedLineNum", ch.conn_num),
            ("EffectiveConnectedLineName", ch.conn_name),
            ("TimeToHangup", "0"),
            ("BridgeID", ch.bridge),
            ("Application", ch.application),
            ("Data", ch.data),
            ("Nativeformats", "(ulaw)" if ch.tech == "PJSIP" else "(slin)"),
            ("Readformat", "ulaw" if ch.tech == "PJSIP" else "slin"),
            ("Readtrans", ""),
            ("Writeformat", "ulaw" if ch.tech == "PJSIP" else "slin"),
            ("Writetrans", ""),
            ("Callgroup", "0"),
            ("Pickupgroup", "0"),
            ("Seconds", str(int(now - ch.created))),
            *aid(msg),
        ],
    )
