"""Bounded event capture: record live events, save, load and replay them.

Theory of operation: :meth:`EventRecorder.record` runs on the I/O loop thread
for every event, so it does almost nothing: it stores the receive time
(``time.time_ns()``) and the message's raw ``bytes`` in two deques under a
lock. Neither ints nor bytes are tracked by the cyclic GC, so a million
retained events cost no GC time; :class:`Message` objects would. Parsing
happens only when a frame is asked for (see :mod:`amilab.frames`).

Bounds: ``max_events`` and ``max_bytes`` (of raw text held in memory) cap
the capture. When one is exceeded the ``policy`` applies:

* ``"drop-oldest"``: the oldest events are discarded (counted in ``dropped``);
* ``"spill"``: the oldest events move to an ``.ami`` file on disk
  (:attr:`~EventRecorder.spill_path`, counted in ``spilled``), read back by
  ``to_frame(include_spilled=True)`` and included by :meth:`~EventRecorder.save`;
* ``"stop"``: recording stops and later events are counted in ``dropped``.

Capture file format (``.ami``): the AMI wire text itself, so
:class:`~amilab.protocol.ReceiveBuffer` reads it back like a live stream.
It opens with the greeting line :data:`CAPTURE_GREETING`, then each event
block as received, with one header added last,
``X-Amilab-Received-At: <ns since the epoch>``, which loading strips again.
Blocks without it (e.g. a raw transcript of a server) load with ``NaT``; a
block saved without a time whose own last header is spelled like the time
header gets ``X-Amilab-Received-At: none`` added, so that header survives.
A ``Response: Follows`` block (pre-14 ``Command`` output) is framed on its
``--END COMMAND--`` line, so its time header arrives as a block of its own
and is given back to it.

Loading is strict, because a capture is evidence: a time header whose value
is not a whole number of ns in int64's range, or a ``Response: Follows``
block with no ``--END COMMAND--`` line (which would swallow every block up
to the next marker, or to the end of the file), raises
:class:`~amilab.errors.ProtocolError` naming ``file:line``; nothing after a
bad block is silently dropped.

Frames (:meth:`~EventRecorder.to_frame`): the recorder's own columns,
:data:`RECORDER_COLUMNS`, come first and always win. ``event`` is the block's
first ``Event`` header, the event's name (manager.c writes it first); a
header whose name clashes with a recorder column (case-insensitively, as
:func:`~amilab.frames.to_frame` merges names) keeps its values in a column
named :data:`CLASH_PREFIX` + its name: ``header:received_at``, and
``header:Event`` for the ``Event`` headers after the first (a ``UserEvent``
action passes its own ``Event:`` header through; see the recorded
``tests/fixtures/asterisk22/userevent_clash.ami``).

Parquet (``.parquet``) stores :meth:`~EventRecorder.to_frame`'s result; a
column with repeated headers is stored as a list-of-strings column (every
non-NA cell a list) and named in the file's ``amilab.multi`` metadata, so
:func:`load_frame` restores ``str``/``tuple`` cells exactly. The stored types
are the truth: a name in that metadata is honoured only for a list-of-strings
column (any other column loads as stored, never split into characters), and
metadata that is not a JSON list of names is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from amilab.errors import ProtocolError
from amilab.protocol.buffer import ReceiveBuffer
from amilab.protocol.message import Message

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "CAPTURE_GREETING",
    "CLASH_PREFIX",
    "RECORDER_COLUMNS",
    "EventRecorder",
    "RecorderStats",
    "load_capture",
    "load_frame",
    "replay",
    "replay_into",
    "replay_timed",
]

Policy = Literal["drop-oldest", "spill", "stop"]
_POLICIES = ("drop-oldest", "spill", "stop")

#: Greeting line of a capture file; any ``Asterisk Call Manager/`` line is accepted on load.
CAPTURE_GREETING = b"Asterisk Call Manager/amilab-capture-1\r\n"
#: Header added to every block of a capture file, holding ``received_at`` in ns.
TIME_HEADER = b"X-Amilab-Received-At: "
#: Default caps: a busy PBX sends ~1,000 events/s, so 1M events is 15+ minutes;
#: 256 MiB keeps a notebook kernel comfortably alive.
DEFAULT_MAX_EVENTS = 1_000_000
DEFAULT_MAX_BYTES = 256 << 20
#: ``events_per_second`` averages over this many whole seconds.
RATE_WINDOW_S = 5
#: Spilling evicts down to this fraction of the caps, so the disk sees one
#: write per batch of events rather than one per event.
SPILL_LOW_WATER = 0.9
#: Bytes read per chunk when replaying a capture file.
REPLAY_CHUNK = 1 << 16
_NS = 1_000_000_000
#: ``received_at`` of a block loaded without a time header; NaT in a frame.
NO_TIME = -(1 << 63)
#: Largest time a capture can hold: frames store ns in int64 (year 2262).
MAX_TIME = (1 << 63) - 1
#: Time-header value of a block saved without a time (see the module docstring).
NO_TIME_VALUE = b"none"
#: Parquet metadata key naming the columns stored as lists (repeated headers).
MULTI_KEY = b"amilab.multi"
#: Columns the recorder puts before the headers; they win any clash.
RECORDER_COLUMNS = ("received_at", "event")
#: Prefix of a header column renamed because it clashes with a recorder column.
#: An AMI header name ends at its first colon, so no header is spelled like it.
CLASH_PREFIX = "header:"
_FOLLOWS = b"Response: Follows"
_TIME_LINE = b"\n" + TIME_HEADER
#: Starts of a block seen inside a ``Response: Follows`` block: a blank line,
#: then a line only a new block begins with. Output holding such text means the
#: block's ``--END COMMAND--`` line is missing and later blocks were swallowed.
_BLOCK_STARTS = (b"Event: ", b"Response: ", TIME_HEADER)


class EventSource(Protocol):
    """Anything with the client's handler API (AMIClient, Session, a simulator, a fake)."""

    def on(self, pattern: str | Iterable[str], callback: Callable[[Message], object]) -> Any: ...


