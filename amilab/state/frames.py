"""Row copies of the model -> pandas DataFrames, one per table.

The tracker copies rows on the I/O loop (:meth:`StateModel.rows`, plain
tuples, so the copy is consistent and cheap) and builds frames from the copy
wherever it is asked, so a frame is never half-updated and pandas work stays
off the loop. Times (``created``, ``answered``, ``joined``, ``parked_at``)
become UTC timestamps; integer columns with gaps become ``Int64``; text
columns use pandas' string dtype with NA for absent values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from amilab.state.tables import COLUMNS

__all__ = ["INDEX", "frame"]

#: Index column(s) of each table: channels are indexed by Uniqueid, queue
#: members by (queue, interface), callers by (queue, uniqueid).
INDEX: dict[str, list[str]] = {
    "channels": ["uniqueid"],
    "bridges": ["bridge"],
    "endpoints": ["endpoint"],
    "queues": ["queue"],
    "queue_members": ["queue", "interface"],
    "queue_callers": ["queue", "uniqueid"],
    "conferences": ["conference"],
    "parked_calls": ["uniqueid"],
}
_TIMES = {"created", "answered", "joined", "parked_at"}
_INTS = {
    "state",
    "priority",
    "active_channels",
    "calls",
    "holdtime",
    "talktime",
    "completed",
    "abandoned",
    "penalty",
    "calls_taken",
    "last_call",
    "status",
    "position",
    "parties",
    "timeout",
}
_BOOLS = {"reachable", "in_call", "paused", "locked", "muted"}
_OBJECTS = {"channels"}  # the bridges' tuple of member Uniqueids


def _column(name: str, values: list[Any]) -> Any:
    if name in _TIMES:
        return pd.to_datetime(pd.Series(values, dtype="float64"), unit="s", utc=True)
    if name in _INTS:
        return pd.array(values, dtype="Int64")
    if name in _BOOLS:
        return pd.array(values, dtype="boolean")
    if name in _OBJECTS:
        return pd.Series(values, dtype=object)
    return pd.array(values, dtype="string")


def frame(table: str, rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """The DataFrame of ``table`` from :meth:`StateModel.rows`, indexed by its key."""
    cols = COLUMNS[table]
    data: Mapping[str, Any] = {
        name: _column(name, [row[i] for row in rows]) for i, name in enumerate(cols)
    }
    df = pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in data.items()})
    return df.set_index(INDEX[table]).sort_index()
