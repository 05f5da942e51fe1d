"""Event flood: how many real Asterisk events a second each client takes in.

A loopback server (its own process, so its CPU is not the client's) greets,
answers ``Login``, and on ``Action: UserEvent`` / ``UserEvent: FloodStart``
writes N pre-encoded Asterisk 22 events as fast as the socket takes them,
then ``Event: FloodEnd``. Each client runs in a fresh process and measures
on its own side, from just before it sends the trigger until its handler
sees the sentinel. Clients, in the table's order:

* ``floor``: an asyncio Protocol that only splits the stream on the blank
  line and counts blocks; what any Python AMI client costs at least;
* ``amilab``: AMIClient with ``on("*", counter)``: every block becomes a
  Message, its name is read and a handler runs;
* ``amilab+pending``: the same while an action stays pending for the whole
  flood (a sync ``Originate`` whose answer the server holds back until after
  the sentinel), so every event takes the ActionID routing path, as it does
  in a notebook that waits for a slow action while events pour in;
* ``amilab+recorder``: the same into ``EventRecorder.record``, retaining
  every event (the notebook capture path);
* ``panoramisk``: ``Manager.register_event("*", counter)``, the most used
  asyncio AMI client (``pip install panoramisk``, the ``bench`` extra).

Goals, as ratios of median rates from the same run: amilab at least
6x panoramisk, and amilab with an action pending at least 0.9x of amilab
idle. ``--check`` exits 1 when one is missed (otherwise only errors do).

Run from the repository root: ``python benchmarks/flood.py`` (see README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import corpus  # noqa: E402  (needs the path above)

CLIENTS = ("floor", "amilab", "amilab+pending", "amilab+recorder", "panoramisk")
BASELINE = "panoramisk"
DEFAULT_EVENTS = 500_000
DEFAULT_REPEAT = 3
QUICK_EVENTS = 5_000
#: A child taking longer than this is hung (500k events take seconds, not minutes).
CHILD_TIMEOUT = 600.0
USERNAME, SECRET = "bench", "bench-secret"
GREETING = b"Asterisk Call Manager/11.0.0\r\n"
TRIGGER = "FloodStart"
#: The action the server holds back until after the flood (``amilab+pending``):
#: a sync Originate, which Asterisk answers only once the call is answered.
HELD_ACTION = "originate"
#: (label, numerator, denominator, least ratio of their median rates).
GOALS = (
    ("amilab / panoramisk", "amilab", "panoramisk", 6.0),
    ("amilab with an action pending / idle", "amilab+pending", "amilab", 0.9),
)


# -- server (its own process) ---------------------------------------------------
def _parse_action(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode().split("\r\n"):
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    return headers


def _response(headers: dict[str, str], status: str, **extra: str) -> bytes:
    lines = [f"Response: {status}"]
    if "actionid" in headers:
        lines.append(f"ActionID: {headers['actionid']}")
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(conn: socket.socket, headers: dict[str, str], flood: bytes, held: list[bytes]) -> bool:
    """Answer one action; False when the connection should close.

    A held action's answer waits in ``held`` and is sent after the next
    flood's sentinel, so the action is pending during the whole flood.
    """
    action = headers.get("action", "").lower()
    if action == HELD_ACTION:
        held.append(_response(headers, "Success", Message="Originate successfully queued"))
        return True
    if action == "login":
        ok = headers.get("username") == USERNAME and headers.get("secret") == SECRET
        if ok:
            conn.sendall(_response(headers, "Success", Message="Authentication accepted"))
        else:
            conn.sendall(_response(headers, "Error", Message="Authentication failed"))
        return ok
    if action == "userevent" and headers.get("userevent") == TRIGGER:
        conn.sendall(_response(headers, "Success", Message="Event Sent"))
        conn.sendall(flood)
        conn.sendall(corpus.SENTINEL)
        conn.sendall(b"".join(held))
        held.clear()
        return True
    if action == "ping":
        conn.sendall(_response(headers, "Success", Ping="Pong"))
        return True
    if action == "logoff":
        conn.sendall(_response(headers, "Goodbye", Message="Thanks for all the fish."))
        return False
    conn.sendall(_response(headers, "Error", Message="Invalid/unknown command"))
    return True


def _serve_connection(conn: socket.socket, flood: bytes) -> None:
    conn.sendall(GREETING)
    pending = b""
    held: list[bytes] = []
    while True:
        data = conn.recv(65536)
        if not data:
            return
        *blocks, pending = (pending + data).split(corpus.SEPARATOR)
        for block in blocks:
            if block.strip() and not _answer(conn, _parse_action(block), flood, held):
                return


def serve(events: int, port_out: Any, cpu: int | None) -> None:
    """Accept connections one after another forever; each may trigger one flood."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    flood = corpus.build(events)
    listener = socket.create_server(("127.0.0.1", 0))
    port_out.send(listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):  # a client may drop mid-flood
            _serve_connection(conn, flood)


# -- clients (each run in a fresh process) ---------------------------------------
Clock = tuple[float, float]
#: One run's events per wall-clock second and per CPU second of the client process.
Rates = tuple[float, float]