@dataclass(frozen=True)
class RecorderStats:
    """Counters of an :class:`EventRecorder`; ``recorded`` counts every event ever accepted."""

    recorded: int
    retained: int
    dropped: int
    spilled: int
    bytes: int
    events_per_second: float
    first_at: datetime | None
    last_at: datetime | None
    stopped: bool


def _as_datetime(ns: int | None) -> datetime | None:
    if ns is None or ns == NO_TIME:
        return None
    return datetime.fromtimestamp(ns / _NS, tz=UTC)


def _block(ns: int, raw: bytes) -> bytes:
    """One capture-file block: the raw event, the time header, the blank line."""
    if ns != NO_TIME:
        return b"%s\r\n%s%d\r\n\r\n" % (raw, TIME_HEADER, ns)
    if raw[raw.rfind(b"\n") + 1 :].startswith(TIME_HEADER):
        return b"%s\r\n%s%s\r\n\r\n" % (raw, TIME_HEADER, NO_TIME_VALUE)
    return raw + b"\r\n\r\n"


def _split_time(raw: bytes) -> tuple[int, bytes]:
    """(received_at ns, raw without the time header) of one loaded block.

    Only the last line can be the time header (it is added last). Raises
    ValueError for a value that is not a time, so the caller can say where.
    This runs once per loaded block, hence the shortcut for the usual value.
    """
    head, found, value = raw.rpartition(_TIME_LINE)
    if not found or b"\n" in value:
        return NO_TIME, raw
    if head.endswith(b"\r"):
        head = head[:-1]
    ns = int(value) if value.isdigit() else -1
    if 0 <= ns <= MAX_TIME:
        return ns, head
    return _time_value(value.rstrip(b"\r")), head


def _time_value(value: bytes) -> int:
    """The ns of a time header's value; ValueError unless 0..MAX_TIME or ``none``."""
    if value == NO_TIME_VALUE:
        return NO_TIME
    ns = int(value) if value.isdigit() else -1
    if not 0 <= ns <= MAX_TIME:
        raise ValueError(
            f"{TIME_HEADER.decode().strip()} {value[:40].decode('utf-8', 'replace')!r} is not "
            f"a receive time (whole ns since the epoch, 0 to {MAX_TIME}, or 'none')"
        )
    return ns


