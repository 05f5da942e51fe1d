"""Action round trips and list throughput against a real Asterisk 22.

Three clients talk to the project's Asterisk 22 sandbox (``bash
tests/asterisk/sandbox.sh status``; loopback only), each on its own
connection, logged in with ``Events: off`` so that traffic from other users of
the shared sandbox never lands in a measurement:

* ``raw``: a minimal hand-written AMI client on asyncio streams (login, then
  actions with an ActionID, answers found by ``readuntil`` on the blank
  line); what any Python client costs at least;
* ``amilab``: :class:`amilab.AMIClient` (async) and :class:`amilab.Session`
  (sync, through the shared I/O thread), public API only;
* ``panoramisk``: ``Manager.send_action`` (the ``bench`` extra).

Two scenarios, run in interleaved rounds (the row order rotates each round,
so drift on the shared machine hits every row alike):

* ``ping``: sequential ``Ping`` round trips, each timed on its own; a round's
  figure is the median call, the table shows the median over rounds;
* ``list``: ``--batch`` list actions (default ``QueueStatus``) sent at once
  (``asyncio.gather``), timed until the last list is complete; actions/s.

Goals (ratios of medians from the same run): amilab's ``ping()`` at most
1.3x the raw client's round trip; amilab's list throughput at least 1.5x
panoramisk's; a sync ``Session.action("Ping")`` at most 1.5x the async
``AMIClient.action("Ping")``. The script exits 2 on an error (no sandbox,
a wrong answer), and 0 otherwise, unless ``--check`` is given and a goal was
missed (exit 1).

Run from the repository root: ``python benchmarks/actions.py`` (see README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import amilab  # noqa: E402  (needs the path above)

#: The sandbox's address (tests/asterisk/sandbox.sh) and its test-only admin
#: login (tests/asterisk/etc/manager.conf); the same variables as record.py.
HOST = os.environ.get("AMILAB_ASTERISK_HOST", "127.0.0.1")
PORT = int(os.environ.get("AMILAB_ASTERISK_PORT", "15038"))
USERNAME = os.environ.get("AMILAB_ASTERISK_USER", "admin")
SECRET = os.environ.get("AMILAB_ASTERISK_SECRET", "amilab-admin")
#: A list action with items on the sandbox: two queues with static members
#: (tests/asterisk/etc/queues.conf), answered by Asterisk at about 100,000
#: actions/s on loopback, so the clients, not the server, set the pace.
LIST_ACTION = "QueueStatus"
DEFAULTS = {"rounds": 9, "pings": 1000, "batch": 1000}
QUICK = {"rounds": 1, "pings": 50, "batch": 100}
#: Upper bounds on the options: the sandbox is shared, so one run stays a burst
#: of a few seconds, never a load test.
MAX_COUNTS = {"rounds": 50, "pings": 100_000, "batch": 10_000}
#: Calls each row makes before the first round (connection, caches, allocator).
WARMUP_PINGS = 50
#: A round that takes longer than this is hung: a round is well under a second.
ROUND_TIMEOUT = 60.0
#: Per-action deadline for every client (s); a healthy loopback answer takes microseconds.
ACTION_TIMEOUT = 30.0
SEPARATOR = b"\r\n\r\n"
LIST_END = b"\r\nEventList: Complete\r\n"


class BenchError(Exception):
    """Something went wrong that makes the numbers meaningless (exit 2)."""


# -- the raw floor: asyncio streams, no parsing beyond block boundaries ---------------
class RawClient:
    """Login, then actions with an ActionID; answers are found by the blank line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.next_id = 0

    @classmethod
    async def open(cls, host: str, port: int, username: str, secret: str) -> RawClient:
        reader, writer = await asyncio.open_connection(host, port)
        greeting = await reader.readline()
        if not greeting.startswith(b"Asterisk Call Manager/"):
            raise BenchError(f"{host}:{port} is not an AMI port (greeting {greeting[:40]!r})")
        self = cls(reader, writer)
        login = (
            f"Action: Login\r\nActionID: login\r\nUsername: {username}\r\n"
            f"Secret: {secret}\r\nEvents: off\r\n\r\n"
        )
        writer.write(login.encode())
        answer = await self._answer(b"login")
        if b"Response: Success" not in answer:
            raise BenchError(f"raw client: login as {username!r} refused")
        return self

    async def _answer(self, action_id: bytes) -> bytes:
        marker = b"\r\nActionID: " + action_id + b"\r\n"
        while True:
            block = await self.reader.readuntil(SEPARATOR)
            if marker in block:
                return block

    async def ping(self) -> None:
        self.next_id += 1
        action_id = b"%d" % self.next_id
        self.writer.write(b"Action: Ping\r\nActionID: " + action_id + SEPARATOR)
        await self._answer(action_id)

    async def list_batch(self, action: str, count: int) -> list[int]:
        """Send ``count`` list actions at once; return each list's item count."""
        first = self.next_id + 1
        self.next_id += count
        name = action.encode()
        self.writer.write(
            b"".join(
                b"Action: %s\r\nActionID: %d\r\n\r\n" % (name, n)
                for n in range(first, first + count)
            )
        )
        # Asterisk answers one session's actions in order, so blocks arrive list by list.
        items: list[int] = []
        blocks = 0
        while len(items) < count:
            block = await self.reader.readuntil(SEPARATOR)
            blocks += 1
            if block.startswith(b"Response: Error"):
                raise BenchError(f"raw client: {action} failed: {block.decode().strip()!r}")
            if LIST_END in block:
                items.append(blocks - 2)  # neither the response nor the Complete event
                blocks = 0
        return items

    async def close(self) -> None:
        self.writer.write(b"Action: Logoff\r\n\r\n")
        self.writer.close()
        await self.writer.wait_closed()


