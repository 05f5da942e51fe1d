"""queue_calls, queue_stats, agent_stats on real Asterisk 22 queue calls.

Checked two ways against tests/fixtures/asterisk22/analysis/day.*: values read
off day.ami by hand (event receive times, seconds past 19:54 UTC), and
Asterisk's own queue_log lines written during the same calls (day.queue_log).
queue_log counts whole seconds, each end truncated (app_queue.c subtracts two
time(NULL) values), so a duration there is within 1 s of the true one:
``QLOG_TOL``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from amilab.analysis import (
    AGENT_COLUMNS,
    QUEUE_CALL_COLUMNS,
    QUEUE_STAT_COLUMNS,
    agent_stats,
    queue_calls,
    queue_stats,
)
from amilab.recorder import load_frame

HERE = Path(__file__).parent.parent / "fixtures" / "asterisk22" / "analysis"
#: queue_log durations are whole seconds, both ends truncated.
QLOG_TOL = 1.0
#: Each interval is rounded to 1 ms.
TOL = 0.002
#: queue_log event that ends a caller's stay, and the outcome it means.
OUTCOME = {
    "COMPLETEAGENT": "answered",
    "COMPLETECALLER": "answered",
    "BLINDTRANSFER": "transferred",
    "ATTENDEDTRANSFER": "transferred",
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITWITHKEY": "exitwithkey",
}
#: Field of each queue_log event holding the caller's wait (app_queue.c's ast_queue_log calls).
WAIT_FIELD = {"CONNECT": 0, "ABANDON": 2, "EXITWITHTIMEOUT": 2, "EXITWITHKEY": 3}
#: Field holding the talk time.
TALK_FIELD = {"COMPLETEAGENT": 1, "COMPLETECALLER": 1, "BLINDTRANSFER": 3}


#: The committed capture and a later re-run of the same script (day_rerun.*,
#: recorded with the final layout: queues and dialplan from tests/asterisk/analysis/).
CAPTURES = ["day", "day_rerun"]


def qlog(name: str = "day") -> list[tuple[str, str, str, str, list[str]]]:
    """(callid, queue, agent, event, data fields) per line of <name>.queue_log."""
    out = []
    for line in (HERE / f"{name}.queue_log").read_text().splitlines():
        _, callid, queue, agent, event, *data = line.split("|")
        out.append((callid, queue, agent, event, data))
    return out


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_frame(HERE / "day.ami")


@pytest.fixture(scope="module")
def qc(frame) -> pd.DataFrame:
    return queue_calls(frame).set_index("uniqueid")


def test_queue_calls_values_from_recording(qc):
    """2001 joins 00.951, AgentConnect 02.954 (alice), AgentComplete 06.459."""
    assert list(qc.reset_index().columns) == [
        "uniqueid",
        *[c for c in QUEUE_CALL_COLUMNS if c != "uniqueid"],
    ]
    row = qc.loc["1796500440.0"]
    assert (row["queue"], row["caller"], row["agent"]) == (
        "amilab-analysis-ringall",
        "2001",
        "alice",
    )
    assert row["join"] == pd.Timestamp("2026-12-05 19:54:00.951", tz="UTC")
    assert row["wait_time"] == pytest.approx(2.003, abs=TOL)
    assert row["talk_time"] == pytest.approx(3.505, abs=TOL)
    assert qc.set_index("caller")["outcome"].to_dict() == {
        "2001": "answered",
        "2002": "answered",
        "2003": "abandoned",
        "2004": "exitwithkey",
        "2005": "timeout",
        "2006": "transferred",
    }


@pytest.mark.parametrize("name", CAPTURES)
def test_queue_calls_match_queue_log(name):
    """Every ENTERQUEUE is a row with its position and caller; outcome, wait, agent, talk agree."""
    qc = queue_calls(load_frame(HERE / f"{name}.ami")).set_index("uniqueid")
    lines = qlog(name)
    enters = [(c, q, d) for c, q, _, e, d in lines if e == "ENTERQUEUE"]
    assert sorted(qc.index) == sorted(c for c, _, _ in enters)
    for callid, queue, data in enters:
        row = qc.loc[callid]
        assert (row["queue"], row["caller"], row["position"]) == (queue, data[1], int(data[2]))
    for callid, _, agent, event, data in lines:
        if callid not in qc.index:
            continue
        row = qc.loc[callid]
        if event in OUTCOME:
            assert row["outcome"] == OUTCOME[event], (callid, event)
        if event in WAIT_FIELD:
            assert abs(row["wait_time"] - int(data[WAIT_FIELD[event]])) < QLOG_TOL, (callid, event)
        if event in TALK_FIELD:
            assert abs(row["talk_time"] - int(data[TALK_FIELD[event]])) < QLOG_TOL, (callid, event)
        if event == "CONNECT":
            assert row["agent"] == agent


@pytest.mark.parametrize("name", CAPTURES)
def test_queue_stats_match_queue_log(name):
    """offered/answered/abandoned per queue equal the ENTERQUEUE/CONNECT/ABANDON lines."""
    stats = queue_stats(load_frame(HERE / f"{name}.ami"))
    assert list(stats.columns) == QUEUE_STAT_COLUMNS
    lines = qlog(name)
    for column, event in (
        ("offered", "ENTERQUEUE"),
        ("answered", "CONNECT"),
        ("abandoned", "ABANDON"),
    ):
        expected = Counter(q for _, q, _, e, _ in lines if e == event)
        assert stats[column][stats[column] > 0].to_dict() == dict(expected), column


def test_queue_stats_values(frame):
    """ringall: waits 2.003 and 1.987 s, talks 3.505 and 3.502 s; nobody: 1 abandon of 3."""
    stats = queue_stats(frame)
    ringall = stats.loc["amilab-analysis-ringall"]
    assert ringall["asa"] == pytest.approx((2.003 + 1.987) / 2, abs=TOL)
    assert ringall["aht"] == pytest.approx((3.505 + 3.502) / 2, abs=TOL)
    assert ringall["service_level"] == 1.0 and ringall["longest_wait"] == pytest.approx(
        2.003, abs=TOL
    )
    nobody = stats.loc["amilab-analysis-nobody"]
    assert (nobody["offered"], nobody["abandoned"], nobody["answered"]) == (3, 1, 0)
    assert nobody["abandon_rate"] == pytest.approx(1 / 3, abs=0.001)
    assert nobody["longest_wait"] == pytest.approx(4.022, abs=TOL)


def test_queue_stats_threshold_short_abandons_and_intervals(frame):
    """A 2 s service level keeps 2002 (1.987 s) only; 5 s short abandons drop 2003; freq splits."""
    assert (
        queue_stats(frame, service_level=2.0).loc["amilab-analysis-ringall", "service_level"] == 0.5
    )
    short = queue_stats(frame, short_abandon=5.0).loc["amilab-analysis-nobody"]
    assert (short["offered"], short["abandoned"]) == (2, 0)
    per = queue_stats(frame, freq="5s").loc["amilab-analysis-ringall"]
    assert list(per.index) == [
        pd.Timestamp("2026-12-05 19:54:00", tz="UTC"),
        pd.Timestamp("2026-12-05 19:54:05", tz="UTC"),
    ]
    assert list(per["offered"]) == [1, 1]


@pytest.mark.parametrize("name", CAPTURES)
def test_agent_stats_match_queue_log(name):
    """answered = CONNECT lines, missed = RINGNOANSWER lines, pauses = PAUSE lines, per agent."""
    stats = agent_stats(load_frame(HERE / f"{name}.ami"))
    assert list(stats.columns) == AGENT_COLUMNS
    lines = qlog(name)
    for column, event in (("answered", "CONNECT"), ("missed", "RINGNOANSWER"), ("pauses", "PAUSE")):
        expected = Counter(a for _, _, a, e, _ in lines if e == event)
        assert stats[column][stats[column] > 0].to_dict() == dict(expected), column
    assert stats.loc["bob", "pause_reasons"] == "lunch"


def test_agent_stats_values(frame):
    """alice talks 3.505 + 3.502 s; bob is paused 53:59.942-54:07.465 (QueueMemberPause)."""
    stats = agent_stats(frame)
    assert stats.loc["alice", "talk_time"] == pytest.approx(7.007, abs=TOL)
    assert stats.loc["alice", "offered"] == 2 and stats.loc["carol", "offered"] == 2
    assert stats.loc["bob", "pause_time"] == pytest.approx(7.523, abs=TOL)
    assert 0 < stats.loc["alice", "occupancy"] < 1


def test_caller_still_waiting_has_no_outcome():
    """in_progress.ami: 2101 is still in the queue when the capture ends."""
    out = queue_calls(load_frame(HERE / "in_progress.ami"))
    assert len(out) == 1
    row = out.iloc[0]
    assert pd.isna(row["outcome"]) and pd.isna(row["wait_time"]) and row["leave"] is pd.NaT
    assert queue_stats(load_frame(HERE / "in_progress.ami")).empty


def test_empty_capture_gives_empty_frames():
    """No queue events: empty frames with the documented columns."""
    assert list(queue_calls(pd.DataFrame()).columns) == QUEUE_CALL_COLUMNS
    assert queue_stats(pd.DataFrame()).empty and agent_stats(pd.DataFrame()).empty
