"""Queue actions: QueueStatus, QueueSummary, QueueAdd, QueueRemove, QueuePause, QueuePenalty,
QueueMemberRingInUse, QueueLog, QueueRule, QueueReload, QueueReset,
QueueChangePriorityCaller, QueueWithdrawCaller.

Shapes are Asterisk 22's app_queue (queuestatus.ami, queuesummary.ami,
queue_add_remove.ami, breadth.json and required_params.json in
``tests/fixtures/asterisk22``).
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import aid, event_list, not_simulated, require
from amilab.sim.ami.registry import ActionContext, Reply, action
from amilab.sim.model import PBXModel, Queue, QueueMember, member_fields

__all__: list[str] = []

respond = ServerProtocol.response
event = ServerProtocol.event


@action("QueueStatus", synopsis="Show queue status.")
def queue_status(ctx: ActionContext, msg: Message) -> Reply:
    wanted = msg.get("Queue")
    now = ctx.pbx.clock.now()
    items: list[bytes] = []
    for q in ctx.pbx.queues.values():
        if wanted and q.name != wanted:
            continue
        perf = "100.0" if q.completed else "0.0"
        items.append(
            event(
                "QueueParams",
                [
                    ("Queue", q.name),
                    ("Max", str(q.max)),
                    ("Strategy", q.strategy),
                    ("Calls", str(len(q.callers))),
                    ("Holdtime", str(q.holdtime)),
                    ("TalkTime", str(q.talktime)),
                    ("Completed", str(q.completed)),
                    ("Abandoned", str(q.abandoned)),
                    ("ServiceLevel", str(q.servicelevel)),
                    ("ServicelevelPerf", perf),
                    ("ServicelevelPerf2", perf),
                    ("Weight", str(q.weight)),
                    *aid(msg),
                ],
            )
        )
        for m in reversed(q.members):
            items.append(
                event("QueueMember", [*member_fields(q.name, m, "Name", "Location"), *aid(msg)])
            )
        for pos, ch in enumerate(q.callers, 1):
            items.append(
                event(
                    "QueueEntry",
                    [
                        ("Queue", q.name),
                        ("Position", str(pos)),
                        ("Channel", ch.name),
                        ("Uniqueid", ch.uniqueid),
                        ("CallerIDNum", ch.cid_num),
                        ("CallerIDName", ch.cid_name),
                        ("ConnectedLineNum", ch.conn_num),
                        ("ConnectedLineName", ch.conn_name),
                        ("Wait", str(int(now - ch.created))),
                        ("Priority", "0"),
                        *aid(msg),
                    ],
                )
            )
    return event_list(msg, "Queue status will follow", items, "QueueStatusComplete")


@action("QueueSummary", synopsis="Show queue summary.")
def queue_summary(ctx: ActionContext, msg: Message) -> Reply:
    wanted = msg.get("Queue")
    items = []
    for q in ctx.pbx.queues.values():
        if wanted and q.name != wanted:
            continue
        available = [m for m in q.members if not m.paused and not m.in_call]
        items.append(
            event(
                "QueueSummary",
                [
                    ("Queue", q.name),
                    ("LoggedIn", str(len(q.members))),
                    ("Available", str(len(available))),
                    ("Callers", str(len(q.callers))),
                    ("HoldTime", str(q.holdtime)),
                    ("TalkTime", str(q.talktime)),
                    ("LongestHoldTime", "0"),
                    *aid(msg),
                ],
            )
        )
    return event_list(msg, "Queue summary will follow", items, "QueueSummaryComplete")


@action("QueueAdd", "agent", "Add interface to queue.")
def queue_add(ctx: ActionContext, msg: Message) -> Reply:
    missing = require(msg, "Queue", "'Queue' not specified.") or require(
        msg, "Interface", "'Interface' not specified."
    )
    if missing:  # texts and order: required_params.json, breadth.json
        return missing
    queue = ctx.pbx.queues.get(msg["Queue"])
    interface = msg["Interface"]
    if queue is None:
        return respond(msg, "Error", "Unable to add interface to queue: No such queue")
    if queue.member(interface) is not None:
        return respond(msg, "Error", "Unable to add interface: Already there")
    penalty = msg.get("Penalty", "0")
    member = QueueMember(
        interface,
        msg.get("MemberName") or interface,
        penalty=int(penalty) if penalty.isdigit() else 0,
        paused=(msg.get("Paused") or "").lower() in ("true", "yes", "1"),
        membership="dynamic",
        login_time=int(ctx.pbx.clock.now()),
    )
    queue.members.append(member)
    fields = member_fields(queue.name, member)
    return [
        respond(msg, "Success", "Added interface to queue"),
        lambda: ctx.pbx.emit("QueueMemberAdded", "agent", fields),
    ]


@action("QueueRemove", "agent", "Remove interface from queue.")
def queue_remove(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Queue") or not msg.get("Interface"):
        return respond(msg, "Error", "Need 'Queue' and 'Interface' parameters.")
    queue = ctx.pbx.queues.get(msg.get("Queue", ""))
    if queue is None:
        return respond(msg, "Error", "Unable to remove interface from queue: No such queue")
    member = queue.member(msg.get("Interface", ""))
    if member is None:
        return respond(msg, "Error", "Unable to remove interface: Not there")
    queue.members.remove(member)
    fields = member_fields(queue.name, member)
    return [
        respond(msg, "Success", "Removed interface from queue"),
        lambda: ctx.pbx.emit("QueueMemberRemoved", "agent", fields),
    ]


@action("QueuePause", "agent", "Makes a queue member temporarily unavailable.")
def queue_pause(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Interface") or not msg.get("Paused"):
        return respond(msg, "Error", "Need 'Interface' and 'Paused' parameters.")
    interface = msg.get("Interface", "")
    paused = (msg.get("Paused") or "").lower() in ("true", "yes", "1")
    wanted = msg.get("Queue")
    hits: list[tuple[Queue, QueueMember]] = []
    for q in ctx.pbx.queues.values():
        member = q.member(interface)
        if member is not None and (not wanted or q.name == wanted):
            hits.append((q, member))
    if not hits:
        return respond(msg, "Error", "Interface not found")
    text = "Interface paused successfully" if paused else "Interface unpaused successfully"
    reason = msg.get("Reason", "")
    return [respond(msg, "Success", text), lambda: _pause(ctx.pbx, hits, paused, reason)]


def _pause(pbx: PBXModel, hits: list[tuple[Queue, QueueMember]], paused: bool, reason: str) -> None:
    """Pause or unpause each member found, one ``QueueMemberPause`` per queue."""
    for q, member in hits:
        member.paused = paused
        member.paused_reason = reason if paused else ""
        member.last_pause = int(pbx.clock.now()) if paused else member.last_pause
        pbx.emit("QueueMemberPause", "agent", member_fields(q.name, member))


def _members(ctx: ActionContext, msg: Message) -> list[tuple[Queue, QueueMember]]:
    """Each (queue, member) for ``Interface``, in ``Queue`` only if one is named."""
    wanted, interface = msg.get("Queue"), msg.get("Interface", "")
    found = []
    for q in ctx.pbx.queues.values():
        member = q.member(interface)
        if member is not None and (not wanted or q.name == wanted):
            found.append((q, member))
    return found


@action("QueuePenalty", "agent", "Set the penalty for a queue member.")
def queue_penalty(ctx: ActionContext, msg: Message) -> Reply:
    penalty = msg.get("Penalty", "")
    if not msg.get("Interface") or not penalty:
        return respond(msg, "Error", "Need 'Interface' and 'Penalty' parameters.")
    if not penalty.isdigit():
        return respond(msg, "Error", "Invalid penalty")
    hits = _members(ctx, msg)
    if not hits:
        return respond(msg, "Error", "Invalid interface, queuename or penalty")
    pbx = ctx.pbx

    def apply() -> None:
        for q, member in hits:
            member.penalty = int(penalty)
            pbx.emit("QueueMemberPenalty", "agent", member_fields(q.name, member))

    return [respond(msg, "Success", "Interface penalty set successfully"), apply]


@action("QueueMemberRingInUse", "agent", "Set the ringinuse value for a queue member.")
def queue_member_ring_in_use(ctx: ActionContext, msg: Message) -> Reply:
    value = (msg.get("RingInUse") or "").lower()
    if not msg.get("Interface") or not value:
        return respond(msg, "Error", "Need 'Interface' and 'RingInUse' parameters.")
    hits = _members(ctx, msg)
    if value not in _BOOLS or not hits:
        return respond(msg, "Error", "Invalid interface, queuename, or ringinuse value")
    pbx = ctx.pbx

    def apply() -> None:
        for q, member in hits:
            member.ringinuse = _BOOLS[value]
            pbx.emit("QueueMemberRinginuse", "agent", member_fields(q.name, member))

    return [respond(msg, "Success", "Interface ringinuse set successfully"), apply]


#: ast_true / ast_false words.
_BOOLS = {
    **dict.fromkeys(("yes", "true", "y", "t", "1", "on"), True),
    **dict.fromkeys(("no", "false", "n", "f", "0", "off"), False),
}


@action("QueueLog", "agent", "Adds custom entry in queue_log.")
def queue_log(ctx: ActionContext, msg: Message) -> Reply:
    if not msg.get("Queue") or not msg.get("Event"):
        return respond(msg, "Error", "Need 'Queue' and 'Event' parameters.")
    # The simulator keeps no queue_log file: the line is accepted and dropped.
    return respond(msg, "Success", "Event added successfully")


@action("QueueRule", synopsis="Queue Rules.")
def queue_rule(ctx: ActionContext, msg: Message) -> Reply:
    # queuerules.conf has no rules (sandbox and simulator): a bare Success, no Message.
    return respond(msg, "Success")


@action("QueueReload", "", "Reload a queue, queues, or any sub-section of a queue or queues.")
def queue_reload(ctx: ActionContext, msg: Message) -> Reply:
    wanted = msg.get("Queue")
    if wanted and wanted not in ctx.pbx.queues:
        return respond(msg, "Error", "No such queue")
    return respond(msg, "Success", "Queue reloaded successfully")


@action("QueueReset", "", "Reset queue statistics.")
def queue_reset(ctx: ActionContext, msg: Message) -> Reply:
    wanted = msg.get("Queue")
    for q in ctx.pbx.queues.values():
        if not wanted or q.name == wanted:
            q.completed = q.abandoned = q.holdtime = q.talktime = 0
            for member in q.members:
                member.calls_taken, member.last_call = 0, 0
    return respond(msg, "Success", "Queue stats reset successfully")


def _caller_action(name: str, synopsis: str, failure: str, extra: tuple[str, ...]) -> None:
    """QueueChangePriorityCaller / QueueWithdrawCaller: find the caller, else app_queue's text."""

    def handler(ctx: ActionContext, msg: Message) -> Reply:
        for header in ("Queue", "Caller", *extra):
            missing = require(msg, header, f"'{header}' not specified.")
            if missing:
                return missing
        queue = ctx.pbx.queues.get(msg["Queue"])
        if queue is None:
            return respond(msg, "Error", f"{failure}: No such queue")
        if not any(ch.name == msg["Caller"] for ch in queue.callers):
            return respond(msg, "Error", f"{failure}: No such caller")
        return not_simulated(msg, name)

    action(name, "", synopsis)(handler)  # no class needed (ListCommands: <none>)


_caller_action(
    "QueueChangePriorityCaller",
    "Change priority of a caller on queue.",
    "Unable to change priority caller on queue",
    ("Priority",),
)
_caller_action(
    "QueueWithdrawCaller",
    "Request to withdraw a caller from the queue back to the dialplan.",
    "Unable to request withdraw from queue",
    (),
)
