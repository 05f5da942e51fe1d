"""The live-state model: events applied per second, and a 1,000-channel snapshot (issue 13).

Corpus: real Asterisk 22 call traffic, the events of
tests/fixtures/state/state_calls.ami (unbridged, bridged, queue and
conference calls; the list items recorded at its checkpoints are left out).
It is repeated with the Uniqueids and Linkedids rewritten per copy, so every
copy is new calls (a replayed Uniqueid would hit the model's tombstones and
be skipped, flattering the figure). Each event is a fresh
:class:`amilab.Message` over the raw bytes, as the client hands it over.

Rows (median of ``--rounds`` interleaved rounds, one core, no I/O):

* ``floor``: read each event's name (what any dispatch costs);
* ``apply``: :meth:`StateModel.apply` on every event (the tracker's hot path);
* ``copy 1,000 channels``: :meth:`StateModel.rows` (what runs on the I/O loop);
* ``frame 1,000 channels``: copy plus the DataFrame (what a reader waits for).

Goals (the issue's): apply >= 200,000 events/s; the 1,000-channel frame
< 20 ms. ``apply / floor`` is printed for context, a ratio from the same run.
Exit 2 on an error, 1 with ``--check`` when a goal is missed, else 0.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from amilab import Message  # noqa: E402  (needs the path above)
from amilab.recorder import replay  # noqa: E402
from amilab.state import StateModel  # noqa: E402
from amilab.state.frames import frame  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "state" / "state_calls.ami"
#: Events per second the model must apply (issue 13).
GOAL_EVENTS_PER_S = 200_000
#: Most milliseconds a 1,000-channel frame may take (issue 13).
GOAL_FRAME_MS = 20.0
SNAPSHOT_CHANNELS = 1_000
#: The recording's Uniqueid/Linkedid prefix (epoch seconds), rewritten per copy.
_UID = re.compile(rb"(Uniqueid|Linkedid): (\d+)\.")
_LIST_ITEMS = {
    b"CoreShowChannel",
    b"BridgeListItem",
    b"QueueParams",
    b"QueueMember",
    b"QueueEntry",
    b"ConfbridgeListRooms",
}


def corpus(copies: int) -> list[bytes]:
    raws = []
    for msg in replay(CORPUS):
        name = (msg.name or "").encode()
        if msg.kind != "event" or name in _LIST_ITEMS or name.endswith(b"Complete"):
            continue
        raws.append(msg.raw)
    out = []
    for i in range(copies):
        tag = f"{i:09d}".encode()
        template = rb"\g<1>: " + tag + rb"\g<2>."
        out.extend(_UID.sub(template, raw) for raw in raws)
    return out


def time_floor(raws: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in raws:
        Message(raw).name  # noqa: B018  (the cost being measured)
    return time.perf_counter() - start


def time_apply(raws: list[bytes], model: StateModel) -> float:
    apply = model.apply
    start = time.perf_counter()
    for i, raw in enumerate(raws):
        apply(Message(raw), float(i))
        if len(model.changes) > 10_000:  # the tracker drains these once per loop turn
            model.changes.clear()
    return time.perf_counter() - start


def thousand_channels() -> StateModel:
    model = StateModel()
    raws = [r for r in corpus(SNAPSHOT_CHANNELS) if r.startswith(b"Event: Newchannel\r\n")]
    for raw in raws[:SNAPSHOT_CHANNELS]:
        model.apply(Message(raw), time.time())
    if len(model.tables["channels"]) != SNAPSHOT_CHANNELS:
        raise SystemExit(f"error: built {len(model.tables['channels'])} channels, not 1,000")
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--copies", type=int, default=100, help="copies of the corpus a round")
    parser.add_argument("--quick", action="store_true", help="1 round, 10 copies: a smoke run")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args()
    rounds, copies = (1, 10) if args.quick else (args.rounds, args.copies)
    raws = corpus(copies)
    one = StateModel()
    time_apply(corpus(1), one)
    applied_per_copy = one.applied
    model = thousand_channels()
    floor, apply, copy, full = [], [], [], []
    for _ in range(rounds):
        floor.append(len(raws) / time_floor(raws))
        applied = StateModel()
        apply.append(len(raws) / time_apply(raws, applied))
        # Every copy is new calls that all end: nothing may be left, nothing skipped.
        if applied.tables["channels"] or applied.applied != applied_per_copy * copies:
            print("error: the corpus copies did not replay as new calls", file=sys.stderr)
            return 2
        t0 = time.perf_counter()
        rows = model.rows("channels")
        t1 = time.perf_counter()
        df = frame("channels", rows)
        t2 = time.perf_counter()
        if len(df) != SNAPSHOT_CHANNELS:
            print("error: the frame lost rows", file=sys.stderr)
            return 2
        copy.append((t1 - t0) * 1e3)
        full.append((t2 - t0) * 1e3)
    f, a = statistics.median(floor), statistics.median(apply)
    c, ms = statistics.median(copy), statistics.median(full)
    print(f"corpus: {len(raws):,} real Asterisk 22 events a round, {rounds} rounds")
    print(f"{'floor (read name)':28} {f:>12,.0f} events/s")
    print(f"{'apply (StateModel.apply)':28} {a:>12,.0f} events/s   apply / floor {a / f:.2f}x")
    print(f"{'copy 1,000 channels':28} {c:>12.2f} ms")
    print(f"{'frame 1,000 channels':28} {ms:>12.2f} ms")
    goals = [
        ("apply events/s", a >= GOAL_EVENTS_PER_S, f"{a:,.0f} >= {GOAL_EVENTS_PER_S:,}"),
        ("1,000-channel frame", ms < GOAL_FRAME_MS, f"{ms:.2f} ms < {GOAL_FRAME_MS} ms"),
    ]
    for name, ok, text in goals:
        print(f"  goal {name}: {text}  {'met' if ok else 'MISSED'}")
    return 1 if args.check and not all(ok for _, ok, _ in goals) else 0


if __name__ == "__main__":
    sys.exit(main())
