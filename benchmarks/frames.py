"""Seconds to frame a capture: ``to_frame`` of raw event blocks, and ``EventRecorder.to_frame``.

    python benchmarks/frames.py                      # 1,000,000 events, best of 3
    python benchmarks/frames.py --events 200000 --reference
    python benchmarks/frames.py --quick              # 5,000 events, one run: a smoke check

The corpus is the real Asterisk 22 call traffic of ``corpus.py`` repeated to
N events, each block a distinct ``bytes`` object as a recorder holds them.
Wall and CPU seconds are both shown (the CPU time is steadier on a shared
machine); the first run of a process pays for first-touching fresh memory,
so it is shown as well as the best. ``--reference`` also times the reference
path (``frames._reference_frame``), the pre-vectorisation implementation.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from corpus import corpus_events

from amilab import frames
from amilab.protocol import Message
from amilab.recorder import EventRecorder

#: Receive times given to the recorder: any fixed start, one nanosecond apart.
_T0 = 1_795_669_599_000_000_000


def _blocks(count: int) -> list[bytes]:
    """``count`` corpus events without their blank line, each its own bytes object."""
    events = [e[: -len(b"\r\n\r\n")] for e in corpus_events()]
    return [bytes(bytearray(events[i % len(events)])) for i in range(count)]


def _time(label: str, run: Callable[[], object], repeat: int) -> None:
    results = []
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        results.append((time.perf_counter() - wall, time.process_time() - cpu))
        del result
    best_wall = min(w for w, _ in results)
    best_cpu = min(c for _, c in results)
    first_wall = results[0][0]
    print(
        f"{label:32s} best {best_wall:6.2f} s wall {best_cpu:6.2f} s CPU"
        f"   first run {first_wall:6.2f} s wall",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference", action="store_true", help="also time the reference path")
    parser.add_argument("--quick", action="store_true", help="5,000 events, one run")
    args = parser.parse_args()
    if args.quick:
        args.events, args.repeat = 5_000, 1
    raws = _blocks(args.events)
    recorder = EventRecorder(max_events=args.events + 1, max_bytes=1 << 40)
    for i, raw in enumerate(raws):
        recorder.record(Message(raw), _T0 + i)
    print(
        f"{args.events:,} events, {sum(map(len, raws)) / 2**20:.0f} MiB; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    _time("to_frame(raw blocks)", lambda: frames.to_frame(raws), args.repeat)
    _time("EventRecorder.to_frame()", recorder.to_frame, args.repeat)
    if args.reference:
        _time("reference path", lambda: frames._reference_frame(raws, False, None), args.repeat)
    print(f"load average {os.getloadavg()[0]:.2f} after", flush=True)


if __name__ == "__main__":
    main()