# -- amilab ------------------------------------------------------------------------
async def open_amilab(host: str, port: int, username: str, secret: str) -> amilab.AMIClient:
    client = amilab.AMIClient(
        host,
        port,
        username=username,
        secret=secret,
        events="off",
        ping_interval=None,
        reconnect=False,
        timeout=ACTION_TIMEOUT,
    )
    await client.connect()
    return client


async def amilab_list_batch(client: amilab.AMIClient, action: str, count: int) -> list[int]:
    results = await asyncio.gather(*(client.action(action) for _ in range(count)))
    return [len(result.events) for result in results]


# -- panoramisk ----------------------------------------------------------------------
async def open_panoramisk(host: str, port: int, username: str, secret: str) -> Any:
    from panoramisk import Manager

    loop = asyncio.get_running_loop()
    logged_in: asyncio.Future[None] = loop.create_future()
    manager = Manager(
        loop=loop,
        host=host,
        port=port,
        username=username,
        secret=secret,
        events="off",
        ping_delay=3600,  # no liveness pings inside a measurement
        on_login=lambda m: logged_in.set_result(None),
    )
    await manager.connect()
    async with asyncio.timeout(ACTION_TIMEOUT):
        await logged_in
    return manager


async def panoramisk_ping(manager: Any) -> None:
    response = await manager.send_action({"Action": "Ping"})
    if not response.success:
        raise BenchError(f"panoramisk: Ping failed: {response}")


async def panoramisk_list_batch(manager: Any, action: str, count: int) -> list[int]:
    answers = await asyncio.gather(*(manager.send_action({"Action": action}) for _ in range(count)))
    # A list answer is [response, item..., Complete]; a lone message is an error.
    if not all(isinstance(answer, list) for answer in answers):
        raise BenchError(f"panoramisk: {action} did not return a list: {answers[0]}")
    return [len(answer) - 2 for answer in answers]


# -- measuring ---------------------------------------------------------------------
@dataclass
class Row:
    """One client in one scenario: a figure per round."""

    name: str
    per_round: list[float] = field(default_factory=list)
    #: list rows: actions per CPU-second of this process (steadier on a shared machine).
    cpu_per_round: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.per_round)