def _now() -> Clock:
    """Wall-clock and this process's CPU time, in seconds."""
    return time.perf_counter(), time.process_time()


def _since(start: Clock, end: Clock) -> Clock:
    return end[0] - start[0], end[1] - start[1]


class _Floor(asyncio.Protocol):
    """Splits the stream on the blank line and counts blocks; nothing else."""

    def __init__(self, done: asyncio.Future[Clock], logged_in: asyncio.Future[None]) -> None:
        self.done = done
        self.logged_in = logged_in
        self.pending = b""
        self.count = 0

    def data_received(self, data: bytes) -> None:
        if self.pending:
            data = self.pending + data
        blocks = data.split(corpus.SEPARATOR)
        self.pending = blocks.pop()
        self.count += len(blocks)
        if not self.logged_in.done() and b"Authentication accepted" in data:
            self.logged_in.set_result(None)
        if blocks and blocks[-1] + corpus.SEPARATOR == corpus.SENTINEL:
            self.done.set_result(_now())


async def run_floor(port: int) -> tuple[Clock, int]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Clock] = loop.create_future()
    logged_in: asyncio.Future[None] = loop.create_future()
    transport, proto = await loop.create_connection(
        lambda: _Floor(done, logged_in), "127.0.0.1", port
    )
    login = f"Action: Login\r\nUsername: {USERNAME}\r\nSecret: {SECRET}\r\n\r\n"
    transport.write(login.encode())
    await logged_in
    start_count = proto.count
    start = _now()
    transport.write(f"Action: UserEvent\r\nUserEvent: {TRIGGER}\r\n\r\n".encode())
    end = await done
    # Blocks after login: the trigger's response, the flood, the sentinel.
    events = proto.count - start_count - 1
    transport.close()
    return _since(start, end), events


async def _amilab_flood(
    port: int, handler: Callable[[Any], Any], *, pending: bool = False
) -> tuple[Clock, int]:
    """Flood one AMIClient; with ``pending``, a held Originate spans the whole flood."""
    from amilab import AMIClient

    loop = asyncio.get_running_loop()
    done: asyncio.Future[Clock] = loop.create_future()
    client = AMIClient(
        "127.0.0.1",
        port,
        username=USERNAME,
        secret=SECRET,
        auth="plain",
        ping_interval=None,
        reconnect=False,
    )
    await client.connect()
    client.on("*", handler)
    client.on("FloodEnd", lambda msg: done.set_result(_now()))
    held: asyncio.Task[Any] | None = None
    if pending:
        originate = client.action(
            "Originate",
            Channel="Local/100@bench",
            Application="Wait",
            Data="1",
            timeout=CHILD_TIMEOUT,
        )
        held = asyncio.create_task(originate)
        await asyncio.sleep(0)  # the task writes the Originate before the trigger
    start = _now()
    await client.action("UserEvent", UserEvent=TRIGGER)
    end = await done
    if held is not None:
        if held.done():
            raise RuntimeError("the held Originate completed before the flood ended")
        result = await held
        if not result.ok:
            raise RuntimeError(f"the held Originate failed: {result.message}")
    await client.close()
    return _since(start, end), 0


async def run_amilab(port: int) -> tuple[Clock, int]:
    count = 0

    def counter(msg: Any) -> None:
        nonlocal count
        count += 1

    elapsed, _ = await _amilab_flood(port, counter)
    return elapsed, count


async def run_amilab_pending(port: int) -> tuple[Clock, int]:
    count = 0

    def counter(msg: Any) -> None:
        nonlocal count
        count += 1

    elapsed, _ = await _amilab_flood(port, counter, pending=True)
    return elapsed, count


async def run_amilab_recorder(port: int) -> tuple[Clock, int]:
    from amilab.recorder import EventRecorder

    # Caps above any flood: this row measures retaining every event.
    recorder = EventRecorder(max_events=1 << 40, max_bytes=1 << 40)
    elapsed, _ = await _amilab_flood(port, recorder.record)
    return elapsed, len(recorder)


async def run_panoramisk(port: int) -> tuple[Clock, int]:
    from panoramisk import Manager

    loop = asyncio.get_running_loop()
    done: asyncio.Future[Clock] = loop.create_future()
    logged_in: asyncio.Future[None] = loop.create_future()
    count = 0

    def counter(manager: Any, event: Any) -> None:
        nonlocal count
        count += 1

    manager = Manager(
        loop=loop,
        host="127.0.0.1",
        port=port,
        username=USERNAME,
        secret=SECRET,
        ping_delay=3600,
        on_login=lambda m: logged_in.set_result(None),
    )
    manager.register_event("*", counter)
    manager.register_event("FloodEnd", lambda m, e: done.set_result(_now()))
    await manager.connect()
    await logged_in
    start = _now()
    await manager.send_action({"Action": "UserEvent", "UserEvent": TRIGGER})
    end = await done
    manager.close()
    return _since(start, end), count


