"""Channel lifecycles and event rates: one row per channel, counts per bucket."""

from __future__ import annotations

from typing import Any

import pandas as pd

from amilab.analysis._events import STATE_UP, col, is_, real, times
from amilab.frames import STRING_DTYPE

#: Columns of :func:`channel_lifecycles`, in order (``uniqueid`` is the index).
CHANNEL_COLUMNS = ["channel", "linkedid", "created", "up", "hungup", "cause", "cause_txt"]


def _events(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the helpers use, one name each, strings throughout."""
    linked = col(df, "Linkedid").fillna(col(df, "DestLinkedid"))
    return pd.DataFrame(
        {
            "at": times(df),
            "event": col(df, "event"),
            "channel": col(df, "Channel"),
            "uniqueid": col(df, "Uniqueid"),
            "linkedid": linked,
            "state": col(df, "ChannelState"),
            "state_desc": col(df, "ChannelStateDesc"),
            "caller": col(df, "CallerIDNum"),
            "exten": col(df, "Exten"),
            "dest_caller": col(df, "DestCallerIDNum"),
            "dest_exten": col(df, "DestExten"),
            "cause": col(df, "Cause"),
            "cause_txt": col(df, "Cause-txt"),
        }
    )


def _empty(columns: list[str], index: str) -> pd.DataFrame:
    return pd.DataFrame(columns=columns, index=pd.Index([], name=index, dtype=STRING_DTYPE))


def _is_up(ev: pd.DataFrame) -> pd.Series:
    newstate = is_(ev["event"], "Newstate")
    return newstate & (is_(ev["state"], STATE_UP) | is_(ev["state_desc"], "Up"))


def _first(ev: pd.DataFrame, by: str, column: str) -> pd.Series:
    return ev.groupby(by, sort=False)[column].first()


def channel_lifecycles(df: pd.DataFrame) -> pd.DataFrame:
    """One row per channel (``Uniqueid``): name, call, created, up, hung up, cause."""
    ev = _events(df)
    ev = ev[real(ev["uniqueid"]).notna()]  # OriginateResponse may say <unknown>
    if ev.empty:
        return _empty(CHANNEL_COLUMNS, "uniqueid")
    by = ev.groupby("uniqueid", sort=False)
    out = pd.DataFrame({"channel": by["channel"].first(), "linkedid": by["linkedid"].first()})
    created = ev[is_(ev["event"], "Newchannel")].groupby("uniqueid")["at"].min()
    out["created"] = created.reindex(out.index).fillna(by["at"].min())
    out["up"] = ev[_is_up(ev)].groupby("uniqueid")["at"].min()
    hangups = ev[is_(ev["event"], "Hangup")]
    out["hungup"] = hangups.groupby("uniqueid")["at"].max()
    out["cause"] = _first(hangups, "uniqueid", "cause")
    out["cause_txt"] = _first(hangups, "uniqueid", "cause_txt")
    return out[CHANNEL_COLUMNS]


def event_rates(df: pd.DataFrame, freq: str = "1s") -> pd.DataFrame:
    """Events per type (columns) per ``freq`` bucket of ``received_at`` (rows), 0 when none."""
    ev = pd.DataFrame({"at": times(df), "event": col(df, "event")}).dropna()
    if ev.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="received_at"))
    grouper: Any = pd.Grouper(key="at", freq=freq)
    counts = ev.groupby([grouper, "event"]).size().unstack(fill_value=0)
    counts = counts.asfreq(freq, fill_value=0)  # buckets with no event at all
    counts.index.name = "received_at"
    counts.columns.name = None
    return counts
