"""analysis.plots on the real Asterisk 22 day (tests/fixtures/asterisk22/analysis/day.ami).

Assertions read the Figure's artists (lane tick labels, annotation texts,
bar gids and extents), never pixels. Expected counts and labels come from
the recording: e.g. caller 2007 (Linkedid 1796500467.30) is the attended
transfer, 2006 (1796500458.24) the blind one, 2010 the ConfBridge member.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from amilab.analysis import calls
from amilab.analysis.plots import (
    BRIDGE,
    MAX_STEPS,
    PHASE_COLOURS,
    ladder,
    ladder_steps,
    timeline,
    timeline_phases,
)
from amilab.recorder import load_frame

matplotlib.use("Agg")

DAY = Path(__file__).parent.parent / "fixtures" / "asterisk22" / "analysis" / "day.ami"
ATTENDED = "1796500467.30"
BLIND = "1796500458.24"
RINGALL = "1796500440.0"


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return load_frame(DAY)


def lanes_of(fig):
    (ax,) = fig.axes
    return [t.get_text().replace("\n", "") for t in ax.get_xticklabels()]


def texts_of(fig):
    (ax,) = fig.axes
    return [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("linkedid", [RINGALL, BLIND, ATTENDED, "1796500501.46"])
def test_one_lane_per_channel_of_the_call(df, linkedid):
    fig = ladder(df, linkedid)
    lanes = lanes_of(fig)
    channels = [lane for lane in lanes if not lane.startswith(BRIDGE)]
    assert len(channels) == calls(df).loc[linkedid, "channels"]
    assert len(set(lanes)) == len(lanes)
    # the first lane is the channel that started the call (its Uniqueid is the Linkedid)
    started = df.loc[df["Uniqueid"].eq(linkedid).fillna(False).astype(bool), "Channel"].iloc[0]
    assert lanes[0] == started


def test_attended_transfer_ladder_labels(df):
    fig = ladder(df, ATTENDED)
    texts = texts_of(fig)
    for label in ("Dial", "Answer", "BridgeEnter", "BridgeLeave", "Hold", "AttendedTransfer"):
        assert label in texts
    assert "Hangup 16 Normal Clearing" in texts
    # two bridges: the original one and the consultation bridge (BridgeUniqueid 5968ef60, 7ba9d11c)
    assert [lane for lane in lanes_of(fig) if lane.startswith(BRIDGE)] == [
        "bridge 5968ef60",
        "bridge 7ba9d11c",
    ]


def test_blind_transfer_arrow_names_its_target(df):
    texts = texts_of(ladder(df, BLIND))
    assert "BlindTransfer to to-target@amilab-analysis" in texts
    assert not any(t == "AttendedTransfer" for t in texts)


def test_ringall_ladder_shows_the_losing_legs_causes(df):
    """The ringall queue's losing members hang up with 26 (Answered elsewhere) or 17."""
    texts = texts_of(ladder(df, "1796500447.6"))
    assert "Hangup 26 Answered elsewhere" in texts
    assert "Hangup 17 User busy" in texts


def test_rows_are_steps_not_seconds(df):
    """Time is not to scale: one y tick per step, labelled with its offset;
    the 5.5 s pause before the first hangup in 2007 is marked."""
    fig = ladder(df, ATTENDED)
    (ax,) = fig.axes
    _, steps = ladder_steps(df, ATTENDED)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == len(steps)
    assert ticks[0] == "+0.000 s"
    assert ticks[-1] == "+14.515 s"
    assert "5.5 s " in texts_of(fig)


def test_long_call_is_capped(df, monkeypatch):
    monkeypatch.setattr("amilab.analysis.plots.MAX_STEPS", 5)
    fig = ladder(df, ATTENDED)
    (ax,) = fig.axes
    assert len(ax.get_yticklabels()) == 5
    assert "more not drawn" in ax.get_title()
    assert MAX_STEPS > 5


def test_unknown_linkedid_says_what_to_do(df):
    with pytest.raises(ValueError, match=r"no call with Linkedid 'nope'.*calls\(df\)\.index"):
        ladder(df, "nope")


def test_timeline_phases_follow_calls(df):
    table = calls(df)
    bars = timeline_phases(df)
    assert set(bars["linkedid"]) == set(table.index)
    assert set(bars["phase"]) <= set(PHASE_COLOURS)
    talk = bars[bars["phase"] == "talking"].set_index("linkedid")
    answered = table[table["answer"].notna()]
    assert list(talk.index) == list(answered.index)
    assert (talk["start"] == answered["answer"]).all()
    assert (talk["end"] == answered["end"]).all()
    waits = bars[bars["phase"] == "waiting in queue"].set_index("linkedid")
    queued = table[table["wait_time"] > 0]
    assert list(waits.index) == list(queued.index)
    waited = (waits["end"] - waits["start"]).dt.total_seconds()
    assert waited.round(3).tolist() == queued["wait_time"].tolist()
    # 2007's hold (Hold 19:54:30.227 to its channel's Hangup 36.968), 2009 parked
    hold = bars[bars["phase"] == "on hold"]
    assert hold["linkedid"].tolist() == [ATTENDED]
    held = (hold["end"] - hold["start"]).dt.total_seconds().iloc[0]
    assert held == pytest.approx(table.loc[ATTENDED, "hold_time"], abs=0.002)
    assert bars[bars["phase"] == "parked"]["linkedid"].tolist() == ["1796500490.42"]
    assert set(bars[bars["phase"] == "in conference"]["linkedid"]) == {
        "1796500501.46",
        "1796500503.50",
    }


def test_timeline_figure_has_a_bar_per_phase(df):
    fig = timeline(df)
    (ax,) = fig.axes
    gids = sorted(p.get_gid() for p in ax.patches if p.get_gid())
    bars = timeline_phases(df)
    assert gids == sorted(f"{r.linkedid}:{r.phase}" for r in bars.itertuples())
    assert len(ax.get_yticklabels()) == len(calls(df))
    assert ax.get_yticklabels()[0].get_text() == "2001 -> q-ringall"
    fig.canvas.draw()  # tick labels are formatted on draw (Agg canvas)
    assert ax.get_xticklabels()[0].get_text().startswith("19:5")


def test_timeline_of_an_empty_capture(df):
    fig = timeline(df.iloc[:0])
    (ax,) = fig.axes
    assert len(ax.patches) == 0
    assert ax.get_title() == "no calls in this capture"


def test_missing_matplotlib_is_one_line_saying_what_to_install(df, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"^plots need matplotlib: pip install matplotlib"):
        timeline(df)


def test_timeline_caps_the_number_of_calls(df, monkeypatch):
    monkeypatch.setattr("amilab.analysis.plots.MAX_CALLS", 3)
    fig = timeline(df)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "2001 -> q-ringall",
        "2002 -> q-ringall",
        "2003 -> q-nobody",
    ]
    assert ax.get_title() == "first 3 calls; 8 more not drawn (plot a shorter slice)"
    assert {p.get_gid().split(":")[0] for p in ax.patches if p.get_gid()} == {
        "1796500440.0",
        "1796500447.6",
        "1796500453.14",
    }