@dataclass(frozen=True)
class Goal:
    """``numerator / denominator`` (medians) must stay at or below (or above) ``limit``."""

    label: str
    numerator: str
    denominator: str
    limit: float
    at_most: bool


PING_ROWS = (
    "raw asyncio streams",
    "amilab AMIClient.ping()",
    'amilab AMIClient.action("Ping")',
    'amilab Session.action("Ping")',
    "panoramisk send_action",
)
LIST_ROWS = ("raw asyncio streams", "amilab AMIClient.action", "panoramisk send_action")
GOALS = (
    Goal(
        "amilab ping() / raw round trip",
        "ping/amilab AMIClient.ping()",
        "ping/raw asyncio streams",
        1.3,
        at_most=True,
    ),
    Goal(
        "amilab / panoramisk list throughput",
        "list/amilab AMIClient.action",
        "list/panoramisk send_action",
        1.5,
        at_most=False,
    ),
    Goal(
        'Session.action("Ping") / async action("Ping")',
        'ping/amilab Session.action("Ping")',
        'ping/amilab AMIClient.action("Ping")',
        1.5,
        at_most=True,
    ),
)


async def _time_async(call: Callable[[], Awaitable[Any]], count: int) -> float:
    """The median of ``count`` sequential calls, each timed on its own (s)."""
    clock = time.perf_counter
    times = []
    async with asyncio.timeout(ROUND_TIMEOUT):
        for _ in range(count):
            start = clock()
            await call()
            times.append(clock() - start)
    return statistics.median(times)


def _time_sync(call: Callable[[], Any], count: int) -> float:
    clock = time.perf_counter
    times = []
    for _ in range(count):
        start = clock()
        call()
        times.append(clock() - start)
    return statistics.median(times)


async def _rate(
    batch: Callable[[], Awaitable[list[int]]], count: int, name: str
) -> tuple[float, float]:
    """Actions per wall-clock and per CPU second for one batch; checks every list came back."""
    async with asyncio.timeout(ROUND_TIMEOUT):
        start, start_cpu = time.perf_counter(), time.process_time()
        items = await batch()
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if len(items) != count or min(items) < 1:
        raise BenchError(
            f"{name}: expected {count} lists of at least one item each, got {len(items)} "
            f"lists with item counts {sorted(set(items))}"
        )
    # process_time ticks coarsely on some systems; a zero would mean "too fast to see".
    return count / elapsed, count / max(cpu, 1e-9)