RUNNERS: dict[str, Callable[[int], Coroutine[Any, Any, tuple[Clock, int]]]] = {
    "floor": run_floor,
    "amilab": run_amilab,
    "amilab+pending": run_amilab_pending,
    "amilab+recorder": run_amilab_recorder,
    "panoramisk": run_panoramisk,
}


def client_main(name: str, port: int, cpu: int | None) -> None:
    """Child process: run one client once, print ``{"seconds": s, "events": n}``."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    (wall, cpu_time), events = asyncio.run(RUNNERS[name](port))
    print(json.dumps({"seconds": wall, "cpu_seconds": cpu_time, "events": events}))


# -- orchestration -----------------------------------------------------------------
def _run_child(name: str, port: int, cpu: int | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", name, "--port", str(port)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _measure(names: list[str], events: int, repeat: int, pin: bool) -> dict[str, list[Rates]]:
    server_cpu, client_cpu = (0, 1) if pin else (None, None)
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=serve, args=(events, send, server_cpu), daemon=True)
    server.start()
    try:
        port = recv.recv()
        rates: dict[str, list[Rates]] = {name: [] for name in names}
        for round_ in range(repeat):
            for name in names:  # interleaved, so drift hits every client alike
                result = _run_child(name, port, client_cpu)
                if result["events"] != events + 1:  # the sentinel is an event too
                    raise RuntimeError(
                        f"{name} counted {result['events']} events, expected {events + 1}"
                    )
                wall, cpu = events / result["seconds"], events / result["cpu_seconds"]
                rates[name].append((wall, cpu))
                print(
                    f"  round {round_ + 1}/{repeat} {name:16s} {wall:>12,.0f} ev/s"
                    f" {cpu:>12,.0f} ev/CPU-s",
                    file=sys.stderr,
                )
        return rates
    finally:
        server.terminate()
        server.join()


def _machine() -> str:
    model = ""
    with open("/proc/cpuinfo") if os.path.exists("/proc/cpuinfo") else open(os.devnull) as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
        + (f", {model}" if model else "")
    )


def _table(rates: dict[str, list[Rates]]) -> str:
    """Best and median wall-clock rate, both as ratios to panoramisk's, and best CPU rate."""
    base = [wall for wall, _ in rates.get(BASELINE, [])]
    head = (
        f"{'client':18s} {'best ev/s':>11s} {'median ev/s':>12s} {'best/pano':>10s}"
        f" {'median/pano':>12s} {'best ev/CPU-s':>14s}"
    )
    lines = [head, "-" * len(head)]
    for name, values in rates.items():
        walls = [wall for wall, _ in values]
        best, median = max(walls), statistics.median(walls)
        best_cpu = max(cpu for _, cpu in values)
        ratios = (
            (f"{best / max(base):.2f}x", f"{median / statistics.median(base):.2f}x")
            if base
            else ("n/a", "n/a")
        )
        lines.append(
            f"{name:18s} {best:>11,.0f} {median:>12,.0f} {ratios[0]:>10s} {ratios[1]:>12s}"
            f" {best_cpu:>14,.0f}"
        )
    return "\n".join(lines)


def _goals(rates: dict[str, list[Rates]]) -> tuple[list[str], bool]:
    """One line per goal: the ratio of median wall-clock rates (and of best CPU rates)."""
    lines, all_met = [], True
    for label, num, den, least in GOALS:
        if num not in rates or den not in rates:
            lines.append(f"{label:38s}   n/a (run both {num} and {den})")
            continue
        wall = [statistics.median(w for w, _ in rates[name]) for name in (num, den)]
        cpu = [max(c for _, c in rates[name]) for name in (num, den)]
        ratio = wall[0] / wall[1]
        met = ratio >= least
        all_met &= met
        lines.append(
            f"{label:38s} {ratio:6.2f}x median ev/s ({cpu[0] / cpu[1]:.2f}x best ev/CPU-s)"
            f"  goal >= {least}x  {'met' if met else 'MISSED'}"
        )
    return lines, all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events per flood")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs per client")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS} events, one run")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server/client CPUs")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        client_main(args.child, args.port, args.cpu)
        return 0
    events, repeat = (QUICK_EVENTS, 1) if args.quick else (args.events, args.repeat)
    names = [n for n in args.clients.split(",") if n]
    unknown = set(names) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients {sorted(unknown)}; choose from {', '.join(CLIENTS)}")
    pin = not args.no_pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2
    info = corpus.summary().splitlines()[0]
    print(f"{_machine()}\ncorpus: {info}; flood of {events:,} events, best/median of {repeat}")
    print("CPU pinning: server on CPU 0, client on CPU 1" if pin else "CPU pinning: off")
    try:
        rates = _measure(names, events, repeat, pin)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        # A failed run, not a slow one: exit 2, so --check's exit 1 means only "goal missed".
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(_table(rates))
    lines, all_met = _goals(rates)
    print("Goals (ratios from this run):")
    print("\n".join(f"  {line}" for line in lines))
    return 1 if args.check and not all_met else 0


if __name__ == "__main__":
    sys.exit(main())
