"""Queue actions: QueueStatus, QueueSummary, QueueAdd, QueueRemove, QueuePause.

Shapes are Asterisk 22's app_queue (queuestatus.ami, queuesummary.ami,
queue_add_remove.ami in ``tests/fixtures/asterisk22``).
"""

from __future__ import annotations

from amilab.protocol import Message, ServerProtocol
from amilab.sim.ami.lists import aid, event_list
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
    queue = ctx.pbx.queues.get(msg.get("Queue", ""))
    interface = msg.get("Interface", "")
    if not msg.get("Queue") or not interface:
        return respond(msg, "Error", "'Queue' and 'Interface' not set.")
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
