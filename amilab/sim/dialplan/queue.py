"""app_queue: a caller waits in a queue while its members ring (ringall), one answers.

Theory of operation, as Asterisk 22 does it in ``tests/fixtures/asterisk22/queue_call.ami``
(a Local/300 caller into queue ``support`` whose members are Local/400 and
Local/401, each answering and hanging up after ``Wait(2)``):

1. :func:`queue_call` clears the closing variables (``ANSWEREDTIME`` ...,
   ``QUEUEWAIT``), the queue's device ``Queue:<name>`` turns RINGING,
   ``QueueCallerJoin`` and ``MusicOnHoldStart``.
2. Every free member is rung at once (ringall): a Local pair per member, set
   up as app_queue does it, then ``AgentCalled`` and ``DialBegin``. The pairs'
   ;2 halves then run the dialplan; the first to answer wins.
3. The winner: ``DialEnd ANSWER``; each loser gets ``DialEnd CANCEL`` (twice,
   as recorded) and is hung up with cause 26, Answered elsewhere; then
   ``MusicOnHoldStop``, ``QueueCallerLeave``, the ``QUEUE*`` variables,
   ``AgentConnect``, ``QueueMemberStatus`` and the bridge.
4. When the bridge breaks, ``AgentComplete`` (Reason ``agent`` or
   ``caller``, whoever left first) and the member's ``QueueMemberStatus``;
   the caller, still in the dialplan, hangs up (Queue returns -1).

Real runs race: which member wins and how far the loser gets before the
cancel differ from run to run (``tests/sim/recordings/queue_call.rerun*.ami``).
The simulator picks one interleaving deterministically: the first free member
in the queue's order wins, and the losers are cancelled before their ;2 runs
a priority.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from amilab.sim.dialplan import lifecycle
from amilab.sim.dialplan.engine import application, arg_float, next_priority, run_dialplan
from amilab.sim.model import (
    CALLING_PRES,
    UP,
    Channel,
    PBXModel,
    Queue,
    QueueMember,
    member_fields,
    snapshot,
)

__all__ = ["DEFAULT_QUEUE_TIMEOUT", "queue_call"]

#: Hang-up cause of a ringall loser: AST_CAUSE_ANSWERED_ELSEWHERE (queue_call.ami).
CAUSE_ANSWERED_ELSEWHERE = 26
#: ``Queue()``'s wait when the dialplan gives no timeout (seconds). Real app_queue then
#: waits for ever; the simulator gives up so that no call lingers in a long run.
DEFAULT_QUEUE_TIMEOUT = 300.0
#: Music-on-hold class of the sandbox's queues (``MusicOnHoldStart`` ``Class``).
MOH_CLASS = "default"
#: Variables app_queue clears when a caller enters (queue_call.ami, in this order).
ENTRY_VARS = (
    "ANSWEREDTIME",
    "ANSWEREDTIME_MS",
    "DIALEDTIME",
    "DIALEDTIME_MS",
    "QUEUEWAIT",
    "QUEUEWAIT_MS",
)


@dataclass(eq=False)
class _Ring:
    """One member being rung: its Local pair."""

    member: QueueMember
    one: Channel
    two: Channel


@dataclass(eq=False)
class _Entry:
    """One caller in one queue, from join to leave."""

    pbx: PBXModel
    queue: Queue
    caller: Channel
    joined: float
    ring_delay: float
    on_done: Callable[[], None] | None
    rings: list[_Ring] = field(default_factory=list)
    position: int = 1
    connected: bool = False


def queue_call(
    pbx: PBXModel,
    caller: Channel,
    name: str,
    *,
    timeout: float = DEFAULT_QUEUE_TIMEOUT,
    ring_delay: float = 0.0,
    abandon_after: float | None = None,
    on_done: Callable[[], None] | None = None,
) -> None:
    """``Queue(name)`` for ``caller``, who is in the dialplan.

    ``ring_delay``: seconds before the members' ;2 halves start their dialplan
    (0 in the sandbox, whose agents answer at once). ``abandon_after``: the
    caller hangs up after that long if nobody has answered. ``on_done`` runs
    when the call leaves the queue without being answered (timeout).
    """
    queue = pbx.queues.get(name)
    if queue is None:
        lifecycle.teardown(pbx, caller, 16, request=True)
        return
    entry = _Entry(pbx, queue, caller, pbx.clock.now(), ring_delay, on_done)
    _join(entry)
    if abandon_after is not None:
        caller.timer = pbx.clock.call_later(abandon_after, lambda: _abandon(entry))
    else:
        caller.timer = pbx.clock.call_later(timeout, lambda: _time_out(entry))
    _ring_free_members(entry)


def _join(entry: _Entry) -> None:
    pbx, queue, caller = entry.pbx, entry.queue, entry.caller
    for var in ENTRY_VARS:
        pbx.set_var(caller, var, "")
    queue.callers.append(caller)
    queue.entries.append(entry)
    entry.position = len(queue.callers)
    if len(queue.callers) == 1:
        pbx.device_state(f"Queue:{queue.name}", "RINGING")
    pbx.emit("QueueCallerJoin", "agent", [*snapshot(caller), *_position(entry)])
    pbx.emit("MusicOnHoldStart", "call", [*snapshot(caller), ("Class", MOH_CLASS)])
    caller.on_hangup = lambda: _caller_gone(entry)


def _ring_free_members(entry: _Entry) -> bool:
    """Ring every free member for ``entry`` (ringall); False if none could be rung."""
    pbx = entry.pbx
    for member in [m for m in entry.queue.members if not m.in_call and not m.paused]:
        ring = _ring(entry, member)
        if ring is not None:
            entry.rings.append(ring)
    for ring in list(entry.rings):
        if entry.ring_delay > 0:
            ring.two.timer = pbx.clock.call_later(entry.ring_delay, _start(pbx, ring.two))
        elif not entry.connected:
            run_dialplan(pbx, ring.two)
    return bool(entry.rings)


def _next_caller(queue: Queue) -> None:
    """A member is free: ring for the first caller still waiting with nobody ringing."""
    for entry in queue.entries:
        if not entry.connected and not entry.rings and _ring_free_members(entry):
            return


def _start(pbx: PBXModel, two: Channel) -> Callable[[], None]:
    def start() -> None:
        two.timer = None
        if not two.hungup:
            run_dialplan(pbx, two)

    return start


def _position(entry: _Entry) -> list[tuple[str, str]]:
    queue = entry.queue
    return [
        ("Queue", queue.name),
        ("Position", str(entry.position)),
        ("Count", str(len(queue.callers))),
    ]


def _ring(entry: _Entry, member: QueueMember) -> _Ring | None:
    """Set up a member's Local pair in app_queue's order (queue_call.ami), then ring it.

    ;1 takes the caller's caller ID and, once bridged to ;2, the caller's
    extension and connected line; ;2 gets the caller's ID and connected line.
    """
    pbx, caller = entry.pbx, entry.caller
    local = lifecycle.parse_local(member.interface)
    if local is None or not pbx.extension_exists(local[1], local[0]):
        return None
    exten, context = local
    one, two = lifecycle.new_local_pair(pbx, exten, context, linkedid=caller.linkedid)
    one.cid_num, one.cid_name = caller.cid_num, caller.cid_name
    pbx.newexten(one, "AppQueue", "(Outgoing Line)")
    pbx.emit_channel("NewCallerid", one, [("CID-CallingPres", CALLING_PRES)])
    number = member.interface[len("Local/") :]
    pbx.set_var(one, "DIALEDPEERNUMBER", number)
    pbx.set_var(two, "DIALEDPEERNUMBER", number)
    two.conn_num, two.conn_name = caller.cid_num, caller.cid_name
    pbx.set_caller_id(two, caller.cid_num, caller.cid_name)
    pbx.emit_channel("NewConnectedLine", two)
    lifecycle.local_bridge(pbx, one, two)
    one.exten, one.conn_num, one.conn_name = caller.exten, caller.cid_num, caller.cid_name
    two.in_dialplan = True  # its PBX thread runs from the start: a cancelled ;2 still runs h
    ring = _Ring(member, one, two)
    pbx.emit("AgentCalled", "agent", _agent_headers(entry, ring))
    lifecycle.dial_begin(pbx, caller, one, member.interface)
    one.on_answer = lambda _: _answered(entry, ring)
    return ring


def _agent_headers(entry: _Entry, ring: _Ring) -> list[tuple[str, str]]:
    return [
        *snapshot(entry.caller),
        *snapshot(ring.one, "Dest"),
        ("Queue", entry.queue.name),
        ("Interface", ring.member.interface),
        ("MemberName", ring.member.name),
    ]


def _answered(entry: _Entry, ring: _Ring) -> None:
    """The first member to answer: cancel the others, leave the queue, bridge."""
    pbx, caller, one = entry.pbx, entry.caller, ring.one
    if entry.connected or caller.hungup:
        lifecycle.teardown(pbx, one, 16)
        return
    entry.connected = True
    _stop_timer(caller)
    pbx.newexten(one, "AppQueue", "(Outgoing Line)")
    pbx.emit_channel("NewConnectedLine", one)
    lifecycle.dial_end(pbx, caller, one, "ANSWER")
    for other in entry.rings:
        if other is not ring:
            _cancel(entry, other, CAUSE_ANSWERED_ELSEWHERE)
    entry.rings = [ring]
    pbx.emit_channel("MusicOnHoldStop", caller)
    _leave(entry)
    now = pbx.clock.now()
    pbx.emit(
        "AgentConnect",
        "agent",
        [
            *_agent_headers(entry, ring),
            ("HoldTime", str(int(now - entry.joined))),
            ("RingTime", "0"),
        ],
    )
    _member_busy(entry, ring.member, True)
    caller.on_hangup = None
    one.on_hangup = lambda: _completed(entry, ring, now)
    lifecycle.connect(pbx, caller, one)
    caller.dial_started, caller.dial_answered = entry.joined, now
    caller.dial_app = "Queue"


def _stop_timer(channel: Channel) -> None:
    if channel.timer is not None:
        channel.timer.cancel()
        channel.timer = None


def _cancel(entry: _Entry, ring: _Ring, cause: int) -> None:
    """Hang up a member still ringing, as app_queue does (queue_call.ami's loser).

    ``DialEnd CANCEL`` comes twice; ;2 is asked to hang up with ``cause``, ;1
    ends (a ``NewConnectedLine`` trails its ``Hangup``), then ;2 runs ``h``.
    """
    pbx, one, two = entry.pbx, ring.one, ring.two
    one.on_answer = one.on_fail = None
    for _ in range(2):
        lifecycle.dial_end(pbx, entry.caller, one, "CANCEL")
    _stop_timer(two)
    with pbx.deferred_device_states():
        pbx.emit_channel("HangupRequest", two, [("Cause", str(cause))])
        pbx.destroy_channel(one, cause)
        pbx.emit_channel("NewConnectedLine", one)
        pbx.emit_channel("SoftHangupRequest", two, [("Cause", "16")])
        lifecycle.run_h_extension(pbx, two)
        pbx.destroy_channel(two, cause)
        if UP in (one.state, two.state):
            for half in (one, two):
                lifecycle.device_idle(pbx, half)


def _leave(entry: _Entry) -> None:
    """``QueueCallerLeave`` and the ``QUEUE*`` variables; the queue's device idles when empty."""
    pbx, queue, caller = entry.pbx, entry.queue, entry.caller
    if caller not in queue.callers:
        return
    queue.callers.remove(caller)
    if entry in queue.entries:
        queue.entries.remove(entry)
    if not queue.callers:
        pbx.device_state(f"Queue:{queue.name}", "NOT_INUSE")
    pbx.emit("QueueCallerLeave", "agent", [*snapshot(caller), *_position(entry)])
    waited = pbx.clock.now() - entry.joined
    queue.holdtime = int(waited)
    pbx.set_var(caller, "QUEUEPOSITION", str(entry.position))
    pbx.set_var(caller, "QUEUEWAIT", str(int(waited)))
    pbx.set_var(caller, "QUEUEWAIT_MS", str(int(waited * 1000)))


def _member_busy(entry: _Entry, member: QueueMember, busy: bool) -> None:
    """Mark ``member`` in or out of a call: ``QueueMemberStatus`` and ``Queue:<q>_avail``."""
    pbx, queue = entry.pbx, entry.queue
    before = _all_busy(queue)
    member.in_call = busy
    if busy:
        member.calls_taken += 1
        member.last_call = int(pbx.clock.now())
    pbx.emit("QueueMemberStatus", "agent", member_fields(queue.name, member))
    after = _all_busy(queue)
    if after != before:
        pbx.device_state(f"Queue:{queue.name}_avail", "INUSE" if after else "NOT_INUSE")


def _all_busy(queue: Queue) -> bool:
    return bool(queue.members) and all(m.in_call or m.paused for m in queue.members)


def _completed(entry: _Entry, ring: _Ring, answered: float) -> None:
    """The agent's ;1 ended: ``AgentComplete`` and the member is free again."""
    pbx, queue = entry.pbx, entry.queue
    talk = pbx.clock.now() - answered
    queue.completed += 1
    queue.talktime = int(talk)
    pbx.emit(
        "AgentComplete",
        "agent",
        [
            *_agent_headers(entry, ring),
            ("HoldTime", str(int(answered - entry.joined))),
            ("TalkTime", str(int(talk))),
            ("Reason", "caller" if entry.caller.hungup else "agent"),
        ],
    )
    _member_busy(entry, ring.member, False)
    _next_caller(queue)


def _abandon(entry: _Entry) -> None:
    """The caller gives up before anyone answers."""
    entry.caller.timer = None
    if not entry.connected:
        lifecycle.teardown(entry.pbx, entry.caller, 16)


def _caller_gone(entry: _Entry) -> None:
    """The caller hung up while waiting: ``QueueCallerAbandon``, members stop ringing.

    Not recorded from the sandbox: here it follows the caller's ``Hangup``
    (the hook runs once the channel is gone).
    """
    pbx, queue, caller = entry.pbx, entry.queue, entry.caller
    if entry.connected:
        return
    pbx.emit(
        "QueueCallerAbandon",
        "agent",
        [
            *snapshot(caller),
            ("Queue", queue.name),
            ("Position", str(entry.position)),
            ("OriginalPosition", str(entry.position)),
            ("HoldTime", str(int(pbx.clock.now() - entry.joined))),
        ],
    )
    queue.abandoned += 1
    for ring in entry.rings:
        _cancel(entry, ring, 16)
    entry.rings = []
    _leave(entry)


def _time_out(entry: _Entry) -> None:
    """Nobody answered within the timeout: leave and go on in the dialplan."""
    pbx, caller = entry.pbx, entry.caller
    caller.timer = None
    if entry.connected or caller.hungup:
        return
    caller.on_hangup = None
    for ring in entry.rings:
        _cancel(entry, ring, 16)
    entry.rings = []
    pbx.emit_channel("MusicOnHoldStop", caller)
    _leave(entry)
    if entry.on_done is not None:
        entry.on_done()


@application("Queue")
def queue_app(pbx: PBXModel, channel: Channel, data: str) -> bool:
    """``Queue(name,options,URL,announce,timeout)``: only the name and timeout matter here."""
    args = data.split(",")
    timeout = arg_float(args[4], 0.0) if len(args) > 4 else 0.0
    queue_call(
        pbx,
        channel,
        args[0],
        on_done=lambda: next_priority(pbx, channel),
        timeout=timeout if timeout > 0 else DEFAULT_QUEUE_TIMEOUT,
    )
    return False
