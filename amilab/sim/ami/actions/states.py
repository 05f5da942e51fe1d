"""State queries: ExtensionState(List), DeviceStateList, PresenceState(List), Mailbox*.

Shapes are Asterisk 22's (main/manager.c, main/devicestate.c,
main/presencestate.c, app_voicemail's mailbox API) as recorded in
``tests/fixtures/asterisk22/breadth.json``. The simulator's dialplan has no
``hint`` priorities, so every extension's state is -1 (``Unknown``) and the
extension state list is empty, as on the sandbox.
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import event_list, require
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import PBXModel

__all__ = ["device_states"]

respond = ServerProtocol.response
event = ServerProtocol.event

#: An endpoint's device state text (PJSIPShowEndpoint) -> ast_devstate_str's name.
_DEVSTATE = {
    "Not in use": "NOT_INUSE",
    "In use": "INUSE",
    "Ringing": "RINGING",
    "Busy": "BUSY",
    "Unavailable": "UNAVAILABLE",
}


def device_states(pbx: PBXModel) -> dict[str, str]:
    """Every device Asterisk has a cached state for: phones, queue pause devices, the rest."""
    states = {f"PJSIP/{ep.name}": _DEVSTATE.get(ep.device_state, "UNKNOWN")
              for ep in pbx.endpoints.values()}  # fmt: skip
    for queue in pbx.queues.values():  # app_queue's per-member pause device
        for m in queue.members:
            states[f"Queue:{queue.name}_pause_{m.interface}"] = "INUSE" if m.paused else "NOT_INUSE"
    states.update(pbx.device_states)
    return states


@action("DeviceStateList", "call,reporting", "List the current known device states.")
def device_state_list(ctx: ActionContext, msg: Message) -> Reply:
    items = [
        event("DeviceStateChange", [("Device", dev), ("State", st)], action_id=msg.action_id)
        for dev, st in device_states(ctx.pbx).items()
    ]
    return event_list(msg, "Device State Changes will follow", items, "DeviceStateListComplete")


@action("ExtensionState", "call,reporting", "Check Extension Status.")
def extension_state(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Exten", "Extension not specified")
    if missing:
        return missing
    return respond(
        msg,
        "Success",
        "Extension Status",
        [
            ("Exten", msg["Exten"]),
            ("Context", msg.get("Context") or "default"),
            ("Hint", ""),
            ("Status", "-1"),
            ("StatusText", "Unknown"),
        ],
    )


@action("ExtensionStateList", "call,reporting", "List the current known extension states.")
def extension_state_list(ctx: ActionContext, msg: Message) -> Reply:
    head = "Extension Statuses will follow"
    return event_list(msg, head, [], "ExtensionStateListComplete")


@action("PresenceState", "call,reporting", "Check Presence State")
def presence_state(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Provider", "No provider specified")
    if missing:
        return missing
    return respond(msg, "Success", "Presence State", [("State", "not_set")])


@action("PresenceStateList", "call,reporting", "List the current known presence states.")
def presence_state_list(ctx: ActionContext, msg: Message) -> Reply:
    head = "Presence State Changes will follow"
    return event_list(msg, head, [], "PresenceStateListComplete")


def _counts(ctx: ActionContext, mailbox: str) -> tuple[int, int, int]:
    """(urgent, new, old) of ``box@context``; an unknown box has no messages."""
    box = ctx.pbx.mailboxes.get(mailbox if "@" in mailbox else f"{mailbox}@default")
    return (box.urgent, box.new, box.old) if box is not None else (0, 0, 0)


@action("MailboxCount", "call,reporting", "Check Mailbox Message Count.")
def mailbox_count(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Mailbox", "Mailbox not specified")
    if missing:
        return missing
    urgent, new, old = _counts(ctx, msg["Mailbox"])
    return respond(
        msg,
        "Success",
        "Mailbox Message Count",
        [
            ("Mailbox", msg["Mailbox"]),
            ("UrgMessages", str(urgent)),
            ("NewMessages", str(new)),
            ("OldMessages", str(old)),
        ],
    )


@action("MailboxStatus", "call,reporting", "Check mailbox.")
def mailbox_status(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Mailbox", "Mailbox not specified")
    if missing:
        return missing
    urgent, new, _ = _counts(ctx, msg["Mailbox"])
    waiting = "1" if urgent + new else "0"
    return respond(
        msg, "Success", "Mailbox Status", [("Mailbox", msg["Mailbox"]), ("Waiting", waiting)]
    )
