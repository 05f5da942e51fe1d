"""Append-only ``.ami`` segments and their conversion to hive-partitioned Parquet.

Theory of operation: a capture never holds more than about a second of events
in memory. Each server's events are appended to one open segment,
``DIR/_segments/server=NAME/seg-<first ns>.ami``, in the recorder's capture
format (:mod:`amilab.recorder`: the greeting line, then each raw block with an
``X-Amilab-Received-At: <ns>`` header added last), so a segment is also a
capture that :func:`amilab.load_capture` and :func:`amilab.replay` read.
Written bytes reach the kernel at each flush (once a second, or sooner when
:data:`FLUSH_BYTES` is pending), so a killed process loses at most that second.

On rotation (size, age, or stop) a closed segment becomes one Parquet file per
UTC date it spans, ``DIR/server=NAME/date=YYYY-MM-DD/part-<first ns>.parquet``,
written under a ``_tmp-...partial`` name (which no ``*.parquet`` glob and no
reader that skips ``_`` paths picks up mid-write), synced and renamed; only then is the segment
deleted. The part names derive from the segment's name, so converting a
segment twice (a crash between the rename and the delete) rewrites the same
files instead of duplicating rows.

Recovery (:func:`recover_segments`): a segment left by a crash may end in a
partly written block; everything after its last complete block (a blank line
after the time header) is cut off before conversion.

Parquet columns: ``received_at`` (timestamp, microseconds, UTC), ``raw`` (the
block's exact bytes, for replay), then one string column per header, named as
the header was first spelled; a header repeated in one block keeps all its
values joined by ``\\n`` (AMI values never hold a line break). A header whose
name clashes with ``received_at``, ``raw``, ``server`` or ``date`` (the last two
are the partition columns) is stored as ``header:<name>``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from amilab.frames import to_frame

# The recorder's capture format (amilab/recorder.py, "Capture file format").
from amilab.recorder import CAPTURE_GREETING, NO_TIME, TIME_HEADER, replay_timed

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FLUSH_BYTES",
    "SEGMENTS_DIR",
    "TIME_HEADER",
    "Segment",
    "block",
    "convert_segment",
    "leftover_segments",
    "recover_segments",
]

#: Directory of the open segments; the ``_`` prefix makes Parquet readers skip it.
SEGMENTS_DIR = "_segments"
#: Pending bytes that force a flush before the second is up: at 200,000 events/s
#: of ~450 bytes a second would be ~90 MB held in memory; this keeps it to 4 MiB.
FLUSH_BYTES = 4 << 20
#: Columns the dataset itself defines; headers spelled alike are renamed.
RESERVED = ("received_at", "raw", "server", "date")
CLASH_PREFIX = "header:"
#: Parquet row group size: big enough for good compression, small enough that a
#: time filter can skip most of a large file by its statistics.
ROW_GROUP = 65_536
_NS_PER_DAY = 86_400 * 1_000_000_000
_SEGMENT_NAME = re.compile(r"^seg-(\d+)\.ami$")
#: End of a complete block in a segment: the time header's line, then a blank line.
_BLOCK_END = b"\r\n\r\n"
_TIME_LINE = b"\r\n" + TIME_HEADER


def block(received_at_ns: int, raw: bytes) -> bytes:
    """One segment block: the raw event, its receive time header, the blank line."""
    return b"%s\r\n%s%d\r\n\r\n" % (raw, TIME_HEADER, received_at_ns)


class Segment:
    """One open, append-only segment file of one server."""

    def __init__(self, directory: Path, first_ns: int) -> None:
        self.path = directory / f"seg-{first_ns}.ami"
        self.first_ns = first_ns
        self.size = 0
        self._file: BinaryIO | None = None

    def append(self, data: bytes) -> None:
        """Write ``data`` (whole blocks) and hand it to the kernel; OSError on failure."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            if self._file.tell() == 0:
                self._file.write(CAPTURE_GREETING)
        self._file.write(data)
        self._file.flush()
        self.size += len(data)

    def close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()


# -- conversion -------------------------------------------------------------------
@dataclass(frozen=True)
class Converted:
    """What converting one segment produced: its events, files and last event time."""

    events: int
    files: list[Path]
    last_ns: int | None


def convert_segment(root: Path, server: str, segment: Path) -> Converted:
    """Turn ``segment`` into Parquet part files under ``root``; delete it once they are safe."""
    match = _SEGMENT_NAME.match(segment.name)
    stem = match.group(1) if match else segment.stem
    _cut_partial_block(segment)
    times, raws = read_segment(segment)
    files = [
        _write_part(root / f"server={server}" / f"date={day}", f"part-{stem}.parquet", table)
        for day, table in _tables_by_date(times, raws)
    ]
    segment.unlink()
    return Converted(len(raws), files, max(times) if times else None)


def read_segment(segment: Path) -> tuple[list[int], list[bytes]]:
    """(receive times in ns, raw blocks) of a segment whose end is whole.

    Segments are only ever written by :class:`Segment` (whole blocks, each with
    its time header last), so a split on the blank line frames them; this is
    ~10x faster than the recorder's general reader, which a file that does not
    look like that is handed to instead (it explains what is wrong, and where).
    """
    data = segment.read_bytes()
    if not data.startswith(CAPTURE_GREETING):
        return _read_slowly(segment)
    blocks = data[len(CAPTURE_GREETING) :].split(_BLOCK_END)
    times: list[int] = []
    raws: list[bytes] = []
    for index in range(len(blocks) - 1):  # the last piece is what follows the final blank line
        raw, found, value = blocks[index].rpartition(_TIME_LINE)
        if not found or not value.isdigit() or not raw:
            return _read_slowly(segment)
        times.append(int(value))
        raws.append(raw)
    return times, raws


