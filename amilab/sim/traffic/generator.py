"""Seeded, reproducible call traffic between the simulated endpoints.

``Traffic(pbx).start(rate=20.0, seed=1)`` (``pbx.traffic`` on an
:class:`amilab.sim.PBX`) schedules calls as a Poisson process
on the PBX clock (exponential gaps with mean ``1/rate``); each call draws
its kind from ``mix`` and everything else (phones, ring and talk times) from
one ``random.Random(seed)``. Everything is driven by the clock, so on a
:class:`~amilab.sim.model.VirtualClock` the same seed yields the same events
byte for byte (Uniqueids and bridge ids included).

Call kinds (``mix`` keys, :data:`FATES`): ``answer``, ``busy``, ``noanswer``,
``queue``, ``queue_abandon``, ``queue_timeout``
(:mod:`~amilab.sim.traffic.calls`), ``transfer``, ``park``, ``conference``
(:mod:`~amilab.sim.traffic.scenarios`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping

from amilab.sim.model import Handle, PBXModel
from amilab.sim.traffic.calls import BASIC_FATES, CallPlan, Fate
from amilab.sim.traffic.scenarios import SCENARIO_FATES

__all__ = ["FATES", "FATE_WEIGHTS", "Traffic", "check_mix"]

#: Every call kind by its ``mix`` name.
FATES: dict[str, Fate] = {**BASIC_FATES, **SCENARIO_FATES}
#: The live simulator's default share of calls per kind: mostly answered calls,
#: some busy, unanswered and queue calls (a fifth of those abandoned).
FATE_WEIGHTS: dict[str, float] = {
    "answer": 0.6,
    "busy": 0.15,
    "noanswer": 0.1,
    "queue": 0.12,
    "queue_abandon": 0.03,
}


def check_mix(mix: Mapping[str, float]) -> dict[str, float]:
    """``mix`` as weights by call kind; ValueError naming the problem otherwise.

    Weights are relative (``{"answer": 3, "busy": 1}`` is 75% and 25%); kinds
    left out never happen.
    """
    unknown = sorted(set(mix) - set(FATES))
    if unknown:
        raise ValueError(f"unknown call kind(s) {unknown} in mix; use some of {sorted(FATES)}")
    weights = {}
    for kind, weight in mix.items():
        if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
            raise ValueError(f"mix[{kind!r}] = {weight!r}: give a weight >= 0")
        if weight > 0:
            weights[kind] = float(weight)
    if not weights:
        raise ValueError("every weight in mix is 0; give at least one call kind a weight > 0")
    return {kind: weights[kind] for kind in FATES if kind in weights}


class Traffic:
    """Generates calls at ``rate`` calls/s until :meth:`stop`; ``placed`` counts them by kind."""

    def __init__(self, pbx: PBXModel) -> None:
        self.pbx = pbx
        self.rate = 0.0
        self.rng = random.Random()
        self.mix = dict(FATE_WEIGHTS)
        self.calls = 0
        self.placed: Counter[str] = Counter()
        self._plan: CallPlan | None = None
        #: What outlives one call (parked calls, open conferences), kept across restarts.
        self._state: dict[str, object] = {}
        self._timer: Handle | None = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(
        self, rate: float = 2.0, seed: int | None = None, mix: Mapping[str, float] | None = None
    ) -> None:
        """Start (or retune) the generator; thread-safe. ``mix``: weights by call kind."""
        if rate <= 0:
            raise ValueError(f"rate must be positive calls/s, got {rate!r}")
        weights = check_mix(FATE_WEIGHTS if mix is None else mix)
        self.pbx.clock.run_threadsafe(lambda: self._start(rate, seed, weights))

    def _start(self, rate: float, seed: int | None, mix: dict[str, float]) -> None:
        self._stop()
        self.rate = rate
        self.mix = mix
        self.rng = random.Random(seed)
        self._plan = None
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
        """One call, its kind drawn from :attr:`mix`."""
        phones = sorted(self.pbx.endpoints)
        if len(phones) < 2:
            return
        plan = self._plan
        if plan is None or plan.phones != phones:
            plan = self._plan = CallPlan(self.pbx, self.rng, phones, self._state)
        kind = self.rng.choices(list(self.mix), weights=list(self.mix.values()))[0]
        self.calls += 1
        self.placed[kind] += 1
        FATES[kind](plan)
