"""Channel lifecycles and event rates: one row per channel, counts per bucket."""

from __future__ import annotations

from typing import Any

import pandas as pd

from amilab.frames import STRING_DTYPE

#: Columns of :func:`channel_lifecycles`, in order (``uniqueid`` is the index).
CHANNEL_COLUMNS = ["channel", "linkedid", "created", "up", "hungup", "cause", "cause_txt"]
#: ``ChannelState`` of a channel that is up (answered), per Asterisk's ``AST_STATE_UP``.
STATE_UP = "6"
#: Placeholder Asterisk sends for an unknown caller ID.
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
