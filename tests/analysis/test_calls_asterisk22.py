"""analysis.calls on real Asterisk 22 calls (tests/fixtures/asterisk22/analysis/).

Recorded from the sandbox by tests/asterisk/record_analysis.py. Expected
values were read off the recording by hand (receive times of the named events
in day.ami, seconds.milliseconds past 19:54 UTC), not computed by the code:
each assertion names the events it comes from. ``TOL`` covers only the
rounding of each interval to the millisecond before they are summed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from amilab.analysis import CALL_COLUMNS, calls
from amilab.recorder import load_frame

HERE = Path(__file__).parent.parent / "fixtures" / "asterisk22" / "analysis"
#: Each interval is rounded to 1 ms, so a sum of two may be 1-2 ms off.
TOL = 0.002


@pytest.fixture(scope="module")
def day() -> pd.DataFrame:
    out = calls(load_frame(HERE / "day.ami"))
    return out.set_index("caller")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-12-05 19:{text}", tz="UTC")


def test_one_row_per_call_and_columns(day):
    """11 calls; the parked call's retriever (3001) joins the parked call's Linkedid."""
    assert list(day.reset_index().columns) == [
        "caller",
        *[c for c in CALL_COLUMNS if c != "caller"],
    ]
    assert sorted(day.index) == [f"20{n:02d}" for n in range(1, 12)]
    assert day["complete"].all()
    assert (day["cause"] == "16").all()


def test_queue_call_answered_by_agent_not_queue_extension(day):
    """2001: QueueCallerJoin 54:00.951, AgentConnect/BridgeEnter 54:02.954, Hangup 54:06.459."""
    row = day.loc["2001"]
    assert row["start"] == ts("54:00.947") and row["answer"] == ts("54:02.954")
    assert row["end"] == ts("54:06.459")
    assert row["answered_by"] == "alice" and row["callee"] == "q-ringall"
    assert row["queue"] == "amilab-analysis-ringall"
    assert row["wait_time"] == pytest.approx(2.003, abs=TOL)
    assert row["talk_time"] == pytest.approx(3.505, abs=TOL)
    assert row["duration"] == pytest.approx(5.512, abs=TOL)


def test_losing_ringall_leg_does_not_set_cause(day):
    """2002: bob's leg is cancelled (DialEnd CANCEL) as alice answers; the cause is the caller's."""
    row = day.loc["2002"]
    assert (row["cause"], row["cause_txt"]) == ("16", "Normal Clearing")
    assert row["answered_by"] == "alice" and row["channels"] == 8
    assert row["talk_time"] == pytest.approx(3.502, abs=TOL)  # BridgeEnter 09.970 -> 13.472


@pytest.mark.parametrize("caller,wait", [("2003", 4.022), ("2004", 2.222), ("2005", 4.002)])
def test_unanswered_queue_callers(day, caller, wait):
    """Abandoned (2003), exit with key (2004), timeout (2005): no answer, no talk, real wait."""
    row = day.loc[caller]
    assert row["answer"] is pd.NaT and pd.isna(row["talk_time"])
    assert pd.isna(row["answered_by"])
    assert row["wait_time"] == pytest.approx(wait, abs=TOL)
    assert row["duration"] > 0


def test_blind_transfer(day):
    """2006: erin talks 19.931-21.436, BlindTransfer to to-target, target talks 22.438-25.942."""
    row = day.loc["2006"]
    assert (row["transfer"], row["transfer_to"]) == ("blind", "to-target@amilab-analysis")
    assert row["answered_by"] == "Local/target@amilab-analysis-agents"
    assert row["talk_time"] == pytest.approx(1.505 + 3.504, abs=TOL)


def test_attended_transfer_with_hold(day):
    """2007: bridged 28.463-41.976; Hold 30.228 until the transferer hangs up at 36.968."""
    row = day.loc["2007"]
    assert (row["transfer"], row["transfer_to"]) == (
        "attended",
        "Local/7001@amilab-analysis-agents",
    )
    assert row["answered_by"] == "Local/7001@amilab-analysis-agents"
    assert row["hold_time"] == pytest.approx(6.740, abs=TOL)
    assert row["talk_time"] == pytest.approx(13.513 - 6.740, abs=TOL)


def test_local_channel_that_dials_on(day):
    """2008: dials Local/fwd, whose ;2 half dials Local/answer: the answering party is 'answer'."""
    row = day.loc["2008"]
    assert row["answered_by"] == "Local/answer@amilab-analysis-agents"
    assert row["talk_time"] == pytest.approx(3.505, abs=TOL)  # 45.598 -> 49.103


def test_local_pair_optimised_away():
    """local_optimise.ami (20:13 UTC): 2201 dials Local/fwd-media, which dials Local/tone.

    LocalOptimizationBegin/End at 13:11.752 swap tone;1 into the caller's bridge
    and hang the fwd-media pair up; the call goes on until 13:15.733.
    """
    row = calls(load_frame(HERE / "local_optimise.ami")).iloc[0]
    assert row["caller"] == "2201" and row["callee"] == "dial-local-media"
    assert row["answered_by"] == "Local/tone@amilab-analysis-agents"
    assert row["answer"] == pd.Timestamp("2026-12-05 20:13:11.231", tz="UTC")
    assert row["end"] == pd.Timestamp("2026-12-05 20:13:15.733", tz="UTC")
    assert row["talk_time"] == pytest.approx(4.501, abs=TOL)  # bridged 11.231 -> 15.732
    assert row["channels"] == 6 and row["complete"]


def test_parked_call(day):
    """2009: parking bridge 50.830-53.833, then talks with the retriever until 55:00.339."""
    row = day.loc["2009"]
    assert row["park_time"] == pytest.approx(3.003, abs=TOL)
    assert row["talk_time"] == pytest.approx(6.506, abs=TOL)
    assert row["answered_by"] == "Local/stay-6@amilab-analysis-callers"
    assert row["channels"] == 4  # both halves of the caller and of the retriever


@pytest.mark.parametrize("caller,conf", [("2010", 8.021), ("2011", 8.014)])
def test_conference(day, caller, conf):
    """ConfbridgeJoin to ConfbridgeLeave (2011 has no BridgeEnter in Asterisk 22's stream)."""
    row = day.loc[caller]
    assert row["conf_time"] == pytest.approx(conf, abs=TOL)
    assert pd.isna(row["talk_time"])


def test_call_in_progress_has_no_end():
    """in_progress.ami stops while 2101 waits in queue and dave's phone rings."""
    out = calls(load_frame(HERE / "in_progress.ami"))
    assert len(out) == 1
    row = out.iloc[0]
    assert not row["complete"] and row["caller"] == "2101"
    assert row["end"] is pd.NaT and pd.isna(row["duration"]) and pd.isna(row["cause"])
    assert pd.isna(row["talk_time"]) and pd.isna(row["answered_by"])


def test_times_are_milliseconds_and_durations_seconds(day):
    """Times are datetime64[ms, UTC]; durations are float seconds."""
    assert str(day["start"].dtype) == "datetime64[ms, UTC]"
    assert day["duration"].dtype == "float64" and day["talk_time"].dtype == "float64"


#: How far a re-run's durations strayed from day.ami's: at most 0.019 s
#: (duration of 2002) between day.ami and day_rerun.ami, 0.052 s in an earlier
#: re-run (not kept); 0.1 s leaves room.
RERUN_TOL = 0.1
RERUN_SAME = ["callee", "answered_by", "queue", "transfer", "transfer_to", "cause", "channels"]
RERUN_NUMBERS = ["wait_time", "talk_time", "hold_time", "park_time", "conf_time", "duration"]


def test_rerun_gives_the_same_records(day):
    """day_rerun.ami (same script, later): same parties and causes, durations within RERUN_TOL."""
    rerun = calls(load_frame(HERE / "day_rerun.ami")).set_index("caller").loc[day.index]
    assert day[RERUN_SAME].compare(rerun[RERUN_SAME]).empty
    diff = (day[RERUN_NUMBERS] - rerun[RERUN_NUMBERS]).abs().fillna(0.0)
    assert (diff <= RERUN_TOL).all().all(), diff.max()
