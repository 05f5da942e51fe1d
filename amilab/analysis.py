"""Call analysis over a capture frame (the shape of ``EventRecorder.df``).

Each helper takes the frame as recorded (``received_at``, ``event``, then
headers as strings or ``Int64``) and answers one question with groupbys, no
Python loops over rows. Missing columns count as all-NA, so a capture with no
calls gives an empty frame with the documented columns.

How Asterisk 22 shows a call (observed in ``tests/fixtures/asterisk22``):
every channel of one call shares a ``Linkedid``, the ``Uniqueid`` of the
channel that started it; ``DialBegin``/``DialEnd`` name the callee's channel
with ``Dest*`` headers (and, when an application dials, omit the caller's);
a channel is up at ``Newstate`` with ``ChannelState: 6`` (``Up``) and ends
with ``Hangup`` carrying ``Cause`` (Q.850) and ``Cause-txt``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from amilab.frames import STRING_DTYPE

__all__ = ["CALL_COLUMNS", "CHANNEL_COLUMNS", "calls", "channel_lifecycles", "event_rates"]

#: Columns of :func:`calls`, in order (``linkedid`` is the index).
CALL_COLUMNS = [
    "start",
    "answer",
    "end",
    "duration",
    "talk_time",
    "caller",
    "callee",
    "cause",
    "cause_txt",
    "channels",
]
#: Columns of :func:`channel_lifecycles`, in order (``uniqueid`` is the index).
CHANNEL_COLUMNS = ["channel", "linkedid", "created", "up", "hungup", "cause", "cause_txt"]
#: ``ChannelState`` of a channel that is up (answered), per Asterisk's ``AST_STATE_UP``.
STATE_UP = "6"
#: Placeholder Asterisk sends for an unknown caller ID; never chosen as a callee.
UNKNOWN = "<unknown>"


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """``df[name]`` as strings (Int64 too), or all NA when the capture lacks it."""
    if name not in df:
        return pd.Series(pd.NA, index=df.index, dtype=STRING_DTYPE)
    column = df[name]
    return column if column.dtype == STRING_DTYPE else column.astype(STRING_DTYPE)


def _is(series: pd.Series, value: object) -> pd.Series:
    return series.eq(value).fillna(False).astype(bool)


def _times(df: pd.DataFrame) -> pd.Series:
    if "received_at" in df:
        return df["received_at"]
    return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")


def _events(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the helpers use, one name each, strings throughout."""
    linked = _col(df, "Linkedid").fillna(_col(df, "DestLinkedid"))
    return pd.DataFrame(
        {
            "at": _times(df),
            "event": _col(df, "event"),
            "channel": _col(df, "Channel"),
            "uniqueid": _col(df, "Uniqueid"),
            "linkedid": linked,
            "state": _col(df, "ChannelState"),
            "state_desc": _col(df, "ChannelStateDesc"),
            "caller": _col(df, "CallerIDNum"),
            "exten": _col(df, "Exten"),
            "dest_caller": _col(df, "DestCallerIDNum"),
            "dest_exten": _col(df, "DestExten"),
            "cause": _col(df, "Cause"),
            "cause_txt": _col(df, "Cause-txt"),
        }
    )


def _empty(columns: list[str], index: str) -> pd.DataFrame:
    return pd.DataFrame(columns=columns, index=pd.Index([], name=index, dtype=STRING_DTYPE))


def _is_up(ev: pd.DataFrame) -> pd.Series:
    newstate = _is(ev["event"], "Newstate")
    return newstate & (_is(ev["state"], STATE_UP) | _is(ev["state_desc"], "Up"))


def _first(ev: pd.DataFrame, by: str, column: str) -> pd.Series:
    return ev.groupby(by, sort=False)[column].first()


def _real(series: pd.Series) -> pd.Series:
    """NA where a value is empty or Asterisk's ``<unknown>`` placeholder."""
    return series.mask(_is(series, UNKNOWN) | _is(series, ""))


