"""The capture frame reduced to the columns the analysis uses, and shared helpers.

Every helper works column-wise (groupbys, merges, masks); none loops over rows
or calls. The facts relied on were observed in the real Asterisk 22 captures
under ``tests/fixtures/asterisk22/analysis/`` (recorded by
``tests/asterisk/record_analysis.py``):

* A call is a ``Linkedid``. Asterisk propagates the oldest ``Linkedid`` into
  a channel that is bridged with the call later (the retriever of a parked
  call in ``day.ami``: its ``BridgeEnter`` carries the parked caller's
  ``Linkedid``), so a channel belongs to the call of its *last* ``Linkedid``,
  and both halves of a Local channel (``...;1``/``...;2``) to the call of
  their ``;1`` half.
* Events about two channels carry them under prefixes: ``Dest*`` (dials,
  queue members), ``Transferee*`` (transfers), ``Parkee*`` (parking).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from amilab.frames import STRING_DTYPE

#: ``ChannelState`` of a channel that is up (answered), per Asterisk's ``AST_STATE_UP``.
STATE_UP = "6"
#: Placeholder Asterisk sends for an unknown caller ID or name.
UNKNOWN = "<unknown>"
#: Channel name suffix Asterisk adds to a device (``PJSIP/200-0000000a``,
#: ``Local/x@ctx-00000002;1``): a dash, 8 hex digits, and ``;1``/``;2`` for Local.
_SUFFIX = re.compile(r"-[0-9a-f]{8}(;[12])?$")
#: Events that show a channel is being hung up (``HangupRequest`` comes first
#: when the far end hangs up: ``day.ami``, caller 2003 abandoning its queue).
HANGUP_EVENTS = ("HangupRequest", "SoftHangupRequest", "Hangup")
#: Where transfer and parking events name the channel they are about.
_OTHER_UNIQUEID = ("TransfereeUniqueid", "ParkeeUniqueid")
_OTHER_LINKEDID = ("TransfereeLinkedid", "ParkeeLinkedid")
#: Seconds per nanosecond, for durations in seconds.
NS = 1e-9


def col(df: pd.DataFrame, name: str) -> pd.Series:
    """``df[name]`` as strings (Int64 too), or all NA when the capture lacks it."""
    if name not in df:
        return pd.Series(pd.NA, index=df.index, dtype=STRING_DTYPE)
    column = df[name]
    return column if column.dtype == STRING_DTYPE else column.astype(STRING_DTYPE)


def is_(series: pd.Series, value: object) -> pd.Series:
    """Boolean mask ``series == value`` with NA counted as False."""
    return series.eq(value).fillna(False).astype(bool)


def times(df: pd.DataFrame) -> pd.Series:
    """``received_at``, or NaT throughout when the frame has none."""
    if "received_at" in df:
        return df["received_at"]
    return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")


def real(series: pd.Series) -> pd.Series:
    """NA where a value is empty or Asterisk's ``<unknown>`` placeholder."""
    return series.mask(is_(series, UNKNOWN) | is_(series, ""))


def first_of(df: pd.DataFrame, *names: str) -> pd.Series:
    """The first of several columns that is set, row by row."""
    out = col(df, names[0])
    for name in names[1:]:
        out = out.fillna(col(df, name))
    return out


