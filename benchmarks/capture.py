"""Capture: what ``amilab capture`` costs per event, from a received Message to Parquet.

No socket: the events are the flood corpus (real Asterisk 22 call events,
:mod:`corpus`) handed to the handlers as a client would hand them, so the
figures are the capture's own cost; ``flood.py`` measures the socket side.
Rows, all in one process and one run:

* ``recorder``: ``EventRecorder.record`` (the notebook's in-memory path), the baseline;
* ``capture handler``: ``ServerCapture.on_event`` with its flushes to the
  segment on disk (what runs on the I/O loop);
* ``segment -> parquet``: ``convert_segment`` of those segments (what runs on
  the worker thread at rotation);
* ``capture total``: both, one after the other, as one core would do them;
* ``socket -> parquet``: the same through a real socket: ``flood.py``'s server
  (its own process) floods an ``AMIClient`` whose handler is the capture's,
  flushed every second as the capture does; then the segments are converted.
  Timed from the trigger to the last Parquet file.

The memory ratio means something only when N is well past the flush
threshold (``FLUSH_BYTES``, ~10,000 events): ``--quick`` is a smoke run.

Memory: the handler's peak traced allocation (``tracemalloc``) for N and for
4N events; a capture whose memory is bounded gives the same peak for both.

Goals (ratios from the same run): the handler at least 0.5x the recorder
(it also writes every byte to disk), and the peak for 4N at most 1.5x the
peak for N. ``--check`` exits 1 when one is missed.

Run from the repository root: ``python benchmarks/capture.py [--events N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import corpus  # noqa: E402  (needs the path above)
import flood  # noqa: E402

from amilab.client import AMIClient  # noqa: E402
from amilab.dataset.capture import Limits, ServerCapture  # noqa: E402
from amilab.dataset.segments import convert_segment  # noqa: E402
from amilab.protocol import Message  # noqa: E402
from amilab.recorder import EventRecorder  # noqa: E402

DEFAULT_EVENTS = 500_000
QUICK_EVENTS = 5_000
#: Segments rotate at this size here, as the capture's default would.
ROTATE_BYTES = 64 << 20
GOALS = (
    ("capture handler / recorder", 0.5, ">="),
    ("handler peak memory 4N / N", 1.5, "<="),
)


def events() -> list[bytes]:
    """The corpus blocks as a client hands them over: without their blank line."""
    return [raw.rstrip(b"\r\n") for raw in corpus.corpus_events()]


def messages(count: int) -> list[Message]:
    blocks = events()
    return [Message(blocks[i % len(blocks)]) for i in range(count)]


def time_recorder(msgs: list[Message]) -> float:
    recorder = EventRecorder(max_events=len(msgs) + 1, max_bytes=1 << 40)
    start = time.perf_counter()
    for msg in msgs:
        recorder.record(msg)
    return time.perf_counter() - start


def run_handler(root: Path, msgs: list[Message]) -> tuple[float, list[Path]]:
    """Seconds the handler took for ``msgs``, and the closed segments it left."""
    server = ServerCapture(root, "bench", Limits(rotate_bytes=ROTATE_BYTES))
    start = time.perf_counter()
    for msg in msgs:
        server.on_event(msg)
        segment = server.segment
        if segment is not None and segment.size >= ROTATE_BYTES:
            server.rotate_if_due(time.time_ns())
    server.stop()
    return time.perf_counter() - start, server.take_closed()


def time_conversion(root: Path, segments: list[Path]) -> float:
    start = time.perf_counter()
    for segment in segments:
        convert_segment(root, "bench", segment)
    return time.perf_counter() - start


async def _socket_capture(root: Path, port: int) -> tuple[float, list[Path]]:
    server = ServerCapture(root, "bench", Limits(rotate_bytes=ROTATE_BYTES))
    client = AMIClient(
        "127.0.0.1",
        port,
        username=flood.USERNAME,
        secret=flood.SECRET,
        auth="plain",
        ping_interval=None,
        reconnect=False,
    )
    await client.connect()
    done = asyncio.get_running_loop().create_future()
    client.on("*", server.on_event)
    client.on("FloodEnd", lambda msg: done.set_result(None))

    async def tick() -> None:
        while True:
            await asyncio.sleep(1.0)
            server.flush()
            server.rotate_if_due(time.time_ns())

    ticker = asyncio.create_task(tick())
    start = time.perf_counter()
    await client.action("UserEvent", UserEvent=flood.TRIGGER)
    await done
    ticker.cancel()
    server.stop()
    await client.close()
    return start, server.take_closed()


def time_socket(count: int) -> float:
    """Seconds from the trigger to the last Parquet file, for ``count`` flooded events."""
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=flood.serve, args=(count, send, None), daemon=True)
    process.start()
    try:
        port = recv.recv()
        with tempfile.TemporaryDirectory() as tmp:
            start, segments = asyncio.run(_socket_capture(Path(tmp), port))
            time_conversion(Path(tmp), segments)
            return time.perf_counter() - start
    finally:
        process.terminate()
        process.join()


def handler_peak(count: int) -> int:
    """Peak traced bytes while the handler takes ``count`` events (built lazily)."""
    blocks = events()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerCapture(Path(tmp), "bench", Limits(rotate_bytes=1 << 40))
        tracemalloc.start()
        for i in range(count):
            server.on_event(Message(blocks[i % len(blocks)]))
        server.stop()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS} events")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    count = QUICK_EVENTS if args.quick else args.events
    msgs = messages(count)
    recorder_s = time_recorder(msgs)
    with tempfile.TemporaryDirectory() as tmp:
        handler_s, segments = run_handler(Path(tmp), msgs)
        convert_s = time_conversion(Path(tmp), segments)
    del msgs
    socket_s = time_socket(count)
    peaks = (handler_peak(count), handler_peak(4 * count))
    rows = [
        ("recorder", recorder_s),
        ("capture handler", handler_s),
        ("segment -> parquet", convert_s),
        ("capture total", handler_s + convert_s),
        ("socket -> parquet", socket_s),
    ]
    print(f"{count:,} events of the flood corpus, one process")
    print(f"{'path':<20} {'events/s':>12} {'vs recorder':>12}")
    for name, seconds in rows:
        print(f"{name:<20} {count / seconds:>12,.0f} {recorder_s / seconds:>11.2f}x")
    print(f"handler peak traced memory: {peaks[0]:,} B for N, {peaks[1]:,} B for 4N")
    ratios = {GOALS[0][0]: recorder_s / handler_s, GOALS[1][0]: peaks[1] / max(peaks[0], 1)}
    met_all = True
    for label, goal, sense in GOALS:
        ratio = ratios[label]
        met = ratio >= goal if sense == ">=" else ratio <= goal
        met_all &= met
        print(f"  {label:<30} {ratio:.2f}x  goal {sense} {goal}x  {'met' if met else 'MISSED'}")
    return 1 if args.check and not met_all else 0


if __name__ == "__main__":
    raise SystemExit(main())