class EventRecorder:
    """A bounded, thread-safe capture of AMI events (see the module docstring).

    ``EventRecorder(session)`` subscribes at once to ``patterns`` (globs on the
    event name, as ``source.on`` takes them); ``predicate(msg) -> bool`` filters
    further. Use as a context manager, or call :meth:`detach`. ``record`` is the
    callback and may also be called directly.
    """

    def __init__(
        self,
        source: EventSource | None = None,
        patterns: str | Iterable[str] = "*",
        *,
        predicate: Callable[[Message], bool] | None = None,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        policy: Policy = "drop-oldest",
        spill_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if policy not in _POLICIES:
            raise ValueError(f"policy must be one of {_POLICIES}, not {policy!r}")
        if max_events < 1 or max_bytes < 1:
            raise ValueError("max_events and max_bytes must be positive")
        self.patterns = patterns
        self.predicate = predicate
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.policy: Policy = policy
        self._spill_path = Path(spill_path) if spill_path is not None else None
        self._lock = threading.Lock()
        self._times: deque[int] = deque()
        self._raws: deque[bytes] = deque()
        self._subscription: Any = None
        self._reset_counters()
        if source is not None:
            self.attach(source)

    def _reset_counters(self) -> None:
        self._bytes = 0
        self._recorded = 0
        self._dropped = 0
        self._spilled = 0
        self._stopped = False
        self._second = 0
        self._second_count = 0
        self._rates: deque[tuple[int, int]] = deque(maxlen=RATE_WINDOW_S + 1)

    # -- wiring -------------------------------------------------------------
    def attach(self, source: EventSource) -> EventRecorder:
        """Subscribe :meth:`record` to ``source`` (detaching from any previous one)."""
        self.detach()
        self._subscription = source.on(self.patterns, self.record)
        return self

    def detach(self) -> None:
        """Stop receiving events; what was recorded stays."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.cancel()

    def stop(self) -> None:
        """Stop recording (the same as :meth:`detach`); what was recorded stays.

        Not to be confused with ``stats.stopped``, which says the ``"stop"``
        policy ended recording when a bound was reached.
        """
        self.detach()

    @property
    def attached(self) -> bool:
        return self._subscription is not None

    def __enter__(self) -> EventRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    # -- the hot path ---------------------------------------------------------
    def record(self, msg: Message, received_at_ns: int | None = None) -> None:
        """Store one message (its receive time and raw bytes); cheap, thread-safe.

        ``received_at_ns`` defaults to now; a given one must fit a frame's int64
        ns (:data:`NO_TIME` for unknown), so one bad time cannot break ``df``.
        """
        predicate = self.predicate
        if predicate is not None and not predicate(msg):
            return
        raw = msg.raw
        if received_at_ns is None:
            now = time.time_ns()
        elif NO_TIME <= received_at_ns <= MAX_TIME:
            now = received_at_ns
        else:
            raise ValueError(
                f"received_at_ns={received_at_ns} is outside int64 ns "
                f"({NO_TIME} for no time .. {MAX_TIME}); pass ns since the epoch"
            )
        with self._lock:
            if self._stopped:
                self._dropped += 1
                return
            self._times.append(now)
            self._raws.append(raw)
            self._bytes += len(raw)
            self._recorded += 1
            second = now // _NS
            if second == self._second:
                self._second_count += 1
            else:
                self._roll_second(second)
            if len(self._raws) > self.max_events or self._bytes > self.max_bytes:
                self._overflow()

    __call__ = record

    def _roll_second(self, second: int) -> None:
        if self._second_count:
            self._rates.append((self._second, self._second_count))
        self._second = second
        self._second_count = 1

    def _overflow(self) -> None:
        """Apply the policy; called with the lock held, the newest event already stored."""
        if self.policy == "stop":
            self._evict(1, keep_newest=True)
            self._dropped += 1
            self._recorded -= 1
            self._stopped = True
        elif self.policy == "drop-oldest":
            self._dropped += self._evict_to(self.max_events, self.max_bytes)
        else:
            low_events = max(1, int(self.max_events * SPILL_LOW_WATER))
            low_bytes = int(self.max_bytes * SPILL_LOW_WATER)
            start = len(self._raws)
            blocks = []
            while len(self._raws) > low_events or (self._bytes > low_bytes and self._raws):
                raw = self._raws.popleft()
                self._bytes -= len(raw)
                blocks.append(_block(self._times.popleft(), raw))
            self._write_spill(blocks)
            self._spilled += start - len(self._raws)

    def _evict(self, count: int, *, keep_newest: bool) -> None:
        for _ in range(count):
            raw = self._raws.pop() if keep_newest else self._raws.popleft()
            self._times.pop() if keep_newest else self._times.popleft()
            self._bytes -= len(raw)

    def _evict_to(self, max_events: int, max_bytes: int) -> int:
        evicted = 0
        while len(self._raws) > max_events or (self._bytes > max_bytes and self._raws):
            self._evict(1, keep_newest=False)
            evicted += 1
        return evicted

    # -- spill file ---------------------------------------------------------
    @property
    def spill_path(self) -> Path | None:
        """The spill file (created on first spill when not given), or None."""
        return self._spill_path

    def _write_spill(self, blocks: list[bytes]) -> None:
        path = self._spill_path
        if path is None:
            fd, name = tempfile.mkstemp(prefix="amilab-spill-", suffix=".ami")
            os.close(fd)
            path = self._spill_path = Path(name)
        new = not path.exists() or path.stat().st_size == 0
        with path.open("ab") as f:
            if new:
                f.write(CAPTURE_GREETING)
            f.write(b"".join(blocks))

    def _spilled_events(self, size: int) -> list[tuple[int, bytes]]:
        """The first ``size`` bytes of the spill file (appends only grow it), parsed."""
        if not size or self._spill_path is None:
            return []
        with self._spill_path.open("rb") as f:
            return list(_read_bytes(f.read(size), str(self._spill_path)))

    # -- reading ------------------------------------------------------------
    def _columns(self, include_spilled: bool) -> tuple[list[int], list[bytes]]:
        """Consistent copies of the receive times (ns) and raw blocks, oldest first."""
        with self._lock:
            times, raws = list(self._times), list(self._raws)
            path = self._spill_path
            size = path.stat().st_size if include_spilled and self._spilled and path else 0
        spilled = self._spilled_events(size)
        if spilled:
            times = [ns for ns, _ in spilled] + times
            raws = [raw for _, raw in spilled] + raws
        return times, raws

    def snapshot(self, *, include_spilled: bool = False) -> list[tuple[int, bytes]]:
        """A consistent copy of the (received_at ns, raw) pairs, oldest first."""
        return list(zip(*self._columns(include_spilled), strict=True))

    def messages(self, *, include_spilled: bool = False) -> list[Message]:
        """The recorded events as fresh :class:`Message` objects."""
        return [Message(raw) for _, raw in self.snapshot(include_spilled=include_spilled)]

    def to_frame(
        self, numeric: bool | Literal["known"] = False, *, include_spilled: bool = False
    ) -> pd.DataFrame:
        """``received_at`` (UTC) and ``event`` first, then every header as in :func:`to_frame`."""
        return _events_frame(*self._columns(include_spilled), numeric)

    @property
    def df(self) -> pd.DataFrame:
        """The events held in memory as a DataFrame; see :meth:`to_frame`."""
        return self.to_frame()

    @property
    def stats(self) -> RecorderStats:
        with self._lock:
            now_second = time.time_ns() // _NS
            rates = [*self._rates, (self._second, self._second_count)]
            recent = sum(c for s, c in rates if now_second - RATE_WINDOW_S <= s < now_second)
            first = self._times[0] if self._times else None
            last = self._times[-1] if self._times else None
            return RecorderStats(
                recorded=self._recorded,
                retained=len(self._raws),
                dropped=self._dropped,
                spilled=self._spilled,
                bytes=self._bytes,
                events_per_second=recent / RATE_WINDOW_S,
                first_at=_as_datetime(first),
                last_at=_as_datetime(last),
                stopped=self._stopped,
            )

    def __len__(self) -> int:
        return len(self._raws)

    def __repr__(self) -> str:
        s = self.stats
        state = "stopped" if s.stopped else "attached" if self.attached else "detached"
        return (
            f"<EventRecorder {state}: {s.retained:,} events ({s.bytes / 2**20:.1f} MiB) "
            f"of {s.recorded:,} recorded, dropped {s.dropped:,}, spilled {s.spilled:,}, "
            f"policy {self.policy}>"
        )

    def clear(self) -> None:
        """Forget every event and counter, empty the spill file, resume if stopped."""
        with self._lock:
            self._times.clear()
            self._raws.clear()
            self._reset_counters()
            if self._spill_path is not None and self._spill_path.exists():
                self._spill_path.write_bytes(b"")

    # -- files ----------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write every event (spilled ones included) to ``.ami`` or ``.parquet``."""
        target = Path(path)
        if target.suffix == ".parquet":
            _save_parquet(self.to_frame(include_spilled=True), target)
        elif target.suffix == ".ami":
            events = self.snapshot(include_spilled=True)
            with target.open("wb") as f:
                f.write(CAPTURE_GREETING)
                f.write(b"".join(_block(ns, raw) for ns, raw in events))
        else:
            raise ValueError(f"save to a .ami or .parquet file, not {target.name!r}")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str], **kwargs: Any) -> EventRecorder:
        """A detached recorder holding a ``.ami`` capture (limits grow to fit it)."""
        events = list(_read_capture(Path(path)))
        size = sum(len(raw) for _, raw in events)
        kwargs.setdefault("max_events", max(DEFAULT_MAX_EVENTS, len(events)))
        kwargs.setdefault("max_bytes", max(DEFAULT_MAX_BYTES, size))
        recorder = cls(**kwargs)
        for ns, raw in events:
            recorder.record(Message(raw), ns)
        return recorder


