"""Bridge actions: BridgeList, BridgeInfo, BridgeKick, BridgeDestroy, Bridge, BridgeTechnology*.

Texts, list framing and header orders are Asterisk 22's (main/manager_bridges.c,
main/features.c ``action_bridge``) as recorded in
``tests/fixtures/asterisk22/breadth.json``. A list item names its event and
then the ActionID, before the bridge or channel snapshot.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim import dialplan
from amilab.sim.ami.lists import aid, event_list, require
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import Bridge, bridge_snapshot, snapshot

__all__ = ["TECHNOLOGIES"]

respond = ServerProtocol.response
event = ServerProtocol.event

#: ``bridge technology list`` of the sandbox: name, type, priority (BridgeTechnologyList).
TECHNOLOGIES: tuple[tuple[str, str, int], ...] = (
    ("native_rtp", "Native", 90),
    ("holding_bridge", "Holding", 50),
    ("simple_bridge", "1to1Mix", 50),
    ("softmix", "MultiMix", 10),
)


@action("BridgeList", synopsis="Get a list of bridges in the system.")
def bridge_list(ctx: ActionContext, msg: Message) -> Reply:
    wanted = (msg.get("BridgeType") or "").lower()
    items = [
        event("BridgeListItem", bridge_snapshot(b), action_id=msg.action_id)
        for b in ctx.pbx.bridges.values()
        if not wanted or wanted == "basic"
    ]
    return event_list(msg, "Bridge listing will follow", items, "BridgeListComplete")


def _bridge(ctx: ActionContext, msg: Message) -> tuple[Bridge | None, bytes | None]:
    missing = require(msg, "BridgeUniqueid", "BridgeUniqueid must be provided")
    if missing:
        return None, missing
    bridge = ctx.pbx.bridges.get(msg["BridgeUniqueid"])
    if bridge is None:
        return None, respond(msg, "Error", "Specified BridgeUniqueid not found")
    return bridge, None


@action("BridgeInfo", synopsis="Get information about a bridge.")
def bridge_info(ctx: ActionContext, msg: Message) -> Reply:
    bridge, error = _bridge(ctx, msg)
    if bridge is None:
        return error
    items = [
        event("BridgeInfoChannel", snapshot(ch), action_id=msg.action_id) for ch in bridge.channels
    ]
    return event_list(
        msg, "Bridge channel listing will follow", items, "BridgeInfoComplete",
        bridge_snapshot(bridge),
    )  # fmt: skip


@action("BridgeDestroy", synopsis="Destroy a bridge.")
def bridge_destroy(ctx: ActionContext, msg: Message) -> Reply:
    bridge, error = _bridge(ctx, msg)
    if bridge is None:
        return error
    pbx, members = ctx.pbx, list(bridge.channels)

    def destroy() -> None:  # every channel is pushed out; none has a dialplan to go on to
        for ch in members:
            if not ch.hungup:
                dialplan.hangup(pbx, ch)

    return [respond(msg, "Success", "Bridge has been destroyed"), destroy]


@action("BridgeKick", synopsis="Kick a channel from a bridge.")
def bridge_kick(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Channel", "Channel must be provided")
    if missing:
        return missing
    channel = ctx.pbx.find_channel(msg["Channel"])
    if channel is None:
        return respond(msg, "Error", "Channel does not exist")
    if not channel.bridge:
        return respond(msg, "Error", "Channel is not in a bridge")
    pbx = ctx.pbx
    return [
        respond(msg, "Success", "Channel has been kicked"),
        lambda: dialplan.hangup(pbx, channel),
    ]


@action("Bridge", "call", "Bridge two channels already in the PBX.")
def bridge(ctx: ActionContext, msg: Message) -> Reply:
    first, second = msg.get("Channel1"), msg.get("Channel2")
    if not first or not second:
        return respond(msg, "Error", "Missing channel parameter in request")
    one = ctx.pbx.find_channel(first)
    if one is None:
        return respond(msg, "Error", f"Channel1 does not exist: {first}")
    two = ctx.pbx.find_channel(second)
    if two is None:
        return respond(msg, "Error", f"Channel2 does not exist: {second}")
    pbx = ctx.pbx

    def join() -> None:
        for ch in (one, two):
            if ch.bridge:
                pbx.bridge_leave(ch)
        new = pbx.create_bridge()
        pbx.bridge_enter(new, one)
        pbx.bridge_enter(new, two)

    return [respond(msg, "Success", "Channels have been bridged"), join]


@action("BridgeTechnologyList", synopsis="List available bridging technologies and their statuses.")
def technology_list(ctx: ActionContext, msg: Message) -> Reply:
    # Unlike other list items, these carry the ActionID last (breadth.json).
    items = [
        event(
            "BridgeTechnologyListItem",
            [
                ("BridgeTechnology", name),
                ("BridgeType", kind),
                ("BridgePriority", str(priority)),
                ("BridgeSuspended", "Yes" if name in ctx.pbx.suspended_technologies else "No"),
                *aid(msg),
            ],
        )
        for name, kind, priority in TECHNOLOGIES
    ]
    head = "Bridge technology listing will follow"
    return event_list(msg, head, items, "BridgeTechnologyListComplete")


def _suspend(ctx: ActionContext, msg: Message, suspend: bool) -> Reply:
    missing = require(msg, "BridgeTechnology", "BridgeTechnology must be provided")
    if missing:
        return missing
    name = msg["BridgeTechnology"]
    if name not in {t[0] for t in TECHNOLOGIES}:
        return respond(msg, "Error", "BridgeTechnology not found")
    if suspend:
        ctx.pbx.suspended_technologies.add(name)
        return respond(msg, "Success", "Suspended bridge technology")
    ctx.pbx.suspended_technologies.discard(name)
    return respond(msg, "Success", "Unsuspended bridge technology")


@action("BridgeTechnologySuspend", synopsis="Suspend a bridging technology.")
def technology_suspend(ctx: ActionContext, msg: Message) -> Reply:
    return _suspend(ctx, msg, True)


@action("BridgeTechnologyUnsuspend", synopsis="Unsuspend a bridging technology.")
def technology_unsuspend(ctx: ActionContext, msg: Message) -> Reply:
    return _suspend(ctx, msg, False)
