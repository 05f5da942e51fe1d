"""EventMonitor under load: capture rate, displayed events/s, recorder memory, to_frame time.

A loopback AMI server runs in its own process (so its CPU is not ours),
greets, accepts ``Login``, and on ``Action: UserEvent`` / ``UserEvent:
MonitorBench`` sends ``Count`` real Asterisk 22 call events (the flood
corpus, ``benchmarks/corpus.py``), either as fast as the socket takes them
(``Rate: 0``) or paced at ``Rate`` events/s in 10 ms batches, then the
``FloodEnd`` sentinel. The client side is the real stack: ``amilab.connect``
(Session on the shared I/O thread) -> handlers -> EventRecorder, with an
EventMonitor whose refresh timer runs on an asyncio loop in the main thread,
standing in for the kernel's loop (4 refreshes/s; without a kernel the
widget's comm is a no-op, so JSON encoding and the websocket are not timed).

Rows of the table:

* ``flood, recorder only`` / ``flood, recorder + monitor``: events/s from the
  trigger until the sentinel arrives (best and median of ``--repeat``);
* ``refresh during flood``: what one refresh costs while events pour in;
* ``displayed events/s``: the status line's rate, sampled each refresh in
  the steady middle of a paced 10,000 events/s stream, against the truth;
* ``recorder memory``: tracemalloc bytes per retained event (raw block
  included), for the corpus' mean block size;
* ``to_frame``: seconds for ``recorder.to_frame()`` over 1,000,000 events.

Run from the repository root: ``python benchmarks/monitor.py`` (``--quick``
for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import gc
import multiprocessing
import os
import re
import socket
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import corpus  # noqa: E402  (needs the path above)

USERNAME, SECRET = "bench", "bench-secret"
GREETING = b"Asterisk Call Manager/11.0.0\r\n"
TRIGGER = "MonitorBench"
#: The paced stream's rate: the brief's "accurate at 10,000 events/s".
PACED_RATE = 10_000
#: Paced mode sends one batch per tick: 10 ms keeps a 10,000/s stream smooth
#: at the scale of a 250 ms refresh.
PACE_TICK = 0.01
#: Part of a paced run whose displayed rate is judged: after the rate window
#: has filled, before the stream ends.
STEADY = (0.4, 0.9)
DEFAULTS = {"events": 300_000, "repeat": 3, "paced": 6.0, "memory": 200_000, "frame": 1_000_000}
QUICK = {"events": 20_000, "repeat": 1, "paced": 3.0, "memory": 20_000, "frame": 50_000}


# -- the loopback server (its own process) -------------------------------------------
def _headers(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.decode().split("\r\n"):
        key, _, value = line.partition(":")
        out.setdefault(key.strip().lower(), value.strip())
    return out


def _reply(headers: dict[str, str], status: str, message: str) -> bytes:
    action_id = f"ActionID: {headers['actionid']}\r\n" if "actionid" in headers else ""
    return f"Response: {status}\r\n{action_id}Message: {message}\r\n\r\n".encode()


def _send_events(conn: socket.socket, count: int, rate: float) -> None:
    if rate <= 0:
        conn.sendall(corpus.build(count))
        return
    per_tick = max(1, round(rate * PACE_TICK))
    batch = corpus.build(per_tick)
    start = time.perf_counter()
    for tick in range(count // per_tick):
        delay = start + tick * PACE_TICK - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        conn.sendall(batch)


def _serve_connection(conn: socket.socket) -> None:
    conn.sendall(GREETING)
    pending = b""
    while data := conn.recv(65536):
        *blocks, pending = (pending + data).split(corpus.SEPARATOR)
        for block in filter(bytes.strip, blocks):
            h = _headers(block)
            action = h.get("action", "").lower()
            if action == "login":
                conn.sendall(_reply(h, "Success", "Authentication accepted"))
            elif action == "userevent" and h.get("userevent") == TRIGGER:
                conn.sendall(_reply(h, "Success", "Event Sent"))
                _send_events(conn, int(h["count"]), float(h.get("rate", "0")))
                conn.sendall(corpus.SENTINEL)
            elif action == "logoff":
                conn.sendall(_reply(h, "Goodbye", "Bye"))
                return
            else:
                conn.sendall(_reply(h, "Success", "Ok"))


def serve(port_out: Any, cpu: int | None) -> None:
    """Accept connections one after another, forever."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    listener = socket.create_server(("127.0.0.1", 0))
    port_out.send(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            _serve_connection(conn)


# -- client side -----------------------------------------------------------------------
def _connect(port: int) -> Any:
    import amilab

    return amilab.connect(
        "127.0.0.1",
        port,
        username=USERNAME,
        secret=SECRET,
        auth="plain",
        ping_interval=None,
        reconnect=False,
    )


def _stream(session: Any, loop: asyncio.AbstractEventLoop, count: int, rate: float) -> float:
    """Trigger ``count`` events; run ``loop`` (the monitor's timer) until the sentinel."""
    done: concurrent.futures.Future[float] = concurrent.futures.Future()
    sub = session.on("FloodEnd", lambda _: done.set_result(time.perf_counter()))
    start = time.perf_counter()
    session.action("UserEvent", UserEvent=TRIGGER, Count=str(count), Rate=str(rate))
    end = loop.run_until_complete(asyncio.wrap_future(done, loop=loop))
    session.io.call(sub.cancel)
    return end - start


def _timed_refresh(monitor: Any) -> list[tuple[float, float]]:
    """Wrap ``monitor.refresh``; return the list it fills with (when, seconds)."""
    samples: list[tuple[float, float]] = []
    real = monitor.refresh

    def refresh() -> None:
        t0 = time.perf_counter()
        real()
        samples.append((t0, time.perf_counter() - t0))

    monitor.refresh = refresh
    return samples


def flood_once(port: int, count: int, with_monitor: bool) -> dict[str, Any]:
    from amilab.notebook.monitor import EventMonitor
    from amilab.recorder import EventRecorder

    session = _connect(port)
    loop = asyncio.new_event_loop()
    try:
        if with_monitor:
            monitor = EventMonitor(session, loop=loop)
            refreshes = _timed_refresh(monitor)
            recorder = monitor.recorder
        else:
            recorder = EventRecorder(session)
        seconds = _stream(session, loop, count, 0)
        stats = recorder.stats
        if stats.recorded != count + 1:  # the sentinel is recorded too
            raise RuntimeError(f"recorded {stats.recorded} events, expected {count + 1}")
        result: dict[str, Any] = {"rate": count / seconds}
        if with_monitor:
            monitor.close()
            result["refresh"] = [s for _, s in refreshes]
        else:
            recorder.detach()
        return result
    finally:
        session.close()
        loop.close()
        gc.collect()


def paced_display(port: int, rate: float, seconds: float) -> dict[str, Any]:
    """Stream at ``rate`` events/s; sample the monitor's displayed rate each refresh."""
    from amilab.notebook.monitor import EventMonitor

    session = _connect(port)
    loop = asyncio.new_event_loop()
    shown: list[tuple[float, float]] = []
    try:
        monitor = EventMonitor(session, loop=loop)
        real = monitor.refresh

        def refresh() -> None:
            real()
            found = re.search(r'data-rate="([\d.]+)"', monitor.view.value)
            assert found is not None
            shown.append((time.perf_counter(), float(found[1])))

        monitor.refresh = refresh
        count = int(rate * seconds)
        start = time.perf_counter()
        elapsed = _stream(session, loop, count, rate)
        monitor.close()
    finally:
        session.close()
        loop.close()
    lo, hi = (start + f * seconds for f in STEADY)
    steady = [value for t, value in shown if lo <= t <= hi]
    return {"true": count / elapsed, "shown": steady}


def recorder_memory(count: int) -> tuple[float, float]:
    """tracemalloc bytes per retained event, and the mean raw block size."""
    from amilab.protocol import Message
    from amilab.recorder import EventRecorder

    data = corpus.build(count)
    sep = corpus.SEPARATOR
    recorder = EventRecorder(max_events=count + 1, max_bytes=1 << 40)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    i = 0
    while (j := data.find(sep, i)) >= 0:
        recorder.record(Message(data[i:j]))  # a fresh bytes object, as the parser makes
        i = j + len(sep)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    if len(recorder) != count:
        raise RuntimeError(f"recorder holds {len(recorder)} events, expected {count}")
    return (after - before) / count, (len(data) - count * len(sep)) / count


def frame_time(count: int) -> tuple[float, tuple[int, int]]:
    """Seconds for ``to_frame()`` over ``count`` recorded events, and the frame's shape."""
    from amilab.protocol import Message
    from amilab.recorder import EventRecorder

    data = corpus.build(count)
    recorder = EventRecorder(max_events=count + 1, max_bytes=1 << 40)
    for raw in data.split(corpus.SEPARATOR)[:-1]:
        recorder.record(Message(raw))
    del data
    gc.collect()
    start = time.perf_counter()
    frame = recorder.to_frame()
    return time.perf_counter() - start, frame.shape


# -- orchestration -----------------------------------------------------------------------
def _row(label: str, value: str, note: str = "") -> str:
    return f"{label:34s} {value:>22s}  {note}"


def _ms(values: list[float]) -> str:
    return f"{statistics.mean(values) * 1e3:.2f} / {max(values) * 1e3:.2f}"


def run(sizes: dict[str, Any], pin: bool) -> list[str]:
    server_cpu, client_cpu = (0, 1) if pin else (None, None)
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=serve, args=(send, server_cpu), daemon=True)
    server.start()
    rows = []
    try:
        port = recv.recv()
        n, repeat = sizes["events"], sizes["repeat"]
        plain: list[float] = []
        watched: list[float] = []
        refresh: list[float] = []
        for _ in range(repeat):  # interleaved, so drift hits both alike
            plain.append(flood_once(port, n, False)["rate"])
            result = flood_once(port, n, True)
            watched.append(result["rate"])
            refresh += result["refresh"]
            print(f"  flood: {plain[-1]:,.0f} / {watched[-1]:,.0f} ev/s", file=sys.stderr)
        for label, rates in (
            ("flood, recorder only", plain),
            ("flood, recorder + monitor", watched),
        ):
            value = f"{max(rates):,.0f} / {statistics.median(rates):,.0f}"
            rows.append(_row(label, value, f"events/s, best / median of {repeat}, {n:,} events"))
        rows.append(
            _row("refresh during flood", _ms(refresh), f"ms mean / max, {len(refresh)} refreshes")
        )
        paced = paced_display(port, PACED_RATE, sizes["paced"])
        shown = paced["shown"]
        if shown:
            value = f"{statistics.mean(shown):,.0f} ({min(shown):,.0f}-{max(shown):,.0f})"
            rows.append(
                _row(
                    "displayed events/s, mean (range)",
                    value,
                    f"{len(shown)} refreshes; sent at {PACED_RATE:,}/s, "
                    f"end to end {paced['true']:,.0f}/s",
                )
            )
    finally:
        server.terminate()
        server.join()
    per_event, raw = recorder_memory(sizes["memory"])
    rows.append(
        _row(
            "recorder memory",
            f"{per_event:,.0f} B/event",
            f"raw block {raw:,.0f} B + {per_event - raw:,.0f} B overhead",
        )
    )
    seconds, shape = frame_time(sizes["frame"])
    rows.append(
        _row(
            "to_frame",
            f"{seconds:.2f} s",
            f"{sizes['frame']:,} events -> {shape[0]:,} x {shape[1]} frame",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (smoke test)")
    parser.add_argument("--events", type=int, help="events per flood")
    parser.add_argument("--frame", type=int, help="events for the to_frame timing")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server/client CPUs")
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else DEFAULTS)
    for key in ("events", "frame"):
        if getattr(args, key):
            sizes[key] = getattr(args, key)
    pin = not args.no_pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"CPU pinning {'on (server 0, client 1)' if pin else 'off'}"
    )
    rows = run(sizes, pin)
    print(_row("measure", "value"))
    print("-" * 90)
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