# -- capture files -------------------------------------------------------------
def _read_capture(path: Path) -> Iterator[tuple[int, bytes]]:
    """(received_at ns, raw) of each block of an ``.ami`` file, through ReceiveBuffer."""
    with path.open("rb") as f:
        yield from _read_chunks(iter(lambda: f.read(REPLAY_CHUNK), b""), str(path))


def _read_bytes(data: bytes, name: str) -> Iterator[tuple[int, bytes]]:
    chunks = (data[start : start + REPLAY_CHUNK] for start in range(0, len(data), REPLAY_CHUNK))
    yield from _read_chunks(chunks, name)


def _read_chunks(chunks: Iterator[bytes], name: str) -> Iterator[tuple[int, bytes]]:
    """(received_at ns, raw) of each block of a capture read as ``chunks``.

    Framing is ReceiveBuffer's; this adds times and ``name:line`` in errors
    (see the module docstring). Lines are counted only for an error, so the
    usual load costs one time-header check per block. A Follows block waits
    for the next block, which may be its own time header (framed apart).
    """
    follows: bytes | None = None
    for batch in _batches(chunks, name):
        for index, msg in enumerate(batch.messages):
            raw = msg.raw
            try:
                if follows is not None:
                    if raw.startswith(TIME_HEADER) and b"\n" not in raw:
                        yield _time_value(raw[len(TIME_HEADER) :]), follows
                        follows = None
                        continue
                    yield NO_TIME, follows
                    follows = None
                ns, raw = _split_time(raw)
            except ValueError as exc:
                line = batch.line_of(index) + msg.raw.count(b"\n")
                raise ProtocolError(f"{name}:{line}: {exc}; fix or delete that line") from exc
            if raw.startswith(_FOLLOWS) and ns == NO_TIME:
                _check_follows(name, batch.line_of(index), raw)
                follows = raw
            else:
                yield ns, raw
    if follows is not None:
        yield NO_TIME, follows


