"""Snapshot: every table's rows copied at one moment, turned into DataFrames on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from amilab.state.tables import TABLES, StateModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Changes", "Snapshot", "take"]


@dataclass(frozen=True)
class Snapshot:
    """Rows of each table at ``taken_at`` (seconds since the epoch); frames are built on access."""

    taken_at: float
    rows: dict[str, list[tuple[Any, ...]]]

    def frame(self, table: str) -> pd.DataFrame:
        """``table`` as a DataFrame indexed by its key (see :data:`amilab.state.frames.INDEX`)."""
        # pandas loads on first use only (amilab.state.frames imports it).
        from amilab.state.frames import frame

        if table not in self.rows:
            raise KeyError(f"no table {table!r}: pick one of {', '.join(TABLES)}")
        return frame(table, self.rows[table])

    channels = property(lambda self: self.frame("channels"))
    bridges = property(lambda self: self.frame("bridges"))
    endpoints = property(lambda self: self.frame("endpoints"))
    queues = property(lambda self: self.frame("queues"))
    queue_members = property(lambda self: self.frame("queue_members"))
    queue_callers = property(lambda self: self.frame("queue_callers"))
    conferences = property(lambda self: self.frame("conferences"))
    parked_calls = property(lambda self: self.frame("parked_calls"))

    def __repr__(self) -> str:
        when = datetime.fromtimestamp(self.taken_at, UTC).isoformat(timespec="milliseconds")
        sizes = ", ".join(f"{t}={len(r)}" for t, r in self.rows.items())
        return f"<Snapshot at {when}: {sizes}>"


def take(model: StateModel, now: float, tables: tuple[str, ...] = TABLES) -> Snapshot:
    """Copy ``tables`` of ``model`` (call it where the model is changed: on its loop)."""
    return Snapshot(now, {t: model.rows(t) for t in tables})


@dataclass
class Changes:
    """What one batch of events changed: keys per table, for ``on_change`` callbacks."""

    added: dict[str, list[Any]] = field(default_factory=dict)
    updated: dict[str, list[Any]] = field(default_factory=dict)
    removed: dict[str, list[Any]] = field(default_factory=dict)
    resync: bool = False

    @classmethod
    def collect(cls, changes: list[tuple[str, str, Any]], resync: bool = False) -> Changes:
        """Fold ``(table, kind, key)`` records; a key added then updated counts as added."""
        out = cls(resync=resync)
        final: dict[tuple[str, Any], str] = {}
        for table, kind, key in changes:
            before = final.get((table, key))
            if before == "added" and kind == "updated":
                continue
            if before == "added" and kind == "removed":
                del final[(table, key)]
                continue
            if before == "removed" and kind == "added":
                kind = "updated"
            final[(table, key)] = kind
        for (table, key), kind in final.items():
            getattr(out, kind).setdefault(table, []).append(key)
        return out

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed)
