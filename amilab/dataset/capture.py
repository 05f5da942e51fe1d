"""``amilab capture``: log in to each server and write its events to a Parquet dataset, for months.

Theory of operation (one asyncio loop, one :class:`~amilab.client.AMIClient` per server):

* Every event goes, as it arrives, into a per-server pending list (a raw block
  with its receive time). Once a second, or as soon as :data:`FLUSH_BYTES` are
  pending, the list is appended to the server's open segment
  (:mod:`amilab.dataset.segments`). Memory therefore holds at most about a
  second of events, whatever the rate; the disk takes the rest.
* A segment rotates when it reaches ``rotate_bytes`` or ``rotate_seconds``;
  a worker thread turns closed segments into Parquet while capture goes on.
* Nothing is lost silently. An event is either written, or counted in
  ``lost`` with the reason (the write's error); when writing works again that
  loss becomes a row of the gaps table (:mod:`amilab.dataset.gaps`), as do
  reconnects and the capture's own downtime. A write that fails halfway may
  still have stored some whole blocks of its batch; they reach the dataset and
  are counted lost too, so ``lost`` is an upper bound, never an undercount.
* A failure stays with its server: a bad entry, a refused login or a full
  disk each give one log line (on stderr) and the other servers go on.
* SIGTERM or SIGINT: log off, flush, convert every segment, mark the state as
  stopped, exit 0. At start, segments a crash left are converted first.

Exit codes: 0 stopped by a signal; 1 every server gave up (login refused);
2 nothing to capture or the dataset directory is unwritable.

Test hook: when the environment variable :data:`FAULT_ENV` names a file that
exists, every write of the capture fails with ``ENOSPC``, as on a full disk
(the test machine has no small file system to fill, and its root user ignores
permissions, so neither a real full disk nor ``chmod`` can be used there).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from amilab.client import AMIClient, ConnectionEvent
from amilab.dataset.gaps import Gap, ServerState, write_gap
from amilab.dataset.segments import (
    FLUSH_BYTES,
    SEGMENTS_DIR,
    Segment,
    block,
    convert_segment,
    leftover_segments,
    remove_temporary_parts,
)
from amilab.errors import AMIError, AuthenticationError
from amilab.protocol import Message
from amilab.protocol.login import AuthMode, Secret
from amilab.protocol.state import LinkState

__all__ = [
    "EXIT_ALL_GAVE_UP",
    "EXIT_STOPPED",
    "EXIT_UNUSABLE",
    "FAULT_ENV",
    "Capture",
    "Limits",
    "ServerCapture",
    "ServerSpec",
    "run",
]

log = logging.getLogger("amilab.capture")

EXIT_STOPPED, EXIT_ALL_GAVE_UP, EXIT_UNUSABLE = 0, 1, 2
#: See the module docstring: names a file whose existence makes every write fail.
FAULT_ENV = "AMILAB_CAPTURE_FAULT_FILE"
#: The promise to a crash: events reach the kernel at least this often (s).
FLUSH_INTERVAL = 1.0
#: Defaults: an hour or 64 MiB per Parquet file keeps a month at 100 events/s
#: to ~750 files per server, each readable in well under a second.
DEFAULT_ROTATE_BYTES = 64 << 20
DEFAULT_ROTATE_SECONDS = 3600.0
#: First connect: retry an unreachable server with this backoff (s), forever.
CONNECT_RETRY = (1.0, 60.0)
#: A failed conversion (say, a full disk) is tried again this often (s).
CONVERT_RETRY_S = 60.0
#: Gap rows waiting for a writable disk; past this the oldest are dropped and logged.
MAX_UNWRITTEN_GAPS = 10_000
_NS = 1_000_000_000


@dataclass(frozen=True)
class ServerSpec:
    """One server to capture: a dataset name and how to log in (the secret stays wrapped)."""

    name: str
    host: str
    port: int | None
    username: str
    secret: Secret = field(repr=False)
    tls: bool | ssl.SSLContext = False
    auth: AuthMode = "auto"
    events: str | None = None


@dataclass(frozen=True)
class Limits:
    """When a segment rotates into Parquet."""

    rotate_bytes: int = DEFAULT_ROTATE_BYTES
    rotate_seconds: float = DEFAULT_ROTATE_SECONDS


def injected_fault() -> None:
    """Raise ENOSPC when the test hook asks for it (see the module docstring)."""
    path = os.environ.get(FAULT_ENV)
    if path and os.path.exists(path):
        raise OSError(errno.ENOSPC, f"No space left on device (simulated through ${FAULT_ENV})")


def describe(exc: BaseException) -> str:
    """A short reason for a log line or a gap row."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