class Bench:
    """The open connections and one method per measured row."""

    def __init__(self, args: argparse.Namespace, runner: asyncio.Runner) -> None:
        self.args = args
        self.runner = runner
        self.raw: RawClient | None = None
        self.client: amilab.AMIClient | None = None
        self.manager: Any = None
        self.session: amilab.Session | None = None

    def open(self) -> None:
        a = self.args
        where = (a.host, a.port, a.username, SECRET)
        try:
            self.raw = self.runner.run(RawClient.open(*where))
        except OSError as exc:
            raise BenchError(
                f"cannot reach Asterisk's AMI at {a.host}:{a.port}: {exc}. Start the sandbox "
                "(bash tests/asterisk/sandbox.sh start) or pass --host/--port."
            ) from None
        self.client = self.runner.run(open_amilab(*where))
        self.manager = self.runner.run(open_panoramisk(*where))
        self.session = amilab.connect(
            a.host,
            a.port,
            username=a.username,
            secret=SECRET,
            events="off",
            ping_interval=None,
            reconnect=False,
            timeout=ACTION_TIMEOUT,
        )

    def close(self) -> None:
        """Best effort: a connection the error already broke must not hide that error."""
        steps: list[Callable[[], Any]] = []
        if self.session is not None:
            steps.append(self.session.close)
        if self.manager is not None:
            steps.append(self.manager.close)
        if self.client is not None:
            steps.append(lambda: self.runner.run(self.client.close()))  # type: ignore[union-attr]
        if self.raw is not None:
            steps.append(lambda: self.runner.run(self.raw.close()))  # type: ignore[union-attr]
        for step in steps:
            with contextlib.suppress(Exception):
                step()

    def versions(self) -> str:
        assert self.session is not None
        settings = self.session.action("CoreSettings").response
        return f"Asterisk {settings.get('AsteriskVersion', '?')}, AMI {settings.get('AMIversion')}"

    def ping(self, row: str, count: int) -> float:
        raw, client, manager, session = self.raw, self.client, self.manager, self.session
        assert raw and client and session
        if row == "raw asyncio streams":
            return self.runner.run(_time_async(raw.ping, count))
        if row == "amilab AMIClient.ping()":
            return self.runner.run(_time_async(client.ping, count))
        if row == 'amilab AMIClient.action("Ping")':
            return self.runner.run(_time_async(lambda: client.action("Ping"), count))
        if row == 'amilab Session.action("Ping")':
            return _time_sync(lambda: session.action("Ping"), count)
        return self.runner.run(_time_async(lambda: panoramisk_ping(manager), count))

    def list_rate(self, row: str, count: int) -> tuple[float, float]:
        raw, client, manager = self.raw, self.client, self.manager
        assert raw and client
        action = self.args.list_action
        batch: Callable[[], Awaitable[list[int]]]
        if row == "raw asyncio streams":
            batch = lambda: raw.list_batch(action, count)  # noqa: E731
        elif row == "amilab AMIClient.action":
            batch = lambda: amilab_list_batch(client, action, count)  # noqa: E731
        else:
            batch = lambda: panoramisk_list_batch(manager, action, count)  # noqa: E731
        return self.runner.run(_rate(batch, count, row))

    def warm_up(self) -> None:
        for row in PING_ROWS:
            self.ping(row, WARMUP_PINGS)
        for row in LIST_ROWS:
            self.list_rate(row, min(self.args.batch, 100))


def _rotated(names: tuple[str, ...], shift: int) -> list[str]:
    shift %= len(names)
    return list(names[shift:] + names[:shift])


def measure(bench: Bench, rounds: int, pings: int, batch: int) -> dict[str, Row]:
    rows = {f"ping/{n}": Row(n) for n in PING_ROWS} | {f"list/{n}": Row(n) for n in LIST_ROWS}
    for round_ in range(rounds):
        for name in _rotated(PING_ROWS, round_):
            value = bench.ping(name, pings)
            rows[f"ping/{name}"].per_round.append(value)
            print(
                f"  round {round_ + 1}/{rounds} ping {name:32s} {value * 1e6:9.1f} us",
                file=sys.stderr,
            )
        for name in _rotated(LIST_ROWS, round_):
            value, cpu = bench.list_rate(name, batch)
            rows[f"list/{name}"].per_round.append(value)
            rows[f"list/{name}"].cpu_per_round.append(cpu)
            print(
                f"  round {round_ + 1}/{rounds} list {name:32s} {value:9,.0f} actions/s",
                file=sys.stderr,
            )
    return rows


# -- reporting ---------------------------------------------------------------------
def _machine() -> str:
    model = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    return (
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
        + (f", {model}" if model else "")
    )


def _ping_table(rows: dict[str, Row], pings: int, rounds: int) -> str:
    base = rows["ping/raw asyncio streams"].median
    head = f"{'ping round trip':34s} {'median us':>10s} {'best round us':>14s} {'vs raw':>8s}"
    lines = [f"Ping: {pings} sequential calls a round, median call; median of {rounds} rounds"]
    lines += [head, "-" * len(head)]
    for key, row in rows.items():
        if key.startswith("ping/"):
            lines.append(
                f"{row.name:34s} {row.median * 1e6:>10.1f} {min(row.per_round) * 1e6:>14.1f}"
                f" {row.median / base:>7.2f}x"
            )
    return "\n".join(lines)


