"""The everyday call fates: answered, busy, unanswered, and the queue's three outcomes.

Each fate is a function of a :class:`CallPlan` (the PBX, the generator's one
``random.Random``, the phones, the state that outlives one call) that places
one call on the PBX clock; everything after that happens on the clock. The
events are the model's own (:mod:`amilab.sim.dialplan`): Dial as in
``tests/fixtures/asterisk22``, app_queue as in ``queue_call.ami``.

Q.850 causes: answered calls end with 16 (Normal Clearing), busy ones with
17 (User busy), unanswered ones with 19 (User alerting, no answer).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amilab.sim.dialplan.dial import dial
from amilab.sim.dialplan.lifecycle import teardown
from amilab.sim.dialplan.queue import queue_call
from amilab.sim.model import RING, UP, Channel, PBXModel

__all__ = [
    "BASIC_FATES",
    "NO_ANSWER_TIMEOUT",
    "QUEUE_EXTEN",
    "QUEUE_TIMEOUT",
    "RING_RANGE",
    "TALK_RANGE",
    "CallPlan",
    "Fate",
    "dial_phone",
    "end_talk",
    "incoming",
]

#: Ring time range before an answer, talk time range once answered (seconds).
RING_RANGE = (0.5, 4.0)
TALK_RANGE = (2.0, 30.0)
#: How long a Dial waits for an unanswered phone (seconds).
NO_ANSWER_TIMEOUT = 15.0
#: How long the queue's members ring before one answers (seconds), and the caller's
#: ``Queue()`` timeout when nobody does (the sandbox dialplan's ``Queue(support,,,,10)``).
QUEUE_WAIT_RANGE = (1.0, 8.0)
QUEUE_TIMEOUT = 10.0
#: The sandbox's queue extension and queue (tests/asterisk/etc/extensions.conf ``300``).
QUEUE_EXTEN = "300"
QUEUE_NAME = "support"
#: A caller who abandons gives up after this share of the time the members would ring.
ABANDON_SHARE = 0.5
#: How much longer than the timeout the members of a timed-out queue call would ring.
TIMEOUT_OVERRUN = 5.0


@dataclass
class CallPlan:
    """What a fate needs: the PBX, the one seeded RNG, the phones, long-lived call state."""

    pbx: PBXModel
    rng: random.Random
    #: Endpoint names, sorted, so that a seed picks the same phones every run.
    phones: list[str]
    #: State kept across calls by the scenarios (parked calls, open conferences).
    state: dict[str, Any] = field(default_factory=dict)

    def pick(self, count: int) -> list[str]:
        """``count`` different phones (the first is the caller)."""
        return self.rng.sample(self.phones, count)

    def between(self, bounds: tuple[float, float]) -> float:
        """A duration drawn uniformly, in whole milliseconds (so the bytes repeat)."""
        return round(self.rng.uniform(*bounds), 3)


#: One call kind: places a call described by the plan's RNG.
Fate = Callable[[CallPlan], None]


def incoming(pbx: PBXModel, endpoint_name: str, exten: str) -> Channel:
    """A call arriving from a phone: ``Newchannel`` in state Ring with its caller ID."""
    endpoint = pbx.endpoints[endpoint_name]
    pbx.processed_calls += 1
    channel = pbx.new_channel(
        f"PJSIP/{endpoint.name}-{pbx.next_pjsip_id()}",
        state=RING,
        context=endpoint.context,
        exten=exten,
        endpoint=endpoint.name,
        cid=(endpoint.name, endpoint.callerid_name),
    )
    channel.in_dialplan = True
    return channel


def dial_phone(pbx: PBXModel, caller: Channel, callee_name: str, fate: str) -> None:
    """``Dial(PJSIP/<callee>,15)`` from ``caller``; the callee answers, refuses or ignores it.

    ``fate`` is :attr:`PBXModel.fates`'s text (``answer:<ring s>``, ``busy:<s>``,
    ``noanswer``). A failed Dial ends the caller with DIALSTATUS's cause.
    """
    pbx.fates[callee_name] = fate
    pbx.newexten(caller, "Dial", f"PJSIP/{callee_name},{int(NO_ANSWER_TIMEOUT)}")

    def done(status: str) -> None:
        teardown(pbx, caller, {"BUSY": 17, "NOANSWER": 19}.get(status, 16))

    dial(pbx, caller, f"PJSIP/{callee_name}", NO_ANSWER_TIMEOUT, done)


def end_talk(pbx: PBXModel, caller: Channel, caller_hangs_up: bool) -> None:
    """The talk is over: the caller (or the party bridged with it) hangs up, cause 16."""
    caller.timer = None
    if caller.hungup:
        return
    bridge = pbx.bridges.get(caller.bridge)
    peers = [c for c in bridge.channels if c is not caller] if bridge else []
    target = caller if caller_hangs_up or not peers else peers[0]
    teardown(pbx, target, 16)


def answered(plan: CallPlan) -> None:
    """A calls B; B answers after ringing; one of them hangs up after talking."""
    pbx = plan.pbx
    caller_name, callee_name = plan.pick(2)
    ring, talk = plan.between(RING_RANGE), plan.between(TALK_RANGE)
    caller_hangs_up = plan.rng.random() < 0.5
    caller = incoming(pbx, caller_name, callee_name)
    dial_phone(pbx, caller, callee_name, f"answer:{ring}")
    caller.timer = pbx.clock.call_later(ring + talk, lambda: end_talk(pbx, caller, caller_hangs_up))


def busy(plan: CallPlan) -> None:
    """A calls B, who refuses it after ringing: DialStatus BUSY, cause 17."""
    caller_name, callee_name = plan.pick(2)
    ring = plan.between(RING_RANGE)
    dial_phone(plan.pbx, incoming(plan.pbx, caller_name, callee_name), callee_name, f"busy:{ring}")


def unanswered(plan: CallPlan) -> None:
    """A calls B, who lets it ring out: DialStatus NOANSWER after 15 s, cause 19."""
    caller_name, callee_name = plan.pick(2)
    dial_phone(plan.pbx, incoming(plan.pbx, caller_name, callee_name), callee_name, "noanswer")


def _queue(plan: CallPlan, outcome: str) -> None:
    """A calls the ``support`` queue (extension 300): answered, abandoned or timed out."""
    pbx = plan.pbx
    (caller_name,) = plan.pick(1)
    wait = plan.between(QUEUE_WAIT_RANGE)
    if QUEUE_NAME not in pbx.queues:  # a PBX configured without it: a plain call instead
        answered(plan)
        return
    caller = incoming(pbx, caller_name, QUEUE_EXTEN)
    pbx.newexten(caller, "Answer", "")
    pbx.set_state(caller, UP)
    caller.priority = 3
    pbx.newexten(caller, "Queue", f"{QUEUE_NAME},,,,{int(QUEUE_TIMEOUT)}")
    queue_call(
        pbx,
        caller,
        QUEUE_NAME,
        timeout=QUEUE_TIMEOUT,
        ring_delay=QUEUE_TIMEOUT + TIMEOUT_OVERRUN if outcome == "timeout" else wait,
        abandon_after=wait * ABANDON_SHARE if outcome == "abandon" else None,
        on_done=lambda: teardown(pbx, caller, 16),
    )


def queued(plan: CallPlan) -> None:
    """A queue call a member answers after ringing (``AgentConnect``, ``AgentComplete``)."""
    _queue(plan, "answer")


def queue_abandon(plan: CallPlan) -> None:
    """A queue caller who hangs up before a member answers (``QueueCallerAbandon``)."""
    _queue(plan, "abandon")


def queue_timeout(plan: CallPlan) -> None:
    """A queue call nobody answers within ``Queue()``'s 10 s timeout; the caller leaves."""
    _queue(plan, "timeout")


#: The fates of this module by their ``mix`` name.
BASIC_FATES: dict[str, Fate] = {
    "answer": answered,
    "busy": busy,
    "noanswer": unanswered,
    "queue": queued,
    "queue_abandon": queue_abandon,
    "queue_timeout": queue_timeout,
}