def events(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the helpers use, one name each, strings throughout.

    ``seq`` is the row's position in the capture: events stamped the same
    millisecond keep Asterisk's order through it. ``uniqueid``/``linkedid``
    fall back on the ``Dest``/``Transferee``/``Parkee`` channel for events
    that carry no channel of their own (an Originate's ``DialBegin``).
    """
    df = df.reset_index(drop=True)
    return pd.DataFrame(
        {
            "seq": pd.RangeIndex(len(df)),
            "at": times(df),
            "event": col(df, "event"),
            "channel": first_of(df, "Channel", "DestChannel"),
            "uniqueid": first_of(df, "Uniqueid", "DestUniqueid", *_OTHER_UNIQUEID),
            "linkedid": first_of(df, "Linkedid", "DestLinkedid", *_OTHER_LINKEDID),
            "state": col(df, "ChannelState"),
            "state_desc": col(df, "ChannelStateDesc"),
            "caller": col(df, "CallerIDNum"),
            "exten": col(df, "Exten"),
            "cause": col(df, "Cause"),
            "cause_txt": col(df, "Cause-txt"),
            "bridge": col(df, "BridgeUniqueid"),
            "bridge_type": col(df, "BridgeType"),
            "bridge_tech": col(df, "BridgeTechnology"),
        }
    )


def device(channel: pd.Series) -> pd.Series:
    """The device or Local target behind a channel name: ``PJSIP/200``, ``Local/x@ctx``."""
    return channel.str.replace(_SUFFIX, "", regex=True)


def local_pair(channel: pd.Series) -> pd.Series:
    """A Local channel's name without its ``;1``/``;2`` half; NA for other channels."""
    local = channel.str.startswith("Local/").fillna(False).astype(bool)
    return channel.str.replace(r";[12]$", "", regex=True).where(local)


def call_ids(ev: pd.DataFrame) -> pd.Series:
    """Each event's call: its channel's last ``Linkedid``, a Local pair's from its ``;1``."""
    # two columns taken before dropna: dropping rows of the whole frame copies all of them
    last = ev[["uniqueid", "linkedid"]].dropna().groupby("uniqueid")["linkedid"].last()
    call = lookup(ev["uniqueid"], last).fillna(ev["linkedid"])
    names = ev[["uniqueid", "channel"]].dropna().groupby("uniqueid")["channel"].first()
    pair = local_pair(names)
    one = pair[names.str.endswith(";1").fillna(False).astype(bool)]
    pair_call = pd.Series(last.reindex(one.index).to_numpy(), index=one.to_numpy())
    pair_call = pair_call[~pair_call.index.duplicated()]
    by_pair = lookup(ev["uniqueid"], pair.map(pair_call))
    return by_pair.fillna(call).astype(STRING_DTYPE)


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """``table[key]`` for each key (NA if absent), aligned on ``keys``; keeps the dtype
    even when ``table`` is empty, where ``Series.map`` would turn times into floats."""
    table = table[~table.index.duplicated()]
    # Look each distinct key up once and spread the answers by the keys' codes:
    # a capture repeats few keys (a call's Linkedid on every one of its events),
    # and factorize hashes Arrow strings natively, where reindexing by a million
    # keys first copies them into Python str objects (about 20x slower on the
    # 1,000,000 events of benchmarks/analysis.py).
    codes, uniques = pd.factorize(keys)
    values = table.reindex(pd.Index(uniques, dtype=keys.dtype)).array.take(codes, allow_fill=True)
    return pd.Series(values, index=keys.index, dtype=table.dtype)


def seconds(delta: pd.Series) -> pd.Series:
    """Timedeltas as float seconds, to the millisecond."""
    return (delta.dt.total_seconds()).round(3).astype("float64")


def to_ms(stamps: pd.Series) -> pd.Series:
    """Times to the millisecond (``datetime64[ms, UTC]``), as the docs promise."""
    return stamps.astype("datetime64[ms, UTC]")


def intervals(starts: pd.DataFrame, stops: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Pair each start row with the first stop row of the same ``key`` after it.

    Both frames hold ``key`` columns, ``seq`` (capture order) and ``at``. A
    stop with no start before it is ignored (Asterisk 22 sends ``Unhold``
    without a ``Hold`` when a call is blind-transferred: day.ami, 2006); a
    start followed by another start ends there; a start with no stop gets
    ``stop`` NaT. Rows with a key missing are dropped.
    """
    left: Any = starts.dropna(subset=key).sort_values("seq")
    right = stops.dropna(subset=key)[[*key, "seq", "at"]]
    right = right.rename(columns={"seq": "_stop_seq", "at": "stop"}).sort_values("_stop_seq")
    left["seq"] = left["seq"].astype("int64")  # merge_asof wants one key dtype, even when empty
    right["_stop_seq"] = right["_stop_seq"].astype("int64")
    out: Any = pd.merge_asof(
        left, right, left_on="seq", right_on="_stop_seq", by=key, direction="forward"
    )
    # a second start before the stop (Hold twice, a pause with a new reason)
    # continues the same state: the first interval ends where the next begins
    again_seq = out.groupby(key, dropna=False)["seq"].shift(-1)
    again_at = out.groupby(key, dropna=False)["at"].shift(-1)
    cut = again_seq.notna() & (out["_stop_seq"].isna() | (again_seq < out["_stop_seq"]))
    out["stop"] = out["stop"].mask(cut, again_at)
    return out.rename(columns={"at": "start"}).drop(columns="_stop_seq")


def empty(columns: list[str], index: str) -> pd.DataFrame:
    """An empty frame with the documented columns and a string index."""
    return pd.DataFrame(columns=columns, index=pd.Index([], name=index, dtype=STRING_DTYPE))
