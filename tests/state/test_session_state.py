"""track_session: the blocking side, frames copied on the I/O thread (simulator, no network)."""

from __future__ import annotations

import time

import pandas as pd

import amilab
import amilab.sim
from amilab.state import COLUMNS, track_session


def test_session_state_frames_and_statement() -> None:
    """Seeded from the simulator with traffic: frames are typed, indexed by key, and consistent."""
    with amilab.sim.start(traffic=20.0, seed=7) as sim, amilab.connect(sim) as session:
        state = track_session(session)
        try:
            time.sleep(1.0)
            snap = state.snapshot()
            channels = snap.channels
            assert channels.index.name == "uniqueid"
            assert list(channels.columns) == list(COLUMNS["channels"][1:])
            assert len(channels) > 0
            assert channels["state"].dtype == "Int64"
            assert isinstance(channels["created"].dtype, pd.DatetimeTZDtype)
            members = state.queue_members
            assert members.index.names == ["queue", "interface"]
            assert members["paused"].dtype == "boolean"
            assert state.resyncs[0].reason == "initial seed"
            assert state.synced_at is not None
            assert "channels: seeded from CoreShowChannels" in state.statement()
            state.resync("asked by the test")
            assert [r.reason for r in state.resyncs][-1] == "asked by the test"
            assert "LiveState" in repr(state)
        finally:
            state.stop()
