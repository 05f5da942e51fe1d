"""Queue figures: one row per queue caller, and call-centre statistics per queue.

Theory of operation: each ``QueueCallerJoin`` opens a row; the events that
settle it (``QueueCallerLeave``, ``AgentConnect``, ``QueueCallerAbandon``,
``AgentComplete``, the caller's hangup request, a received DTMF digit) are
attached with ``merge_asof`` on the capture order, by caller channel and
queue, so no Python loop runs over rows. Facts are from the real Asterisk 22
capture ``tests/fixtures/asterisk22/analysis/day.ami`` and checked against
Asterisk's own ``queue_log`` lines recorded with it (``day.queue_log``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from amilab.analysis._events import HANGUP_EVENTS, col, empty, events, is_, seconds, to_ms

#: Columns of :func:`queue_calls`, in order.
QUEUE_CALL_COLUMNS = [
    "linkedid",
    "uniqueid",
    "queue",
    "caller",
    "join",
    "leave",
    "position",
    "wait_time",
    "outcome",
    "agent",
    "talk_time",
]
#: Columns of :func:`queue_stats`, after the grouping ones.
QUEUE_STAT_COLUMNS = [
    "offered",
    "answered",
    "abandoned",
    "abandon_rate",
    "asa",
    "service_level",
    "aht",
    "longest_wait",
]
#: Outcomes in which an agent took the call.
ANSWERED = ("answered", "transferred")
#: Default service-level threshold, seconds (the common "80/20" target's 20 s).
SERVICE_LEVEL = 20.0
#: ``AgentComplete`` ``Reason`` when the agent transferred the caller (day.ami, 2006).
TRANSFER_REASON = "transfer"


def queue_calls(df: pd.DataFrame) -> pd.DataFrame:
    """One row per queue caller (each ``QueueCallerJoin``).

    * ``join``/``leave``: ``QueueCallerJoin``/``QueueCallerLeave`` (ms);
      ``position``: the position the caller joined at.
    * ``wait_time`` (s): join to the agent's ``AgentConnect`` if answered,
      else to leaving the queue; NaN while still waiting.
    * ``outcome``: ``answered``; ``transferred`` (answered, and the agent
      transferred the caller: ``AgentComplete`` ``Reason: transfer``);
      ``abandoned`` (the caller hung up while waiting: a hangup request
      before ``QueueCallerLeave``); ``timeout`` (Queue()'s timeout ran out:
      Asterisk 22 sends ``QueueCallerAbandon`` then too, but the caller's
      channel is not being hung up, and queue_log says ``EXITWITHTIMEOUT``);
      ``exitwithkey`` (left after the caller sent a DTMF digit); ``exit``
      (left for another reason, e.g. ``leavewhenempty``); NA while waiting.
    * ``agent``: the ``MemberName`` that answered; ``talk_time`` (s): from
      ``AgentConnect`` to ``AgentComplete``.
    """
    ev = _queue_events(df)
    joins = ev[is_(ev["event"], "QueueCallerJoin")]
    if joins.empty:
        return empty(QUEUE_CALL_COLUMNS, "index").reset_index(drop=True)
    out = joins[["seq", "at", "linkedid", "uniqueid", "queue", "caller", "position"]].copy()
    out = out.rename(columns={"at": "join"})
    # parsed on the joins only: to_numeric over every event's (mostly NA)
    # Position string costs more than all of queue_calls' merges
    out["position"] = pd.to_numeric(out["position"], errors="coerce").astype("Int64")
    leave = {"at": "leave", "seq": "leave_seq"}
    out = _next(out, ev, "QueueCallerLeave", ["uniqueid", "queue"], leave)
    connect = {"at": "connect", "seq": "connect_seq", "member": "agent"}
    out = _next(out, ev, "AgentConnect", ["uniqueid", "queue"], connect)
    out = _next(out, ev, "QueueCallerAbandon", ["uniqueid", "queue"], {"seq": "abandon_seq"})
    out = _next(out, ev, "AgentComplete", ["uniqueid", "queue"], {"at": "done", "reason": "reason"})
    hangups = ev[ev["event"].isin(HANGUP_EVENTS)]
    out = _next(out, hangups, None, ["uniqueid"], {"seq": "hangup_seq"})
    digits = ev[is_(ev["event"], "DTMFEnd") & is_(ev["direction"], "Received")]
    out = _next(out, digits, None, ["uniqueid"], {"seq": "dtmf_seq"})
    return _settle(out)


def _queue_events(df: pd.DataFrame) -> pd.DataFrame:
    frame = df.reset_index(drop=True)
    ev = events(frame)
    ev["queue"] = col(frame, "Queue")
    ev["position"] = col(frame, "Position")
    ev["member"] = col(frame, "MemberName")
    ev["reason"] = col(frame, "Reason")
    ev["direction"] = col(frame, "Direction")
    return ev


def _next(
    out: pd.DataFrame, ev: pd.DataFrame, name: str | None, by: list[str], take: dict[str, str]
) -> pd.DataFrame:
    """Attach the first ``name`` event at or after each row's join, matched on ``by``."""
    rows = ev if name is None else ev[is_(ev["event"], name)]
    right = rows[[*by, "seq", *[c for c in take if c != "seq"]]].dropna(subset=by)
    right = right.rename(columns={"seq": "_seq"}).sort_values("_seq")
    right = right.rename(columns={k: v for k, v in take.items() if k != "seq"})
    if "seq" in take:
        right[take["seq"]] = right["_seq"]
    left: Any = out.sort_values("seq")
    merged = pd.merge_asof(left, right, left_on="seq", right_on="_seq", by=by, direction="forward")
    return merged.drop(columns="_seq")


