"""amilab.analysis: calls, channel lifecycles and event rates over a capture frame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from amilab.analysis import (
    CALL_COLUMNS,
    CHANNEL_COLUMNS,
    calls,
    channel_lifecycles,
    event_rates,
)
from amilab.protocol import Message
from amilab.recorder import EventRecorder, load_frame

T0 = 1_795_674_000 * 1_000_000_000
S = 1_000_000_000
FIXTURES = Path(__file__).parent / "fixtures" / "asterisk22"

A = (
    "Channel: PJSIP/100-00000001\nUniqueid: 1795674000.1\nLinkedid: 1795674000.1\n"
    "CallerIDNum: 100\nExten: 200"
)
B = (
    "Channel: PJSIP/200-00000002\nUniqueid: 1795674000.2\nLinkedid: 1795674000.1\n"
    "CallerIDNum: 200\nExten: 200"
)
DEST = (
    "DestChannel: PJSIP/200-00000002\nDestUniqueid: 1795674000.2\n"
    "DestLinkedid: 1795674000.1\nDestCallerIDNum: 200\nDestExten: 200"
)

# PJSIP/100 dials 200, which answers after 3 s; 100 hangs up after 10 s of talk.
CALL = [
    (0, f"Event: Newchannel\n{A}\nChannelState: 4\nChannelStateDesc: Ring"),
    (1, f"Event: Newchannel\n{B}\nChannelState: 0\nChannelStateDesc: Down"),
    (1, f"Event: DialBegin\n{A}\n{DEST}\nDialString: 200"),
    (2, f"Event: Newstate\n{B}\nChannelState: 5\nChannelStateDesc: Ringing"),
    (4, f"Event: Newstate\n{B}\nChannelState: 6\nChannelStateDesc: Up"),
    (4, f"Event: DialEnd\n{A}\n{DEST}\nDialStatus: ANSWER"),
    (4, f"Event: Newstate\n{A}\nChannelState: 6\nChannelStateDesc: Up"),
    (4, f"Event: BridgeEnter\n{A}\nBridgeNumChannels: 1"),
    (14, f"Event: Hangup\n{A}\nChannelState: 6\nCause: 16\nCause-txt: Normal Clearing"),
    (15, f"Event: Hangup\n{B}\nChannelState: 6\nCause: 16\nCause-txt: Normal Clearing"),
    (15, "Event: DeviceStateChange\nDevice: PJSIP/100\nState: NOT_INUSE"),
]


def capture(events, numeric=False) -> pd.DataFrame:
    rec = EventRecorder()
    for second, text in events:
        rec.record(Message(text.replace("\n", "\r\n").encode()), T0 + second * S)
    return rec.to_frame(numeric)


def at(second: int) -> pd.Timestamp:
    return pd.Timestamp(T0 + second * S, unit="ns", tz="UTC")


@pytest.mark.parametrize("numeric", [False, "known"])
def test_calls_on_hand_built_call(numeric):
    """One call: start, answer, end, durations, parties, cause and channel count."""
    out = calls(capture(CALL, numeric))
    assert list(out.columns) == CALL_COLUMNS
    assert list(out.index) == ["1795674000.1"]
    row = out.iloc[0]
    assert (row["start"], row["answer"], row["end"]) == (at(0), at(4), at(15))
    assert row["complete"]
    assert row["duration"] == 15.0
    assert row["talk_time"] == 10.0  # the caller's time in the bridge: 4 s to its hangup at 14 s
    assert (row["caller"], row["callee"], row["answered_by"]) == ("100", "200", "PJSIP/200")
    assert (row["cause"], row["cause_txt"], row["channels"]) == ("16", "Normal Clearing", 2)


def test_unanswered_call_has_no_answer_or_talk_time():
    """A call that never comes up has NaT answer and talk time, and its own cause."""
    events = [
        CALL[0],
        CALL[1],
        CALL[2],
        (30, f"Event: Hangup\n{A}\nCause: 19\nCause-txt: No answer"),
        (30, f"Event: Hangup\n{B}\nCause: 26\nCause-txt: Answered elsewhere"),
    ]
    row = calls(capture(events)).iloc[0]
    assert row["answer"] is pd.NaT and pd.isna(row["talk_time"])
    assert row["duration"] == 30.0
    assert row["cause"] == "19"


def test_queue_call_answer_is_when_caller_meets_agent():
    """A queue answers its caller at once; answer and talk time start at the bridge, not hold."""
    agent = A.replace("PJSIP/100-00000001", "Local/101@agents-00000003;1").replace(
        "Uniqueid: 1795674000.1", "Uniqueid: 1795674000.3"
    )
    events = [
        CALL[0],
        (0, f"Event: Newstate\n{A}\nChannelState: 6\nChannelStateDesc: Up"),
        (0, f"Event: QueueCallerJoin\n{A}\nQueue: support"),
        (5, f"Event: Newchannel\n{agent}\nChannelState: 0\nChannelStateDesc: Down"),
        (5, f"Event: Newstate\n{agent}\nChannelState: 6\nChannelStateDesc: Up"),
        (5, f"Event: QueueCallerLeave\n{A}\nQueue: support"),
        (5, f"Event: BridgeEnter\n{A}\nBridgeNumChannels: 1"),
        (5, f"Event: BridgeEnter\n{agent}\nBridgeNumChannels: 2"),
        (12, f"Event: Hangup\n{A}\nChannelState: 6\nCause: 16\nCause-txt: Normal Clearing"),
        (12, f"Event: Hangup\n{agent}\nChannelState: 6\nCause: 16\nCause-txt: Normal Clearing"),
    ]
    row = calls(capture(events)).iloc[0]
    assert row["answer"] == at(5)
    assert row["talk_time"] == 7.0
    assert row["duration"] == 12.0
    assert (row["queue"], row["wait_time"]) == ("support", 5.0)


def test_call_without_bridge_is_answered_when_up():
    """A call that never bridges (an application answering) is answered at its first Up."""
    events = [
        CALL[0],
        (2, f"Event: Newstate\n{A}\nChannelState: 6\nChannelStateDesc: Up"),
        (9, f"Event: Hangup\n{A}\nChannelState: 6\nCause: 16\nCause-txt: Normal Clearing"),
    ]
    row = calls(capture(events)).iloc[0]
    assert row["answer"] == at(2) and row["talk_time"] == 7.0


def test_channel_lifecycles():
    """One row per Uniqueid with name, call, created/up/hung-up times and cause."""
    out = channel_lifecycles(capture(CALL))
    assert list(out.columns) == CHANNEL_COLUMNS
    assert list(out.index) == ["1795674000.1", "1795674000.2"]
    b = out.loc["1795674000.2"]
    assert b["channel"] == "PJSIP/200-00000002" and b["linkedid"] == "1795674000.1"
    assert (b["created"], b["up"], b["hungup"]) == (at(1), at(4), at(15))
    assert b["cause_txt"] == "Normal Clearing"


def test_event_rates_is_wide_and_zero_filled():
    """event_rates counts each event type per bucket, 0 where none, buckets contiguous."""
    out = event_rates(capture(CALL), freq="5s")
    assert list(out.index) == [at(0), at(5), at(10), at(15)]
    assert out.loc[at(0), "Newchannel"] == 2
    assert out.loc[at(0), "Newstate"] == 3
    assert out.loc[at(5), "Hangup"] == 0 and out.loc[at(10), "Hangup"] == 1
    assert int(out.to_numpy().sum()) == len(CALL)


def test_no_calls_gives_empty_frames_with_columns():
    """A capture with no call events (or no columns at all) gives empty, well-shaped frames."""
    for df in (capture([(0, "Event: FullyBooted\nStatus: Fully Booted")]), pd.DataFrame()):
        assert calls(df).empty and list(calls(df).columns) == CALL_COLUMNS
        assert channel_lifecycles(df).empty
        assert list(channel_lifecycles(df).columns) == CHANNEL_COLUMNS
    assert event_rates(pd.DataFrame()).empty


def test_real_asterisk22_originate_async_call():
    """On a real Asterisk 22 capture, the Local-channel call is found with its four channels."""
    path = FIXTURES / "originate_async_call.ami"
    if not path.exists():
        pytest.skip("fixture not recorded yet")
    df = load_frame(path)
    df["received_at"] = pd.Timestamp(0, tz="UTC") + pd.to_timedelta(range(len(df)), unit="s")
    hangups = df[df["event"] == "Hangup"]
    out = calls(df)
    assert len(out) == df["Linkedid"].dropna().nunique() == 1
    row = out.iloc[0]
    assert row["channels"] == hangups["Uniqueid"].nunique() == 4
    assert row["end"] == hangups["received_at"].max()
    assert row["answer"] < row["end"] and row["cause"] == "16"
    assert len(channel_lifecycles(df)) == 4


LOSER = B.replace("PJSIP/200-00000002", "PJSIP/201-00000003").replace(
    "Uniqueid: 1795674000.2", "Uniqueid: 1795674000.3"
)
# Ringall: 200 answers at 4 s, 201's leg is hung up as "Answered elsewhere".
RINGALL = [
    *CALL[:8],
    (1, f"Event: Newchannel\n{LOSER}\nChannelState: 0\nChannelStateDesc: Down"),
    (4, f"Event: Hangup\n{LOSER}\nChannelState: 5\nCause: 26\nCause-txt: Answered elsewhere"),
]


def test_losing_leg_cause_never_ends_a_call_in_progress():
    """Capture cut mid-talk after a ringall loser hung up: incomplete, no end, no cause."""
    row = calls(capture(RINGALL)).iloc[0]
    assert not row["complete"]
    assert row["end"] is pd.NaT and pd.isna(row["duration"]) and pd.isna(row["cause"])
    assert pd.isna(row["talk_time"])


def test_losing_leg_cause_is_not_the_calls_cause():
    """Finished ringall call: the cause is the caller's 16, not the loser's 26."""
    events = [*RINGALL, *CALL[8:]]
    row = calls(capture(events)).iloc[0]
    assert row["complete"] and row["end"] == at(15)
    assert (row["cause"], row["cause_txt"]) == ("16", "Normal Clearing")
    assert row["answered_by"] == "PJSIP/200" and row["channels"] == 3


def test_hold_twice_and_a_stray_unhold_count_once():
    """Hold at 5 and 6 s, Unhold at 8 and 9 s: 3 s on hold, taken off the 10 s of talk."""
    holds = [
        (5, f"Event: Hold\n{B}"),
        (6, f"Event: Hold\n{B}"),
        (8, f"Event: Unhold\n{B}"),
        (9, f"Event: Unhold\n{B}"),
    ]
    row = calls(capture(sorted([*CALL, *holds], key=lambda e: e[0]))).iloc[0]
    assert row["hold_time"] == 3.0
    assert row["talk_time"] == 7.0
