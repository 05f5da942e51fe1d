"""Events per CPU-second of ``amilab.sim.simulate``, against the 50,000 goal and the hand-wired way.

    python benchmarks/simulate.py                 # 5 rounds of 60 simulated minutes at 30 calls/min
    python benchmarks/simulate.py --minutes 240 --calls-per-minute 60 --rounds 3
    python benchmarks/simulate.py --quick         # 1 round of 5 minutes: a smoke run
    python benchmarks/simulate.py --check         # exit 1 if the goal is missed

Two rows, run in rounds with their order alternating (so drift on a shared
machine hits both alike), each timed with ``time.process_time`` around the
whole run, recorder included:

* ``simulate()``: the public call, returning an ``EventRecorder``.
* ``PBX + ReceiveBuffer by hand``: the same traffic on a plain ``PBX`` (every
  event encoded by ``ServerProtocol.event``) with a listener that frames the
  bytes and records them at the virtual time, as notebook 03 did before
  ``simulate`` existed. The baseline of the speed-up line.

Both rows must record the same number of events (the same seed gives the
same calls), or the run fails (exit 2). Goal (issue 10, section 4):
``simulate`` produces at least 50,000 events per CPU-second; the table shows
the median round and the best.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amilab.protocol import ReceiveBuffer
from amilab.recorder import EventRecorder
from amilab.sim import PBX, ParkingLot, VirtualClock, simulate
from amilab.sim.simulate import DEFAULT_MIX, DRAIN_LIMIT

#: Issue 10, section 4: events per CPU-second ``simulate`` must reach.
GOAL_EVENTS_PER_CPU_S = 50_000
SIMULATE = "simulate()"
BY_HAND = "PBX + ReceiveBuffer by hand"


def by_hand(minutes: float, calls_per_minute: float, seed: int) -> EventRecorder:
    """The pre-``simulate`` way: a plain PBX, its listener framing and recording each event."""
    clock = VirtualClock()
    pbx = PBX(clock=clock, seed=seed, conferences=["amilab"], parking_lots=[ParkingLot()])
    recorder = EventRecorder()
    framer = ReceiveBuffer(expect_greeting=False)

    def on_event(name: str, category: str, data: bytes) -> None:
        for message in framer.feed(data):
            recorder.record(message, clock.now_ns())

    pbx.listeners.append(on_event)
    pbx.traffic.start(rate=calls_per_minute / 60.0, seed=seed, mix=DEFAULT_MIX)
    clock.run_for(minutes * 60.0)
    pbx.traffic.stop()
    drained = 0.0
    while pbx.channels and drained < DRAIN_LIMIT:
        clock.run_for(60.0)
        drained += 60.0
    return recorder


def _round(run: Callable[[], EventRecorder]) -> tuple[int, float]:
    """(events, CPU seconds) of one run."""
    gc.collect()
    cpu = time.process_time()
    recorder = run()
    return len(recorder), time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--calls-per-minute", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 round of 5 minutes")
    parser.add_argument("--check", action="store_true", help="exit 1 if the goal is missed")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.rounds = 5.0, 1
    runs: dict[str, Callable[[], EventRecorder]] = {
        SIMULATE: lambda: simulate(args.minutes, args.calls_per_minute, args.seed),
        BY_HAND: lambda: by_hand(args.minutes, args.calls_per_minute, args.seed),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    counts: dict[str, set[int]] = {name: set() for name in runs}
    for i in range(args.rounds):
        for name in list(runs)[:: 1 if i % 2 == 0 else -1]:
            events, cpu = _round(runs[name])
            counts[name].add(events)
            rates[name].append(events / cpu)
    if len(counts[SIMULATE] | counts[BY_HAND]) != 1:
        print(f"the rows recorded different event counts: {counts}", file=sys.stderr)
        return 2
    (events,) = counts[SIMULATE]
    print(
        f"{args.minutes:g} simulated minutes at {args.calls_per_minute:g} calls/min, "
        f"seed {args.seed}: {events:,} events a run; {args.rounds} round(s)"
    )
    print(f"{'row':32s} {'median ev/CPU-s':>16s} {'best ev/CPU-s':>14s}")
    for name in runs:
        print(f"{name:32s} {statistics.median(rates[name]):16,.0f} {max(rates[name]):14,.0f}")
    median = statistics.median(rates[SIMULATE])
    ratio = median / GOAL_EVENTS_PER_CPU_S
    met = ratio >= 1.0
    speedup = median / statistics.median(rates[BY_HAND])
    print()
    print(f"{'simulate() vs by hand':38s} {speedup:6.2f}x median ev/CPU-s")
    print(
        f"{'simulate() / 50,000 ev per CPU-s':38s} {ratio:6.2f}x median ev/CPU-s"
        f"  goal >= 1.0x  {'met' if met else 'MISSED'}"
    )
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