def _check_follows(name: str, line: int, raw: bytes) -> None:
    """Refuse a Follows block that holds a later block's start (its marker is missing)."""
    found = [
        raw.find(sep + start) + len(sep)
        for sep in (b"\n\r\n", b"\n\n")
        for start in _BLOCK_STARTS
        if sep + start in raw
    ]
    if found:
        swallowed = line + raw.count(b"\n", 0, min(found))
        raise ProtocolError(
            f"{name}:{line}: 'Response: Follows' block has no '--END COMMAND--' "
            f"line before the block at line {swallowed}; add the marker line "
            "after its output, or delete the block"
        )


@dataclass(frozen=True)
class _Batch:
    """The messages one ``feed`` framed, with the bytes they came from.

    ``window`` starts at the first byte not consumed before this feed, on
    line ``line``; each raw is a slice of it, so it is found again there.
    """

    messages: list[Message]
    window: bytes
    line: int

    def line_of(self, index: int) -> int:
        """The line number on which ``messages[index]`` starts."""
        window, cursor, line = self.window, 0, self.line
        for msg in self.messages[: index + 1]:
            start = window.find(msg.raw, cursor)
            line += window.count(b"\n", cursor, start)
            cursor = start
            if msg is not self.messages[index]:
                cursor += len(msg.raw)
                line += msg.raw.count(b"\n")
        return line