def _read_slowly(segment: Path) -> tuple[list[int], list[bytes]]:
    """The recorder's strict reader: ProtocolError naming file and line for a bad block."""
    times: list[int] = []
    raws: list[bytes] = []
    for ns, msg in replay_timed(segment):
        if ns == NO_TIME:
            raise ValueError(
                f"{segment}: block {len(raws) + 1} has no {TIME_HEADER.decode().strip()} header, "
                "which the capture always writes; repair the block or move the file out of "
                f"{SEGMENTS_DIR}"
            )
        times.append(ns)
        raws.append(msg.raw)
    return times, raws


def _cut_partial_block(segment: Path) -> None:
    """Drop a partly written last block (a crash mid-write); complete blocks stay."""
    data = segment.read_bytes()
    end = data.rfind(_BLOCK_END)
    keep = end + len(_BLOCK_END) if end >= 0 else 0
    if keep < len(data) or not data:
        with segment.open("r+b") as f:
            f.truncate(keep)
            if keep == 0:
                f.write(CAPTURE_GREETING)


def _tables_by_date(times: list[int], raws: list[bytes]) -> Iterator[tuple[str, pa.Table]]:
    """One Arrow table per UTC date of the events (a segment may span midnight)."""
    if not times:
        return
    if min(times) // _NS_PER_DAY == max(times) // _NS_PER_DAY:  # the usual case: one date
        yield _date_of(times[0]), events_table(times, raws)
        return
    days: dict[int, list[int]] = {}
    for index, ns in enumerate(times):
        days.setdefault(ns // _NS_PER_DAY, []).append(index)
    for day, rows in sorted(days.items()):
        yield (
            _date_of(day * _NS_PER_DAY),
            events_table([times[i] for i in rows], [raws[i] for i in rows]),
        )


def _date_of(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).date().isoformat()


def events_table(times: list[int], raws: list[bytes]) -> pa.Table:
    """The Arrow table of the events (columns as the module docstring says)."""
    import numpy as np
    import pyarrow as pa

    frame = to_frame(raws)
    # Microseconds: Spark and older readers refuse nanosecond timestamps, so the
    # receive time is truncated to the microsecond here.
    micros = np.asarray(times, dtype=np.int64) // 1000
    columns: dict[str, Any] = {
        "received_at": pa.array(micros, pa.timestamp("us", tz="UTC")),
        "raw": pa.array(raws, pa.binary()),
    }
    for name in frame.columns:
        key = str(name)
        column = frame[name]
        # String columns pass their Arrow storage through as is; only a column with a
        # repeated header (object dtype, tuple cells) is rebuilt value by value.
        values = _joined(column) if column.dtype == object else column.array
        columns[CLASH_PREFIX + key if key.lower() in RESERVED else key] = pa.array(
            values, pa.string()
        )
    return pa.table(columns)


def _joined(column: Iterable[object]) -> list[str | None]:
    """Cells as strings: NA -> None, repeated values joined by a line break."""
    out: list[str | None] = []
    for value in column:
        if isinstance(value, tuple):
            out.append("\n".join(value))
        elif isinstance(value, str):
            out.append(value)
        else:
            out.append(None)
    return out


def _write_part(directory: Path, name: str, table: pa.Table) -> Path:
    """Write ``table`` to ``directory/name`` atomically and durably."""
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    final = directory / name
    temporary = directory / f"_tmp-{name}.partial"
    pq.write_table(table, temporary, row_group_size=ROW_GROUP)
    with temporary.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, final)
    return final


# -- recovery ---------------------------------------------------------------------
def leftover_segments(root: Path) -> list[tuple[str, Path]]:
    """(server, segment) of every segment on disk, oldest first per server."""
    found: list[tuple[str, Path]] = []
    base = root / SEGMENTS_DIR
    if not base.is_dir():
        return []
    for directory in sorted(base.glob("server=*")):
        server = directory.name.removeprefix("server=")
        segments = [p for p in directory.iterdir() if _SEGMENT_NAME.match(p.name)]
        segments.sort(key=lambda p: int(_SEGMENT_NAME.match(p.name).group(1)))  # type: ignore[union-attr]
        found.extend((server, p) for p in segments)
    return found


def remove_temporary_parts(root: Path) -> int:
    """Delete ``_tmp-`` part files a crash left mid-write; return how many."""
    removed = 0
    for path in root.glob("server=*/date=*/_tmp-*"):
        path.unlink()
        removed += 1
    return removed


def recover_segments(root: Path) -> dict[str, Converted]:
    """Convert every leftover segment (a crash's or a failed conversion's), per server."""
    remove_temporary_parts(root)
    done: dict[str, Converted] = {}
    for server, segment in leftover_segments(root):
        result = convert_segment(root, server, segment)
        before = done.get(server)
        if before is not None:
            times = [t for t in (before.last_ns, result.last_ns) if t is not None]
            result = Converted(
                before.events + result.events, before.files + result.files, max(times, default=None)
            )
        done[server] = result
    return done
