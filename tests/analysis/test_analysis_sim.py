"""analysis over simulator traffic (amilab.sim on a virtual clock, seeded).

The simulator's own counts are the reference: every generated call is a row,
causes are the simulator's 16/17/19, nothing is negative, and the queue
figures agree with the simulator's queue events.
"""

from __future__ import annotations

import pandas as pd
import pytest

from amilab.analysis import agent_stats, calls, queue_calls, queue_stats
from amilab.protocol import Message
from amilab.recorder import EventRecorder
from amilab.sim import PBX, VirtualClock

SECONDS = 60.0
RATE = 5.0


def capture(stop_early: bool) -> pd.DataFrame:
    """Seeded traffic; ``stop_early`` ends the capture while calls are still up."""
    pbx = PBX(clock=VirtualClock(), seed=5)
    rec = EventRecorder()
    pbx.listeners.append(lambda name, cat, data: rec.record(Message(data), pbx.clock.now_ns()))
    pbx.traffic.start(rate=RATE, seed=5)
    pbx.clock.run_for(SECONDS)
    pbx.traffic.stop()
    if not stop_early:
        pbx.clock.run_for(120)  # the calls in progress finish
        assert not pbx.channels
    return rec.to_frame()


@pytest.fixture(scope="module")
def finished() -> pd.DataFrame:
    return capture(stop_early=False)


def test_every_call_is_complete_with_a_real_cause(finished):
    """All calls finished: one row per Linkedid, causes 16/17/19, no negative time."""
    out = calls(finished)
    assert len(out) == finished["Linkedid"].dropna().nunique() > 100
    assert out["complete"].all()
    assert set(out["cause"]) <= {"16", "17", "19"}
    for column in ("duration", "talk_time", "wait_time", "hold_time"):
        assert not (out[column] < 0).any(), column


def test_stopping_mid_call_leaves_calls_incomplete():
    """A capture cut while calls are up: those have no end, duration or cause."""
    out = calls(capture(stop_early=True))
    open_calls = out[~out["complete"]]
    assert len(open_calls) > 0
    assert open_calls["end"].isna().all() and open_calls["duration"].isna().all()
    assert open_calls["cause"].isna().all()
    assert not (out["talk_time"] < 0).any()


def test_queue_figures_agree_with_the_simulators_queue_events(finished):
    """queue_calls has one row per QueueCallerJoin; answered ones match AgentConnect."""
    qc = queue_calls(finished)
    events = finished["event"]
    assert len(qc) == int((events == "QueueCallerJoin").sum()) > 0
    assert int(qc["outcome"].isin(["answered", "transferred"]).sum()) == int(
        (events == "AgentConnect").sum()
    )
    stats = queue_stats(finished)
    assert int(stats["offered"].sum()) == len(qc)
    assert ((stats["abandon_rate"] >= 0) & (stats["abandon_rate"] <= 1)).all()
    agents = agent_stats(finished)
    assert int(agents["answered"].sum()) == int((events == "AgentConnect").sum())
