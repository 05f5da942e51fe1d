"""Seeded, reproducible call traffic between the simulated endpoints.

``Traffic(pbx).start(rate=20.0, seed=1)`` (``pbx.traffic`` on an
:class:`amilab.sim.PBX`) schedules calls as a Poisson process
on the PBX clock (exponential gaps with mean ``1/rate``); each call picks a
caller, a callee and a fate from one ``random.Random(seed)``. Everything is
driven by the clock, so on a :class:`~amilab.sim.model.VirtualClock` the same
seed yields the same events byte for byte (Uniqueids and bridge ids included).

Fates, with their Q.850 causes: answered (16, Normal Clearing), busy (17,
User busy), no answer (19, User alerting, no answer), and queue calls into
``support`` (answered by a member after ringing, abandoned, or timed out;
:mod:`amilab.sim.dialplan.queue`).
"""

from __future__ import annotations

import random

from amilab.sim.dialplan.dial import dial
from amilab.sim.dialplan.lifecycle import teardown
from amilab.sim.dialplan.queue import queue_call
from amilab.sim.model import RING, UP, Channel, Handle, PBXModel

__all__ = ["FATE_WEIGHTS", "Traffic"]

#: Share of generated calls per fate (answered, busy, no answer, queue).
FATE_WEIGHTS = {"answer": 0.6, "busy": 0.15, "noanswer": 0.1, "queue": 0.15}
#: Ring time range before an answer, talk time range once answered (seconds).
RING_RANGE = (0.5, 4.0)
TALK_RANGE = (2.0, 30.0)
#: How long a Dial waits for an unanswered phone (seconds).
NO_ANSWER_TIMEOUT = 15.0
#: How long the queue's members ring before one answers (seconds), and the caller's
#: ``Queue()`` timeout when nobody does (the sandbox dialplan's ``Queue(support,,,,10)``).
QUEUE_WAIT_RANGE = (1.0, 8.0)
QUEUE_TIMEOUT = 10.0


class Traffic:
    """Generates calls at ``rate`` calls/s until :meth:`stop`."""

    def __init__(self, pbx: PBXModel) -> None:
        self.pbx = pbx
        self.rate = 0.0
        self.rng = random.Random()
        self.calls = 0
        self._timer: Handle | None = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self, rate: float = 2.0, seed: int | None = None) -> None:
        """Start (or retune) the generator; thread-safe."""
        if rate <= 0:
            raise ValueError(f"rate must be positive calls/s, got {rate!r}")
        self.pbx.clock.run_threadsafe(lambda: self._start(rate, seed))

    def _start(self, rate: float, seed: int | None) -> None:
        self._stop()
        self.rate = rate
        self.rng = random.Random(seed)
        self._schedule()

    def stop(self) -> None:
        """Stop generating; calls already up finish normally. Thread-safe."""
        self.pbx.clock.run_threadsafe(self._stop)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        self._timer = self.pbx.clock.call_later(self.rng.expovariate(self.rate), self._tick)

    def _tick(self) -> None:
        self._schedule()
        self.place_call()

    def place_call(self) -> None:
        """One random call, fate drawn from :data:`FATE_WEIGHTS`."""
        pbx, rng = self.pbx, self.rng
        names = sorted(pbx.endpoints)
        if len(names) < 2:
            return
        self.calls += 1
        caller_name, callee_name = rng.sample(names, 2)
        fate = rng.choices(list(FATE_WEIGHTS), weights=list(FATE_WEIGHTS.values()))[0]
        ring = round(rng.uniform(*RING_RANGE), 3)
        talk = round(rng.uniform(*TALK_RANGE), 3)
        caller = _incoming(pbx, caller_name, "300" if fate == "queue" else callee_name)
        if fate == "queue":
            caller.in_dialplan = True
            pbx.newexten(caller, "Answer", "")
            pbx.set_state(caller, UP)
            wait = round(rng.uniform(*QUEUE_WAIT_RANGE), 3)
            abandon = rng.random() < 0.2
            caller.priority = 3
            pbx.newexten(caller, "Queue", "support,,,,10")
            queue_call(
                pbx,
                caller,
                "support",
                timeout=QUEUE_TIMEOUT,
                ring_delay=wait,
                abandon_after=wait / 2 if abandon else None,
                on_done=lambda: teardown(pbx, caller, 16),
            )
            return
        pbx.fates[callee_name] = {"answer": f"answer:{ring}", "busy": f"busy:{ring}"}.get(
            fate, "noanswer"
        )
        caller.in_dialplan = True
        pbx.newexten(caller, "Dial", f"PJSIP/{callee_name},{int(NO_ANSWER_TIMEOUT)}")

        def done(status: str) -> None:
            cause = {"BUSY": 17, "NOANSWER": 19}.get(status, 16)
            teardown(pbx, caller, cause)

        dial(pbx, caller, f"PJSIP/{callee_name}", NO_ANSWER_TIMEOUT, done)
        if fate == "answer":
            hang_first = rng.random() < 0.5
            caller.timer = pbx.clock.call_later(
                ring + talk, lambda: _end_talk(pbx, caller, hang_first)
            )


def _incoming(pbx: PBXModel, endpoint_name: str, exten: str) -> Channel:
    """A call arriving from a phone: ``Newchannel`` in state Ring with its caller ID."""
    endpoint = pbx.endpoints[endpoint_name]
    pbx.processed_calls += 1
    return pbx.new_channel(
        f"PJSIP/{endpoint.name}-{pbx.next_pjsip_id()}",
        state=RING,
        context=endpoint.context,
        exten=exten,
        endpoint=endpoint.name,
        cid=(endpoint.name, endpoint.callerid_name),
    )


def _end_talk(pbx: PBXModel, caller: Channel, caller_hangs_up: bool) -> None:
    caller.timer = None
    if caller.hungup:
        return
    bridge = pbx.bridges.get(caller.bridge)
    peers = [c for c in bridge.channels if c is not caller] if bridge else []
    target = caller if caller_hangs_up or not peers else peers[0]
    teardown(pbx, target, 16)