def _within(seq: pd.Series, bound: pd.Series) -> pd.Series:
    """``seq`` is set and not after ``bound`` (no bound: any time)."""
    return (seq.notna() & (bound.isna() | (seq <= bound))).astype(bool)


def _settle(out: pd.DataFrame) -> pd.DataFrame:
    """Outcome, wait and talk time from the attached events; see :func:`queue_calls`."""
    out = out.sort_values("seq")
    left = out["leave_seq"]
    # AgentConnect follows QueueCallerLeave (day.ami, 2001), so the agent's
    # events belong to this join as long as the caller has not joined again
    again = out.groupby(["uniqueid", "queue"])["seq"].shift(-1)
    answered = _within(out["connect_seq"], again)
    abandon = _within(out["abandon_seq"], again)
    hung = _within(out["hangup_seq"], left)
    key = _within(out["dtmf_seq"], left)
    outcome = pd.Series("exit", index=out.index, dtype="str")
    outcome = outcome.mask(key, "exitwithkey").mask(abandon, "timeout")
    outcome = outcome.mask(abandon & hung, "abandoned").mask(answered, "answered")
    transferred = answered & is_(out["reason"], TRANSFER_REASON)
    outcome = outcome.mask(transferred, "transferred").where(left.notna() | answered)
    stop = out["connect"].where(answered).fillna(out["leave"])
    out["wait_time"] = seconds(stop - out["join"])
    out["agent"] = out["agent"].where(answered)
    out["talk_time"] = seconds(out["done"] - out["connect"]).where(answered)
    out["outcome"] = outcome.astype("string")
    out["join"], out["leave"] = to_ms(out["join"]), to_ms(out["leave"])
    return out.reset_index(drop=True)[QUEUE_CALL_COLUMNS]


def queue_stats(
    df: pd.DataFrame,
    by: str | list[str] = "queue",
    freq: str | None = None,
    service_level: float = SERVICE_LEVEL,
    short_abandon: float = 0.0,
) -> pd.DataFrame:
    """Call-centre figures per queue (``by``), per ``freq`` interval of joining if given.

    Over the finished rows of :func:`queue_calls` (callers still waiting are
    left out):

    * ``offered``: callers who joined, less short abandons (``abandoned``
      within ``short_abandon`` seconds, default 0: none are short);
    * ``answered``: outcomes ``answered`` or ``transferred``; ``abandoned``:
      the caller hung up while waiting (timeouts and key exits are neither);
      ``abandon_rate`` = abandoned / offered;
    * ``asa`` (average speed of answer, s): mean wait of answered callers;
    * ``service_level``: share of offered callers answered within
      ``service_level`` seconds (default 20);
    * ``aht`` (average handle time, s): mean talk time of answered callers
      (no after-call work is visible on AMI); ``longest_wait`` (s).
    """
    calls = queue_calls(df)
    keys = [by] if isinstance(by, str) else list(by)
    calls = calls[calls["outcome"].notna()]
    short = is_(calls["outcome"], "abandoned") & (calls["wait_time"] < short_abandon)
    calls = calls[~short]
    answered = calls["outcome"].isin(ANSWERED)
    table = pd.DataFrame(
        {
            **{k: calls[k] for k in keys},
            "join": calls["join"],
            "offered": 1,
            "answered": answered.astype(int),
            "abandoned": is_(calls["outcome"], "abandoned").astype(int),
            "in_sl": (answered & (calls["wait_time"] <= service_level)).astype(int),
            "answer_wait": calls["wait_time"].where(answered),
            "talk": calls["talk_time"].where(answered),
            "wait": calls["wait_time"],
        }
    )
    groups: list[Any] = [*keys]
    if freq is not None:
        groups.append(pd.Grouper(key="join", freq=freq))
    agg = table.groupby(groups).agg(
        offered=("offered", "sum"),
        answered=("answered", "sum"),
        abandoned=("abandoned", "sum"),
        in_sl=("in_sl", "sum"),
        asa=("answer_wait", "mean"),
        aht=("talk", "mean"),
        longest_wait=("wait", "max"),
    )
    agg["abandon_rate"] = (agg["abandoned"] / agg["offered"]).round(3)
    agg["service_level"] = (agg["in_sl"] / agg["offered"]).round(3)
    for name in ("asa", "aht", "longest_wait"):
        agg[name] = agg[name].round(3)
    return agg[QUEUE_STAT_COLUMNS]