def calls(df: pd.DataFrame) -> pd.DataFrame:
    """One row per call (``Linkedid``): times, parties, hangup cause, channel count.

    ``answer`` is the first ``BridgeEnter`` (the caller meets a party), or for
    a call that never bridges (an application such as ``Echo``, a queue
    caller who gave up) its first ``Newstate`` to Up: ``Queue`` and IVRs
    answer the caller at once, so Up alone would count hold time as talk.
    ``end`` is the last ``Hangup``; ``talk_time`` is ``end - answer`` (NaT if
    unanswered).
    ``caller`` is the ``CallerIDNum`` of the channel that started the call;
    ``callee`` the first real one of ``DialBegin``'s ``DestExten`` (app_dial
    gives the outgoing channel the caller's extension) and
    ``DestCallerIDNum``, else that first channel's dialed ``Exten``. ``cause`` and
    ``cause_txt`` come from the first channel's ``Hangup``.
    """
    ev = _events(df)
    ev = ev[ev["linkedid"].notna()]
    if ev.empty:
        return _empty(CALL_COLUMNS, "linkedid")
    by = ev.groupby("linkedid", sort=False)
    out = pd.DataFrame({"start": by["at"].min()})
    bridged = ev[_is(ev["event"], "BridgeEnter")].groupby("linkedid")["at"].min()
    up = ev[_is_up(ev)].groupby("linkedid")["at"].min()
    out["answer"] = bridged.reindex(out.index).fillna(up.reindex(out.index))
    hangups = ev[_is(ev["event"], "Hangup")]
    out["end"] = hangups.groupby("linkedid")["at"].max()
    out["duration"] = out["end"] - out["start"]
    out["talk_time"] = out["end"] - out["answer"]
    origin = ev[_is(ev["uniqueid"], ev["linkedid"])]
    out["caller"] = _first(origin, "linkedid", "caller")
    dials = ev[_is(ev["event"], "DialBegin")]
    callee = pd.Series(pd.NA, index=out.index, dtype=STRING_DTYPE)
    for source, column in ((dials, "dest_exten"), (dials, "dest_caller"), (origin, "exten")):
        callee = callee.fillna(_first(source.assign(c=_real(source[column])), "linkedid", "c"))
    out["callee"] = callee
    first_hangup = hangups[_is(hangups["uniqueid"], hangups["linkedid"])]
    for name in ("cause", "cause_txt"):
        column = _first(first_hangup, "linkedid", name)
        out[name] = column.reindex(out.index).fillna(_first(hangups, "linkedid", name))
    out["channels"] = by["uniqueid"].nunique()
    return out[CALL_COLUMNS]


def channel_lifecycles(df: pd.DataFrame) -> pd.DataFrame:
    """One row per channel (``Uniqueid``): name, call, created, up, hung up, cause."""
    ev = _events(df)
    ev = ev[_real(ev["uniqueid"]).notna()]  # OriginateResponse may say <unknown>
    if ev.empty:
        return _empty(CHANNEL_COLUMNS, "uniqueid")
    by = ev.groupby("uniqueid", sort=False)
    out = pd.DataFrame({"channel": by["channel"].first(), "linkedid": by["linkedid"].first()})
    created = ev[_is(ev["event"], "Newchannel")].groupby("uniqueid")["at"].min()
    out["created"] = created.reindex(out.index).fillna(by["at"].min())
    out["up"] = ev[_is_up(ev)].groupby("uniqueid")["at"].min()
    hangups = ev[_is(ev["event"], "Hangup")]
    out["hungup"] = hangups.groupby("uniqueid")["at"].max()
    out["cause"] = _first(hangups, "uniqueid", "cause")
    out["cause_txt"] = _first(hangups, "uniqueid", "cause_txt")
    return out[CHANNEL_COLUMNS]


def event_rates(df: pd.DataFrame, freq: str = "1s") -> pd.DataFrame:
    """Events per type (columns) per ``freq`` bucket of ``received_at`` (rows), 0 when none."""
    ev = pd.DataFrame({"at": _times(df), "event": _col(df, "event")}).dropna()
    if ev.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="received_at"))
    grouper: Any = pd.Grouper(key="at", freq=freq)
    counts = ev.groupby([grouper, "event"]).size().unstack(fill_value=0)
    counts = counts.asfreq(freq, fill_value=0)  # buckets with no event at all
    counts.index.name = "received_at"
    counts.columns.name = None
    return counts