def _batches(chunks: Iterator[bytes], name: str) -> Iterator[_Batch]:
    """The blocks ReceiveBuffer frames from ``chunks``, one :class:`_Batch` per chunk.

    A framing error is reported at the first line not yet read: the offending
    block's own line when it began in an earlier chunk (always so for an
    oversized one, as ``max_message_size`` spans many chunks), else at most
    one chunk (:data:`REPLAY_CHUNK`) before it.
    """
    buffer = ReceiveBuffer(expect_greeting=True)
    window, line = b"", 1  # ``line`` is the line number of window[0]
    for chunk in _with_end(chunks):
        window += chunk
        try:
            messages = buffer.feed(chunk)
        except ProtocolError as exc:
            raise ProtocolError(f"{name}:{_first_line(window, line)}: {exc}") from exc
        if messages:
            yield _Batch(messages, window, line)
        consumed = len(window) - buffer.buffered
        line += window.count(b"\n", 0, consumed)
        window = window[consumed:]
    if not buffer.ended_cleanly:
        raise ProtocolError(
            f"{name}:{_first_line(window, line)}: 'Response: Follows' block has no "
            f"'--END COMMAND--' line; the {len(window.strip())} bytes from there to the end "
            "of the file could not be read as blocks: add the marker line after its "
            "output, or delete the block"
        )


def _first_line(window: bytes, line: int) -> int:
    """The line of the first byte of ``window`` (on ``line``) that is not a line end."""
    return line + window.count(b"\n", 0, len(window) - len(window.lstrip(b"\r\n")))


def _with_end(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks``, then a blank line that ends a last block written without one."""
    yield from chunks
    yield b"\r\n\r\n"


def load_capture(path: str | os.PathLike[str]) -> EventRecorder:
    """Load an ``.ami`` capture as a detached :class:`EventRecorder`.

    Parquet files hold a frame, not replayable text: use :func:`load_frame`.
    """
    if Path(path).suffix == ".parquet":
        raise ValueError("a .parquet capture holds a DataFrame: use load_frame(path)")
    return EventRecorder.load(path)


def load_frame(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A capture as a DataFrame: ``.parquet`` as saved, ``.ami`` via :func:`load_capture`."""
    if Path(path).suffix != ".parquet":
        return load_capture(path).to_frame()
    return _load_parquet(Path(path))


def _events_frame(times: list[int], raws: list[bytes], numeric: bool | Literal["known"]) -> Any:
    """The headers' frame behind the recorder's columns; clashes as the module docstring says."""
    import numpy as np
    import pandas as pd

    from amilab.frames import STRING_DTYPE, to_frame

    frame = to_frame(raws, numeric=numeric)
    names = {str(c).lower(): str(c) for c in frame.columns}
    event = pd.array([None] * len(raws), STRING_DTYPE)
    if "event" in names:
        spelling = names.pop("event")
        where = frame.columns.get_loc(spelling)
        event, repeats = _first_and_rest(frame.pop(spelling))
        if repeats is not None:
            frame.insert(where, CLASH_PREFIX + spelling, repeats)
    frame = frame.rename(
        columns={names[c]: CLASH_PREFIX + names[c] for c in RECORDER_COLUMNS if c in names}
    )
    frame.insert(0, "event", event)
    stamps = np.fromiter(times, np.int64, len(times))
    frame.insert(0, "received_at", pd.to_datetime(stamps, unit="ns", utc=True))
    return frame


def _first_and_rest(column: pd.Series) -> tuple[Any, pd.Series | None]:
    """(first value of each cell as strings, the later values or None if no cell repeats)."""
    import pandas as pd

    from amilab.frames import STRING_DTYPE

    if column.dtype != object:
        return column.astype(STRING_DTYPE).array, None
    first = [v[0] if isinstance(v, tuple) else v for v in column]
    rest = [pd.NA if not isinstance(v, tuple) else v[1] if len(v) == 2 else v[1:] for v in column]
    return pd.array(first, STRING_DTYPE), pd.Series(rest, dtype=object, index=column.index)


def _require_pyarrow(what: str) -> None:
    """One line saying what to install when pyarrow (an optional dependency) is missing."""
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{what} needs pyarrow: pip install pyarrow (or 'amilab[parquet]'); "
            ".ami captures need nothing more"
        ) from None


