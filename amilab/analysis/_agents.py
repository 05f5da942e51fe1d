"""Agent figures: one row per queue member (``MemberName``).

Counted from app_queue's member events as Asterisk 22 sends them (checked
against the ``RINGNOANSWER``/``CONNECT``/``PAUSE`` lines of
``tests/fixtures/asterisk22/analysis/day.queue_log``).
"""

from __future__ import annotations

import pandas as pd

from amilab.analysis._events import col, empty, intervals, is_, seconds, times
from amilab.analysis._queues import queue_calls

#: Columns of :func:`agent_stats`, in order (``agent`` is the index).
AGENT_COLUMNS = [
    "offered",
    "answered",
    "missed",
    "talk_time",
    "pauses",
    "pause_time",
    "pause_reasons",
    "occupancy",
]


def agent_stats(df: pd.DataFrame) -> pd.DataFrame:
    """Per agent: calls offered, answered, missed; talk, pauses, occupancy.

    * ``offered``: ``AgentCalled`` (each time the agent's phone was rung for
      a caller); ``answered``: ``AgentConnect``; ``missed``:
      ``AgentRingNoAnswer`` (Asterisk sends it for a busy phone too, with
      ``RingTime: 0``: carol in day.ami).
    * ``talk_time`` (s): sum of the agent's answered queue calls' talk time
      (:func:`~amilab.analysis.queue_calls`).
    * ``pauses``: times the agent was paused (``QueueMemberPause`` with
      ``Paused: 1``; one per member, however many queues the event names);
      ``pause_time`` (s): paused to unpaused, or to the end of the capture;
      ``pause_reasons``: the distinct ``PausedReason`` values, comma-joined.
    * ``occupancy``: ``talk_time`` over the time the agent was available
      (capture span minus ``pause_time``), as call centres define it.
    """
    frame = df.reset_index(drop=True)
    table = pd.DataFrame(
        {
            "seq": pd.RangeIndex(len(frame)),
            "event": col(frame, "event"),
            "agent": col(frame, "MemberName"),
            "at": times(frame),
            "paused": col(frame, "Paused"),
            "reason": col(frame, "PausedReason"),
        }
    ).dropna(subset=["agent"])
    if table.empty:
        return empty(AGENT_COLUMNS, "agent")
    counts = {
        "offered": "AgentCalled",
        "answered": "AgentConnect",
        "missed": "AgentRingNoAnswer",
    }
    out = pd.DataFrame(index=pd.Index(table["agent"].unique(), name="agent"))
    for name, event in counts.items():
        rows = table[is_(table["event"], event)]
        out[name] = rows.groupby("agent").size().reindex(out.index, fill_value=0)
    calls = queue_calls(df)
    out["talk_time"] = calls.groupby("agent")["talk_time"].sum().reindex(out.index, fill_value=0.0)
    pauses = _pauses(table, times(frame).max())
    out = out.join(pauses)
    out["pauses"] = out["pauses"].fillna(0).astype(int)
    out["pause_time"] = out["pause_time"].fillna(0.0)
    span = seconds(pd.Series([times(frame).max() - times(frame).min()])).iloc[0]
    available = span - out["pause_time"]
    out["occupancy"] = (out["talk_time"] / available.where(available > 0)).round(3)
    return out[AGENT_COLUMNS]


def _pauses(table: pd.DataFrame, capture_end: pd.Timestamp) -> pd.DataFrame:
    member = table[is_(table["event"], "QueueMemberPause")].drop_duplicates(
        ["agent", "at", "paused"]
    )
    start = member[is_(member["paused"], "1")]
    stop = member[is_(member["paused"], "0")]
    spans = intervals(start, stop, ["agent"])
    spans["stop"] = spans["stop"].fillna(capture_end)
    spans["seconds"] = seconds(spans["stop"] - spans["start"])
    reasons = start.dropna(subset=["reason"])
    reasons = reasons[reasons["reason"] != ""].drop_duplicates(["agent", "reason"])
    return pd.DataFrame(
        {
            "pauses": spans.groupby("agent").size(),
            "pause_time": spans.groupby("agent")["seconds"].sum(),
            "pause_reasons": reasons.groupby("agent")["reason"].agg(", ".join),
        }
    )
