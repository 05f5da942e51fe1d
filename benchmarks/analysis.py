"""CPU seconds of ``calls``, ``queue_calls`` and ``queue_stats`` on a simulated capture.

    python benchmarks/analysis.py            # ~1,000,000 events, best/median of 3
    python benchmarks/analysis.py --check    # exit 1 if a goal is missed
    python benchmarks/analysis.py --quick    # ~10,000 events, one run: a smoke check

Issue 12, section 4: each of the three on 1,000,000 recorded events in at
most 3 s on one core. The capture is made offline and reproducibly by
``amilab.sim.simulate`` (same arguments, same bytes; nothing is cached in the
repository): at the default 60 calls a minute the simulator writes about 49
events a call, so 340 simulated minutes give about 1,000,000 events. The
frame is built once (``EventRecorder.df``), then each function is timed with
``time.process_time`` (CPU seconds of this process: steadier than wall time
on a shared machine, and pandas runs on one core here). Exit 2 on an error
(an empty or wrong-shaped answer), 1 with ``--check`` on a missed goal.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd

from amilab import analysis
from amilab.sim import simulate

#: The issue's goal: CPU seconds per function on GOAL_EVENTS events.
GOAL_SECONDS = 3.0
GOAL_EVENTS = 1_000_000
#: Simulated traffic giving about GOAL_EVENTS events (measured: ~49 events a call).
MINUTES = 340.0
CALLS_PER_MINUTE = 60.0
SEED = 7
#: ``--quick``: a few thousand events, enough to run every path once.
QUICK_MINUTES = 3.0
#: Room above the recorder's defaults (1,000,000 events, 256 MiB) for the full run.
MAX_EVENTS = 2_000_000
MAX_BYTES = 2 << 30

FUNCTIONS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "calls": analysis.calls,
    "queue_calls": analysis.queue_calls,
    "queue_stats": analysis.queue_stats,
}


def _time(run: Callable[[], pd.DataFrame], repeat: int) -> tuple[list[float], pd.DataFrame]:
    seconds = []
    result = pd.DataFrame()
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        result = run()
        seconds.append(time.process_time() - start)
    return seconds, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=MINUTES)
    parser.add_argument("--calls-per-minute", type=float, default=CALLS_PER_MINUTE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--quick", action="store_true", help="a small run, once: a smoke check")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.repeat = QUICK_MINUTES, 1
    start = time.process_time()
    try:
        df = simulate(
            minutes=args.minutes,
            calls_per_minute=args.calls_per_minute,
            seed=args.seed,
            max_events=MAX_EVENTS,
            max_bytes=MAX_BYTES,
        ).df
    except Exception as exc:  # bad arguments or an overflow: no capture to time
        print(f"simulate: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    made = time.process_time() - start
    judged = len(df) >= GOAL_EVENTS * 0.9  # a smaller run is a smoke check, not a measurement
    print(
        f"{len(df):,} events ({args.minutes:g} simulated minutes, "
        f"{args.calls_per_minute:g} calls/min, seed {args.seed}) made in {made:.1f} s CPU; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    print(f"{'function':12s} {'rows':>8s} {'best s':>8s} {'median s':>9s}  vs goal", flush=True)
    missed = False
    for name, function in FUNCTIONS.items():
        try:
            seconds, result = _time(lambda f=function: f(df), args.repeat)
        except Exception as exc:  # an error is a failed benchmark, not a slow one
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        if result.empty:
            print(f"{name}: empty result on {len(df):,} events", file=sys.stderr)
            return 2
        best, median = min(seconds), statistics.median(seconds)
        ratio = best / GOAL_SECONDS
        met = ratio <= 1.0
        missed |= judged and not met
        verdict = ("met" if met else "MISSED") if judged else "not judged: too few events"
        print(
            f"{name:12s} {len(result):8,} {best:8.2f} {median:9.2f}  "
            f"{ratio:5.2f}x of {GOAL_SECONDS:g} s on {GOAL_EVENTS:,} events ({verdict})",
            flush=True,
        )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