def _save_parquet(frame: pd.DataFrame, path: Path) -> None:
    _require_pyarrow(f"saving {path.name}")
    import pyarrow as pa
    import pyarrow.parquet as pq

    multi = [str(c) for c in frame.columns if frame[c].dtype == object]
    frame = frame.copy()
    for column in multi:
        frame[column] = [
            None if not isinstance(v, str | tuple) else [v] if isinstance(v, str) else list(v)
            for v in frame[column]
        ]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), MULTI_KEY: json.dumps(multi).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)


def _load_parquet(path: Path) -> pd.DataFrame:
    _require_pyarrow(f"reading {path.name}")
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from amilab.frames import STRING_DTYPE

    table = pq.read_table(path)
    strings = {pa.string(): STRING_DTYPE, pa.large_string(): STRING_DTYPE}
    frame = table.to_pandas(types_mapper=strings.get)
    for column in _multi_columns(table, path):
        cells = [
            pd.NA if v is None else v[0] if len(v) == 1 else tuple(v)
            for v in table.column(column).to_pylist()
        ]
        frame[column] = pd.Series(cells, dtype=object, index=frame.index)
    return frame


def _multi_columns(table: pa.Table, path: Path) -> list[str]:
    """The columns to turn back into ``str``/``tuple`` cells (see the module docstring).

    Only list-of-strings columns qualify: the metadata is a hint a hand or
    another tool may have edited, the column types are what the file holds.
    """
    text = (table.schema.metadata or {}).get(MULTI_KEY, b"[]")
    try:
        names = json.loads(text)
    except ValueError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"{path}: its {MULTI_KEY.decode()} metadata must be a JSON list of column names, "
            f"not {text[:80].decode('utf-8', 'replace')!r}; rewrite the file with "
            "EventRecorder.save, or drop that metadata key to load every column as stored"
        )
    schema = table.schema
    return [
        name
        for name in dict.fromkeys(names)
        if schema.get_field_index(name) >= 0 and _is_string_list(schema.field(name).type)
    ]


def _is_string_list(column_type: pa.DataType) -> bool:
    import pyarrow as pa

    if not (pa.types.is_list(column_type) or pa.types.is_large_list(column_type)):
        return False
    value_type = column_type.value_type
    return bool(pa.types.is_string(value_type) or pa.types.is_large_string(value_type))


# -- replay ----------------------------------------------------------------------
def _timed(source: EventRecorder | str | os.PathLike[str]) -> Iterator[tuple[int, bytes]]:
    if isinstance(source, EventRecorder):
        yield from _read_bytes(
            CAPTURE_GREETING
            + b"".join(_block(ns, raw) for ns, raw in source.snapshot(include_spilled=True)),
            repr(source),
        )
    else:
        yield from _read_capture(Path(source))


def replay_timed(
    source: EventRecorder | str | os.PathLike[str], *, speed: float | None = None
) -> Iterator[tuple[int, Message]]:
    """``(received_at_ns, Message)`` for each recorded message, in order.

    The capture is fed through :class:`ReceiveBuffer` in chunks, the same
    framing as a live connection. ``speed=None`` yields as fast as possible;
    ``speed=1.0`` sleeps to keep the original spacing, ``2.0`` twice as fast.
    ``received_at_ns`` is :data:`NO_TIME` for blocks saved without a time.
    """
    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive (or None for as fast as possible)")
    start_ns: int | None = None
    start_clock = time.monotonic()
    for ns, raw in _timed(source):
        if speed is not None and ns != NO_TIME:
            if start_ns is None:
                start_ns, start_clock = ns, time.monotonic()
            delay = (ns - start_ns) / _NS / speed - (time.monotonic() - start_clock)
            if delay > 0:
                time.sleep(delay)
        yield ns, Message(raw)


def replay(
    source: EventRecorder | str | os.PathLike[str], *, speed: float | None = None
) -> Iterator[Message]:
    """Each recorded :class:`Message`, in order; see :func:`replay_timed` for ``speed``."""
    for _, msg in replay_timed(source, speed=speed):
        yield msg


def replay_into(
    source: EventRecorder | str | os.PathLike[str],
    sink: Callable[[Message], object],
    *,
    speed: float | None = None,
) -> int:
    """Call ``sink(msg)`` for each recorded message (as a live source would); return the count."""
    count = 0
    for msg in replay(source, speed=speed):
        sink(msg)
        count += 1
    return count
