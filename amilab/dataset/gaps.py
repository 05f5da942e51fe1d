"""The ``gaps`` table and the bookkeeping that finds the capture's own downtime.

A gap is a time range in which a server's events may be missing from the
dataset, and why: the link was down (from the disconnect to the reconnect, as
:class:`amilab.client.ConnectionEvent` reports them), the capture itself was
not running (from the last event recorded before a stop or crash to the first
one after the restart), or events were received but could not be written
(disk full: the count is in ``why``).

Each gap is one small Parquet file, ``DIR/_gaps/gap-<from ns>-<server>-<n>.parquet``
with the columns ``server``, ``from``, ``to`` (UTC timestamps, microseconds) and
``why``; read them all with ``read_parquet('DIR/_gaps/*.parquet')``. Gaps are
rare (reconnects, restarts), so a file each keeps every write atomic.

Bookkeeping: ``DIR/_state/<server>.json`` holds the receive time of the last
event handed to the kernel and whether the capture was running. It is rewritten
(atomically) at each flush that wrote events, so after a crash it is at most a
second behind the segments, which recovery reads for the exact last event.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GAPS_DIR", "STATE_DIR", "Gap", "ServerState", "read_gaps", "write_gap"]

GAPS_DIR = "_gaps"
STATE_DIR = "_state"
_counter = itertools.count()


@dataclass(frozen=True)
class Gap:
    """Events of ``server`` between ``start_ns`` and ``end_ns`` may be missing, because ``why``."""

    server: str
    start_ns: int
    end_ns: int
    why: str


def write_gap(root: Path, gap: Gap) -> Path:
    """Add one row to the gaps table (atomically); OSError when the disk refuses."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stamp = pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "server": pa.array([gap.server], pa.string()),
            "from": pa.array([gap.start_ns // 1000], pa.int64()).cast(stamp),
            "to": pa.array([gap.end_ns // 1000], pa.int64()).cast(stamp),
            "why": pa.array([gap.why], pa.string()),
        }
    )
    directory = root / GAPS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    name = f"gap-{gap.start_ns}-{gap.server}-{os.getpid()}-{next(_counter)}.parquet"
    temporary = directory / f"_tmp-{name}.partial"  # never matched by *.parquet
    pq.write_table(table, temporary)
    os.replace(temporary, directory / name)
    return directory / name


def read_gaps(root: Path) -> pd.DataFrame:
    """The whole gaps table, oldest first (empty with its columns when there is none)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted((root / GAPS_DIR).glob("gap-*.parquet"))
    if not files:
        return pd.DataFrame(
            {
                "server": pd.Series([], dtype="string"),
                "from": pd.Series([], dtype="datetime64[us, UTC]"),
                "to": pd.Series([], dtype="datetime64[us, UTC]"),
                "why": pd.Series([], dtype="string"),
            }
        )
    table = pa.concat_tables([pq.read_table(f) for f in files])
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)
    return frame.sort_values(["from", "server"], ignore_index=True)


@dataclass(frozen=True)
class ServerState:
    """What ``_state/<server>.json`` says: the last event written, and if we were running."""

    last_event_ns: int | None
    running: bool

    @staticmethod
    def path(root: Path, server: str) -> Path:
        return root / STATE_DIR / f"{server}.json"

    @classmethod
    def load(cls, root: Path, server: str) -> ServerState | None:
        """The saved state, or None when there is none (or it cannot be read)."""
        try:
            data: Any = json.loads(cls.path(root, server).read_text("utf-8"))
            last = data.get("last_event_ns")
            return cls(int(last) if last is not None else None, bool(data.get("running")))
        except (OSError, ValueError, AttributeError, TypeError):
            return None

    def save(self, root: Path, server: str) -> None:
        """Replace the saved state atomically; OSError when the disk refuses."""
        target = self.path(root, server)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f"_tmp-{target.name}")
        text = json.dumps({"last_event_ns": self.last_event_ns, "running": self.running})
        temporary.write_text(text, "utf-8")
        os.replace(temporary, target)