def _list_table(rows: dict[str, Row], action: str, batch: int, rounds: int) -> str:
    base = rows["list/panoramisk send_action"].median
    head = (
        f"{'list throughput':34s} {'median act/s':>12s} {'best act/s':>12s} {'vs pano':>8s}"
        f" {'median act/CPU-s':>17s}"
    )
    lines = [f"List: {batch} concurrent {action} a round; median of {rounds} rounds"]
    lines += [head, "-" * len(head)]
    for key, row in rows.items():
        if key.startswith("list/"):
            lines.append(
                f"{row.name:34s} {row.median:>12,.0f} {max(row.per_round):>12,.0f}"
                f" {row.median / base:>7.2f}x {statistics.median(row.cpu_per_round):>17,.0f}"
            )
    return "\n".join(lines)


def check_goals(rows: dict[str, Row]) -> tuple[list[str], bool]:
    """One line per goal (the ratio of medians and its range over rounds); all met?"""
    lines, all_met = [], True
    for goal in GOALS:
        num, den = rows[goal.numerator], rows[goal.denominator]
        ratio = num.median / den.median
        per_round = [n / d for n, d in zip(num.per_round, den.per_round, strict=True)]
        met = ratio <= goal.limit if goal.at_most else ratio >= goal.limit
        all_met &= met
        sign = "<=" if goal.at_most else ">="
        cpu = ""
        if num.cpu_per_round and den.cpu_per_round:
            cpu_ratio = statistics.median(num.cpu_per_round) / statistics.median(den.cpu_per_round)
            cpu = f", {cpu_ratio:.2f}x per CPU-s"
        lines.append(
            f"{goal.label:46s} {ratio:5.2f}x (rounds {min(per_round):.2f}-"
            f"{max(per_round):.2f}x{cpu})  goal {sign} {goal.limit}x  {'met' if met else 'MISSED'}"
        )
    return lines, all_met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=HOST, help="AMI host (env AMILAB_ASTERISK_HOST)")
    parser.add_argument("--port", type=int, default=PORT, help="AMI port (AMILAB_ASTERISK_PORT)")
    parser.add_argument("--username", default=USERNAME, help="AMI user (AMILAB_ASTERISK_USER)")
    parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"], help="rounds per row")
    parser.add_argument("--pings", type=int, default=DEFAULTS["pings"], help="pings a round")
    parser.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="lists a round")
    parser.add_argument("--list-action", default=LIST_ACTION, help="a list action to send")
    parser.add_argument("--quick", action="store_true", help="a smoke run, not a measurement")
    parser.add_argument("--check", action="store_true", help="exit 1 if a goal is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.pings, args.batch = QUICK["rounds"], QUICK["pings"], QUICK["batch"]
    for name, most in MAX_COUNTS.items():
        if not 1 <= getattr(args, name) <= most:
            parser.error(f"--{name} must be between 1 and {most:,}")
    try:
        loopback = ipaddress.ip_address(socket.gethostbyname(args.host)).is_loopback
    except (OSError, ValueError):
        loopback = False
    if not loopback:
        parser.error(
            f"{args.host} is not a loopback address; run this only against a local sandbox"
        )
    try:
        import panoramisk  # noqa: F401  (checked here for a clear message)
    except ImportError:
        print("error: panoramisk is not installed; pip install -e '.[bench]'", file=sys.stderr)
        return 2
    with asyncio.Runner() as runner:
        bench = Bench(args, runner)
        try:
            bench.open()
            print(f"{_machine()}\n{bench.versions()} at {args.host}:{args.port}, Events: off")
            bench.warm_up()
            rows = measure(bench, args.rounds, args.pings, args.batch)
        except (BenchError, amilab.AMIError, OSError, TimeoutError, EOFError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            bench.close()
    print(_ping_table(rows, args.pings, args.rounds))
    print()
    print(_list_table(rows, args.list_action, args.batch, args.rounds))
    print()
    lines, all_met = check_goals(rows)
    print("Goals (ratios of medians from this run):")
    print("\n".join(f"  {line}" for line in lines))
    return 1 if args.check and not all_met else 0


if __name__ == "__main__":
    sys.exit(main())
