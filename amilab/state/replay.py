"""StateReplay: the same model replayed over a capture, to answer "what was up at 14:02:31".

A capture (an :class:`~amilab.recorder.EventRecorder` or an ``.ami`` file)
holds events with their receive times, not a seed, so the replay starts from
an empty PBX and stays tolerant (an event naming a channel it never saw
created is applied as an upsert, see amilab/state/tables.py): a capture that
starts while calls are up shows those calls from their first event on. A
capture recorded by the tracker's own client (``session.record()``) also
holds the seeding lists' items, which the model ignores.

:meth:`StateReplay.at` walks forward from the last answer when asked about a
later time, and starts over for an earlier one, so scanning a capture in
time order costs one pass.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from amilab.recorder import NO_TIME, EventRecorder, replay_timed
from amilab.state.snapshot import Snapshot, take
from amilab.state.tables import StateModel

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["StateReplay", "state_at"]

_NS = 1_000_000_000
Source = EventRecorder | str | os.PathLike[str]
When = float | datetime | str


def _as_ns(t: When) -> int:
    """Seconds since the epoch, a datetime (naive means UTC) or an ISO string -> ns."""
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t)
        except ValueError:
            raise ValueError(
                f"cannot read {t!r} as a time: give an ISO time like 2026-12-05T14:02:31"
            ) from None
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return int(t.timestamp() * _NS)
    return int(t * _NS)


class StateReplay:
    """The model over a capture; :meth:`at` gives a :class:`Snapshot` at any moment of it."""

    def __init__(self, source: Source) -> None:
        self.events = [(ns, msg) for ns, msg in replay_timed(source) if ns != NO_TIME]
        self._model = StateModel()
        self._next = 0

    def at(self, t: When) -> Snapshot:
        """The tables as they were at ``t``: every event received at or before it applied."""
        ns = _as_ns(t)
        if self._next and self.events[self._next - 1][0] > ns:
            self._model, self._next = StateModel(), 0
        model, events = self._model, self.events
        i = self._next
        while i < len(events) and events[i][0] <= ns:
            model.apply(events[i][1], events[i][0] / _NS)
            i += 1
        self._next = i
        model.changes.clear()
        return take(model, ns / _NS)

    def frame(self, table: str, t: When) -> pd.DataFrame:
        """``table`` at ``t`` as a DataFrame."""
        return self.at(t).frame(table)


def state_at(source: Source, t: When) -> Snapshot:
    """One-off :meth:`StateReplay.at`."""
    return StateReplay(source).at(t)
