"""amilab.state: the live PBX as DataFrames that stay true.

Entry points:

* ``await amilab.state.track(client)`` (on the client's loop) -> :class:`LiveState`:
  seeded from list actions, kept current from events, re-seeded after a
  reconnect or a contradiction (:attr:`LiveState.resyncs` says when and why);
* ``amilab.state.track_session(session)`` -> :class:`SessionState`, the same
  from a blocking :class:`amilab.Session` (frames copied on its I/O thread);
* ``amilab.state.StateReplay(capture).at(t)``: the same model over a capture.

The model itself (:class:`StateModel`, amilab/state/tables.py) is pure: no
I/O, no pandas. pandas loads when a frame is first asked for.
"""

from __future__ import annotations

from amilab.state.replay import StateReplay, state_at
from amilab.state.session import SessionState, track_session
from amilab.state.snapshot import Changes, Snapshot
from amilab.state.tables import COLUMNS, TABLES, StateModel
from amilab.state.tracker import LiveState, Resync, track

__all__ = [
    "COLUMNS",
    "TABLES",
    "Changes",
    "LiveState",
    "Resync",
    "SessionState",
    "Snapshot",
    "StateModel",
    "StateReplay",
    "state_at",
    "track",
    "track_session",
]