class ServerCapture:
    """The capture of one server: pending events, its open segment, its gaps and counters."""

    def __init__(self, root: Path, name: str, limits: Limits) -> None:
        self.root = root
        self.name = name
        self.limits = limits
        self.directory = root / SEGMENTS_DIR / f"server={name}"
        self.received = 0
        self.written = 0
        self.lost: dict[str, int] = {}
        self.last_ns: int | None = None
        self.segment: Segment | None = None
        self.closed: list[Path] = []
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_span: tuple[int, int] | None = None
        self._open_gap: tuple[int, str] | None = None
        self._link_down: tuple[int, str] | None = None
        self._loss: tuple[int, int, int, str] | None = None  # first, last, count, why
        self._failing: str | None = None
        self._gaps: list[Gap] = []

    # -- startup ------------------------------------------------------------------
    def resume(self, state: ServerState | None, recovered_last_ns: int | None) -> None:
        """Open the downtime gap since the previous run; closed by the first event."""
        known = [t for t in (state.last_event_ns if state else None, recovered_last_ns) if t]
        if not known:
            return
        self.last_ns = max(known)
        why = "capture not running (crashed or killed)"
        if state is not None and not state.running:
            why = "capture not running (stopped)"
        self._open_gap = (self.last_ns, why)

    # -- the hot path ---------------------------------------------------------------
    def on_event(self, msg: Message) -> None:
        """The event handler: keep the block with its receive time; flush when it grows large."""
        ns = time.time_ns()
        if self._open_gap is not None:
            start, why = self._open_gap
            self._open_gap = None
            self.add_gap(Gap(self.name, start, ns, why))
        raw = msg.raw
        if raw.endswith(b"\n"):  # a block given with its blank line; the client's never is
            raw = raw.rstrip(b"\r\n")
        self._pending.append(block(ns, raw))
        self._pending_bytes += len(self._pending[-1])
        span = self._pending_span
        self._pending_span = (ns, ns) if span is None else (span[0], ns)
        self.received += 1
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Append the pending events to the segment; on failure count them as lost."""
        if not self._pending or self._pending_span is None:
            return
        data, count, (first, last) = b"".join(self._pending), len(self._pending), self._pending_span
        self._pending, self._pending_bytes, self._pending_span = [], 0, None
        try:
            injected_fault()
            if self.segment is None:
                self.segment = Segment(self.directory, first)
            self.segment.append(data)
        except OSError as exc:
            self._lose(count, first, last, describe(exc))
            return
        self.written += count
        self.last_ns = last
        self._writing_again()
        self.save_state(running=True)

    def _lose(self, count: int, first: int, last: int, why: str) -> None:
        self.lost[why] = self.lost.get(why, 0) + count
        loss = self._loss
        self._loss = (
            (first, last, count, why) if loss is None else (loss[0], last, loss[2] + count, why)
        )
        if self._failing != why:
            self._failing = why
            log.error(
                "%s: cannot write events under %s (%s); counting them as lost until it works again",
                self.name,
                self.root,
                why,
            )
        # A failed write may leave half a block at the segment's end: start a new one,
        # and let conversion cut that half block off (segments.convert_segment).
        self._close_segment()

    def _writing_again(self) -> None:
        if self._loss is None:
            return
        first, last, count, why = self._loss
        self._loss, self._failing = None, None
        log.warning("%s: writing again; %d events were lost (%s)", self.name, count, why)
        self.add_gap(Gap(self.name, first, last, f"{count} events lost: {why}"))

    # -- link events -----------------------------------------------------------------
    def on_connection(self, event: ConnectionEvent) -> None:
        """Log link changes; a reconnect becomes a gap from the disconnect to the reconnect."""
        at = int(event.at * _NS)
        if event.kind == "disconnected":
            self.flush()
            if self._link_down is None:
                self._link_down = (at, event.reason)
            log.warning("%s: disconnected: %s", self.name, event.reason or "link lost")
        elif event.kind == "reconnected":
            down, self._link_down = self._link_down, None
            start, reason = down if down is not None else (at, "")
            self.add_gap(Gap(self.name, start, at, f"reconnect: link down ({reason or 'lost'})"))
            log.warning("%s: reconnected after %.1f s", self.name, (at - start) / _NS)
        else:
            log.info("%s: connected", self.name)

    # -- gaps and state -------------------------------------------------------------------
    def add_gap(self, gap: Gap) -> None:
        """Queue a gap row and try to write every queued one."""
        self._gaps.append(gap)
        if len(self._gaps) > MAX_UNWRITTEN_GAPS:
            dropped = self._gaps.pop(0)
            log.error("%s: too many unwritten gaps; dropped %s", self.name, dropped)
        self.write_gaps()

    def write_gaps(self) -> None:
        while self._gaps:
            try:
                injected_fault()
                write_gap(self.root, self._gaps[0])
            except OSError:
                return  # the disk is refusing; _lose logged it (or will) and we retry each second
            self._gaps.pop(0)

    def save_state(self, *, running: bool) -> None:
        with contextlib.suppress(OSError):
            injected_fault()
            ServerState(self.last_ns, running).save(self.root, self.name)

    # -- rotation ---------------------------------------------------------------------
    def rotate_if_due(self, now_ns: int) -> None:
        """Close the segment when it is big or old enough; it then waits in ``closed``."""
        segment = self.segment
        if segment is None:
            return
        old = now_ns - segment.first_ns >= self.limits.rotate_seconds * _NS
        if old or segment.size >= self.limits.rotate_bytes:
            self._close_segment()

    def _close_segment(self) -> None:
        segment, self.segment = self.segment, None
        if segment is not None:
            with contextlib.suppress(OSError):
                segment.close()
            if segment.path.exists():
                self.closed.append(segment.path)

    def take_closed(self) -> list[Path]:
        closed, self.closed = self.closed, []
        return closed

    def stop(self) -> None:
        """Flush, close the segment; the caller converts what is closed."""
        self.flush()
        self._close_segment()
        self.write_gaps()

    def summary(self) -> str:
        lost = sum(self.lost.values())
        why = "; ".join(f"{n} {reason}" for reason, n in self.lost.items())
        return (
            f"{self.name}: {self.received} events received, {self.written} written, "
            f"{lost} lost" + (f" ({why})" if why else "")
        )


class Capture:
    """Several servers into one dataset directory; :meth:`run` until :meth:`stop`."""

    def __init__(self, root: Path, specs: Sequence[ServerSpec], limits: Limits = Limits()) -> None:
        self.root = root
        self.specs = list(specs)
        self.limits = limits
        self.servers = {spec.name: ServerCapture(root, spec.name, limits) for spec in self.specs}
        self.clients: dict[str, AMIClient] = {}
        self.gave_up: set[str] = set()
        self._stop = asyncio.Event()
        self._failed: list[tuple[str, Path]] = []
        self._reported: set[Path] = set()  # failed conversions already logged (one line each)
        self._last_retry = time.monotonic()
        self._queue: asyncio.Queue[tuple[str, Path] | None] = asyncio.Queue()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        """Capture until stopped (or until every server gave up); return the exit code."""
        if not self._usable():
            return EXIT_UNUSABLE
        recovered = await asyncio.to_thread(self._recover)
        for name, server in self.servers.items():
            server.resume(ServerState.load(self.root, name), recovered.get(name))
            server.save_state(running=True)
        converter = asyncio.create_task(self._converter())
        tasks = [asyncio.create_task(self._serve(spec)) for spec in self.specs]
        code = await self._tick_until_stopped()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._shutdown(converter)
        return code

    def _usable(self) -> bool:
        try:
            injected_fault()
            probe = self.root / "_state" / "_probe"
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            log.error(
                "cannot write the dataset under %s: %s; nothing captured", self.root, describe(exc)
            )
            return False
        return True

    def _recover(self) -> dict[str, int]:
        """Convert leftover segments (see segments.py); the last event time per server."""
        last: dict[str, int] = {}
        with contextlib.suppress(OSError):
            remove_temporary_parts(self.root)
        for server, path in leftover_segments(self.root):
            done = self._convert(server, path)
            if done is not None and (server not in last or done > last[server]):
                last[server] = done
        return last

    def _convert(self, server: str, path: Path) -> int | None:
        """Convert one segment; on failure log one line and keep it for a later try."""
        try:
            injected_fault()
            result = convert_segment(self.root, server, path)
        except Exception as exc:  # one bad segment must not stop the converter for the rest
            if path not in self._reported:
                self._reported.add(path)
                log.error(
                    "%s: cannot turn %s into Parquet yet (%s); kept, retried every %g s "
                    "and at the next start",
                    server,
                    path,
                    describe(exc),
                    CONVERT_RETRY_S,
                )
            self._failed.append((server, path))
            return None
        self._reported.discard(path)
        log.info(
            "%s: %d events -> %s",
            server,
            result.events,
            ", ".join(map(str, result.files)) or "no file",
        )
        return result.last_ns

    async def _serve(self, spec: ServerSpec) -> None:
        """Connect (retrying an unreachable server forever) and subscribe the capture."""
        server = self.servers[spec.name]
        delay, cap = CONNECT_RETRY
        warned = False
        while True:
            client = AMIClient(
                spec.host,
                spec.port,
                username=spec.username,
                secret=spec.secret,
                auth=spec.auth,
                tls=spec.tls,
                events=spec.events,
            )
            client.on("*", server.on_event)
            client.on_connection(server.on_connection)
            try:
                await client.connect()
            except AuthenticationError as exc:
                log.error("%s: login refused, this server is not captured: %s", spec.name, exc)
                self.gave_up.add(spec.name)
                await client.close()
                return
            except (AMIError, OSError) as exc:
                await client.close()
                if not warned:
                    log.warning(
                        "%s: cannot connect to %s:%s (%s); retrying",
                        spec.name,
                        spec.host,
                        client.port,
                        describe(exc),
                    )
                    warned = True
                await asyncio.sleep(delay)
                delay = min(cap, delay * 2)
                continue
            self.clients[spec.name] = client
            log.info("%s: capturing %s:%s as %s", spec.name, spec.host, client.port, spec.username)
            return

    async def _tick_until_stopped(self) -> int:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), FLUSH_INTERVAL)
            await self._tick()
            if self.gave_up >= set(self.servers):
                log.error("every server gave up; stopping")
                return EXIT_ALL_GAVE_UP
        return EXIT_STOPPED

    async def _tick(self) -> None:
        now = time.time_ns()
        for name, server in self.servers.items():
            server.flush()
            server.write_gaps()
            server.rotate_if_due(now)
            client = self.clients.get(name)
            if (
                client is not None
                and client.link_state is LinkState.GAVE_UP
                and name not in self.gave_up
            ):
                self.gave_up.add(name)
                log.error("%s: login refused on reconnect; this server is no longer captured", name)
        await self._convert_closed()

    async def _convert_closed(self) -> None:
        """Queue closed segments (and, now and then, failed ones) for the converter task."""
        for name, server in self.servers.items():
            for path in server.take_closed():
                self._queue.put_nowait((name, path))
        if self._failed and time.monotonic() - self._last_retry >= CONVERT_RETRY_S:
            failed, self._failed = self._failed, []
            self._last_retry = time.monotonic()
            for item in failed:
                self._queue.put_nowait(item)

    async def _converter(self) -> None:
        """Convert queued segments one at a time on a worker thread, so ticks go on meanwhile."""
        while (item := await self._queue.get()) is not None:
            await asyncio.to_thread(self._convert, *item)

    async def _shutdown(self, converter: asyncio.Task[None]) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await client.close()
        for server in self.servers.values():
            server.stop()
        self._last_retry = -CONVERT_RETRY_S  # one last try of failed conversions
        await self._convert_closed()
        self._queue.put_nowait(None)
        await converter
        for server in self.servers.values():
            server.save_state(running=False)
            log.info("%s", server.summary())


async def run(root: Path, specs: Sequence[ServerSpec], limits: Limits = Limits()) -> int:
    """Run a capture until SIGTERM or SIGINT; return the exit code."""
    capture = Capture(root, specs, limits)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, capture.stop)
    return await capture.run()
