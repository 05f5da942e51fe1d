"""Call records: one row per call (``Linkedid``) from a capture frame.

Theory of operation: every event is given its call (see ``_events.call_ids``),
then each figure is one groupby over a slice of the events: hangups decide
whether the call is over, the caller's channel's bridge intervals give talk,
park and conference time, ``Hold``/``Unhold`` give hold time, and the last
answered dial (or queue connect, or parked-call retrieval) names who
answered. Facts are from the real Asterisk 22 captures in
``tests/fixtures/asterisk22/analysis/``.
"""

from __future__ import annotations

import pandas as pd

from amilab.analysis._events import (
    STATE_UP,
    call_ids,
    col,
    device,
    empty,
    events,
    intervals,
    is_,
    local_pair,
    lookup,
    real,
    seconds,
    to_ms,
)
from amilab.frames import STRING_DTYPE

#: Columns of :func:`calls`, in order (``linkedid`` is the index).
CALL_COLUMNS = [
    "start",
    "answer",
    "end",
    "complete",
    "caller",
    "callee",
    "answered_by",
    "queue",
    "wait_time",
    "talk_time",
    "hold_time",
    "park_time",
    "conf_time",
    "duration",
    "transfer",
    "transfer_to",
    "cause",
    "cause_txt",
    "channels",
]
#: Headers read besides those of ``_events.events`` (taken alone: copying rows
#: of the whole capture frame, hundreds of columns wide, would dominate the time).
EXTRA_HEADERS = [
    "Application",
    "Channel",
    "Context",
    "DestChannel",
    "DestExten",
    "DestUniqueid",
    "DialStatus",
    "Extension",
    "MemberName",
    "Queue",
    "RetrieverChannel",
    "TransferTargetChannel",
]
#: A Local channel that answers may itself have dialled on through another
#: Local channel (``dial-local`` in ``day.ami``); this many hops are followed
#: to the party that really answered. Dialplans rarely chain more than two.
MAX_LOCAL_HOPS = 4
#: Columns of the caller's side's events that ``_spans`` and ``_answer`` read.
SIDE_COLUMNS = [
    "seq",
    "at",
    "event",
    "uniqueid",
    "call",
    "state",
    "bridge",
    "bridge_type",
    "bridge_tech",
]
#: Application an outgoing channel shows before it runs dialplan (app_dial.c).
PLACEHOLDER_APP = "AppDial2"
#: Events showing a call went further than one application answering it.
NOT_APP_ONLY = ["DialBegin", "QueueCallerJoin", "BridgeEnter", "ConfbridgeJoin"]
#: ``BridgeType`` of res_parking's holding bridge (``day.ami``, caller 2009).
PARKING = "parking"
#: ``BridgeTechnology`` of a ConfBridge conference (``day.ami``, 2010/2011);
#: conference time itself comes from ``ConfbridgeJoin``/``ConfbridgeLeave``,
#: because Asterisk 22 sent no ``BridgeEnter`` for the second member (2011).
CONFERENCE = "softmix"


def calls(df: pd.DataFrame) -> pd.DataFrame:
    """One row per call (``Linkedid``): times, parties, time split, transfer, cause.

    Definitions (times to the millisecond, durations float seconds):

    * A call is a ``Linkedid``; a channel belongs to the call of its last
      ``Linkedid`` (Asterisk hands the older one to a channel bridged in
      later, e.g. a parked call's retriever) and a Local channel's two halves
      to the call of their ``;1`` half.
    * ``complete``: every channel seen in the call has hung up. A call still
      in progress when the capture ends has NA ``end``, ``duration``,
      ``cause``, ``cause_txt`` and time splits (nothing measured is final).
    * ``start``: first event of the call; ``end``: last ``Hangup`` of its
      channels; ``duration`` = ``end - start``.
    * ``caller``: ``CallerIDNum`` of the channel that started the call (its
      ``Uniqueid`` is the ``Linkedid``); ``cause``/``cause_txt``: that
      channel's ``Hangup`` (if it was never seen: the call's last hangup),
      never a losing ringall or queue leg's 26 "Answered elsewhere".
    * ``callee``: the first extension the caller's channel ran, else the
      first dialled (``DialBegin``'s ``DestExten``).
    * ``answered_by``: the last party to answer, in capture order: a queue
      member by name (``AgentConnect``), the device of an answered dial
      (``Local/answer@ctx``, ``PJSIP/200``; a Local channel that dials on is
      followed to the party it reached), or the device that retrieved a
      parked call (``UnParkedCall``).
    * ``answer``: when the caller's side (its channel, and the other half
      of a Local caller) first joined a bridge other than parking or
      ConfBridge; for a call that never dials, queues, parks or
      conferences (an IVR, ``Echo``), when it went Up.
    * ``talk_time``: time the caller's side spent in such bridges minus
      ``hold_time`` (``Hold`` to ``Unhold``, or to hangup, of any channel of
      the call); never negative; NaN if never answered. If the caller
      transfers itself away and leaves, talk after that is not counted.
      ``park_time``/``conf_time``: time in res_parking's holding bridge and in
      ConfBridge (``ConfbridgeJoin`` to ``ConfbridgeLeave``); ``wait_time``:
      time in queues (join to leave).
    * ``transfer``: ``blind`` or ``attended`` (the last transfer of the
      call); ``transfer_to``: the blind transfer's ``exten@context`` or the
      attended transfer's target device.
    """
    ev = events(df)
    ev = ev[ev["linkedid"].notna()].copy()
    if ev.empty:
        return empty(CALL_COLUMNS, "linkedid")
    ev["call"] = call_ids(ev)
    frame = df.reset_index(drop=True)
    df = pd.DataFrame({name: col(frame, name) for name in EXTRA_HEADERS}).loc[ev.index]
    out = pd.DataFrame({"start": ev.groupby("call", sort=False)["at"].min()})
    hungup = _hangups(ev)
    out["complete"] = _complete(ev, hungup)
    out["end"] = ev[is_(ev["event"], "Hangup")].groupby("call")["at"].max()
    out["end"] = out["end"].where(out["complete"])
    origin = _origin(ev)  # once: a mask over every event, then a copy of the rows
    out = out.join(_parties(df, ev, origin, out.index))
    side = _caller_side(ev, origin)
    spans = _spans(ev, side, hungup)
    for name in ("talk", "park", "conf", "hold"):
        out[f"{name}_time"] = spans.get(name, pd.Series(dtype="float64")).reindex(out.index)
    out["answer"] = _answer(ev, side, out.index)
    out = _finish_times(out)
    out = out.join(_queue_waits(df, ev)).join(_transfers(df, ev))
    out["channels"] = ev.groupby("call")["uniqueid"].nunique()
    out.index.name = "linkedid"
    for name in ("start", "answer", "end"):
        out[name] = to_ms(out[name])
    return out.reindex(columns=CALL_COLUMNS)


def _hangups(ev: pd.DataFrame) -> pd.Series:
    """Each channel's hangup time (``Uniqueid`` -> time)."""
    return ev[is_(ev["event"], "Hangup")].groupby("uniqueid")["at"].max()


def _complete(ev: pd.DataFrame, hungup: pd.Series) -> pd.Series:
    channels = ev[["call", "uniqueid"]].dropna(subset=["uniqueid"]).drop_duplicates()
    done = lookup(channels["uniqueid"], hungup).notna()
    return done.groupby(channels["call"]).all().astype(bool)


def _origin(ev: pd.DataFrame) -> pd.DataFrame:
    """Events of the channel that started the call (its ``Uniqueid`` is the call's)."""
    return ev[is_(ev["uniqueid"], ev["call"])]


def _caller_side(ev: pd.DataFrame, origin: pd.DataFrame) -> pd.DataFrame:
    """Events of the caller's channel and, if it is a Local channel, its other half.

    An originated Local channel runs the application on one half while the
    other half dials and bridges (``originate_async_call.ami``: the ``;2``
    half of ``Local/200@amilab`` dials and talks). Only ``SIDE_COLUMNS`` are
    kept: copying the rows is what this costs on a large capture.
    """
    codes, names = pd.factorize(ev["channel"])
    # the pair name per distinct channel, not per event: string work is the cost here
    pair = pd.Series(
        local_pair(pd.Series(names, dtype=STRING_DTYPE)).to_numpy()[codes], index=ev.index
    )
    pair = pair.where(codes >= 0).astype(STRING_DTYPE)
    origin_pair = pair[origin.index].groupby(origin["call"]).first().dropna()
    side = is_(pair, lookup(ev["call"], origin_pair)) | ev.index.isin(origin.index)
    return ev.loc[side, SIDE_COLUMNS]


def _parties(
    df: pd.DataFrame, ev: pd.DataFrame, origin: pd.DataFrame, index: pd.Index
) -> pd.DataFrame:
    hangup = origin[is_(origin["event"], "Hangup")].groupby("call")
    any_hangup = ev[is_(ev["event"], "Hangup")].groupby("call")
    out = pd.DataFrame(index=index)
    out["caller"] = real(origin["caller"]).groupby(origin["call"]).first()
    for name in ("cause", "cause_txt"):
        # a call whose first channel was never seen (capture began mid-call)
        # falls back on its last channel to hang up: a losing ringall leg
        # (26, Answered elsewhere) hangs up first, never last
        out[name] = hangup[name].first().reindex(index).fillna(any_hangup[name].last())
    out["callee"] = _callee(df, ev, origin, index)
    out["answered_by"] = _answered_by(df, ev)
    return out


def _callee(df: pd.DataFrame, ev: pd.DataFrame, origin: pd.DataFrame, index: pd.Index) -> pd.Series:
    """First extension the caller's channel ran, else the first one dialled, else its own."""
    app = df.loc[origin.index, "Application"]
    # an outgoing (originated) channel shows its dial target with app_dial's
    # placeholder application AppDial2 before it runs the dialplan (day.ami)
    ran = origin[is_(origin["event"], "Newexten") & ~is_(app, PLACEHOLDER_APP)]
    first_ran = real(ran["exten"]).groupby(ran["call"]).first().reindex(index)
    begins = is_(ev["event"], "DialBegin")  # compared on the dials only, not every event
    call, dest = ev.loc[begins, "call"], df.loc[begins, ["DestUniqueid", "DestExten"]]
    dials = ~is_(dest["DestUniqueid"], call)
    dialled = real(dest["DestExten"][dials]).groupby(call[dials]).first()
    seen = real(origin["exten"]).groupby(origin["call"]).first()
    return first_ran.fillna(dialled.reindex(index)).fillna(seen.reindex(index))


def _answered_by(df: pd.DataFrame, ev: pd.DataFrame) -> pd.Series:
    """The last answering party per call; see :func:`calls`."""
    frame = df
    dest_uid, dest_chan = col(frame, "DestUniqueid"), col(frame, "DestChannel")
    members = is_(ev["event"], "AgentConnect")
    member_of = real(col(frame, "MemberName")[members]).groupby(dest_uid[members]).last()
    answered = (
        is_(ev["event"], "DialEnd")
        & is_(col(frame, "DialStatus"), "ANSWER")
        & ~is_(dest_uid, ev["call"])
    )
    party = lookup(dest_uid[answered], member_of).fillna(device(dest_chan[answered]))
    party = _follow_locals(party, dest_chan[answered], col(frame, "Channel")[answered])
    unparked = is_(ev["event"], "UnParkedCall")
    party = pd.concat([party, device(col(frame, "RetrieverChannel")[unparked])])
    calls = ev["call"].loc[party.index]
    order = ev["seq"].loc[party.index]
    table = pd.DataFrame({"call": calls, "party": party, "seq": order}).sort_values("seq")
    return table.groupby("call")["party"].last()


def _follow_locals(party: pd.Series, dest: pd.Series, caller: pd.Series) -> pd.Series:
    """Replace a Local channel that dialled on by the party its ``;2`` half reached."""
    inner = pd.Series(party.to_numpy(), index=local_pair(caller).to_numpy())
    inner = inner[inner.index.notna() & caller.str.endswith(";2").fillna(False).to_numpy()]
    inner = inner[~inner.index.duplicated(keep="last")]
    pair = local_pair(dest)
    for _ in range(MAX_LOCAL_HOPS):
        reached = lookup(pair, inner.astype(STRING_DTYPE))
        if reached.isna().all():
            break
        party = reached.fillna(party)
        pair = pd.Series(pd.NA, index=pair.index, dtype=STRING_DTYPE)
    return party


def _spans(ev: pd.DataFrame, origin: pd.DataFrame, hungup: pd.Series) -> dict[str, pd.Series]:
    """Seconds per call in talk, park and conference bridges (of the caller's
    side, ``origin``), and on hold (any channel)."""
    enters = origin[is_(origin["event"], "BridgeEnter")]
    leaves = origin[is_(origin["event"], "BridgeLeave")]
    key = ["uniqueid", "bridge"]
    spans = intervals(enters.fillna({"bridge": ""}), leaves.fillna({"bridge": ""}), key)
    spans["stop"] = spans["stop"].fillna(spans["uniqueid"].pipe(lookup, hungup))
    kind = pd.Series("talk", index=spans.index)
    kind = kind.mask(is_(spans["bridge_type"], PARKING), "park")
    kind = kind.mask(is_(spans["bridge_tech"], CONFERENCE), "in-conference")
    spans["seconds"] = seconds(spans["stop"] - spans["start"])
    per = spans.groupby([kind.rename("kind"), "call"])["seconds"].sum()
    out = {str(k): per.xs(k, level=0) for k in per.index.get_level_values(0).unique()}
    joins = origin[is_(origin["event"], "ConfbridgeJoin")]
    conf = intervals(joins, origin[is_(origin["event"], "ConfbridgeLeave")], ["uniqueid"])
    conf["stop"] = conf["stop"].fillna(conf["uniqueid"].pipe(lookup, hungup))
    out["conf"] = seconds(conf["stop"] - conf["start"]).groupby(conf["call"]).sum()
    holds = ev[is_(ev["event"], "Hold")]
    unholds = ev[is_(ev["event"], "Unhold")]
    held = intervals(holds, unholds, ["uniqueid"])
    held["stop"] = held["stop"].fillna(held["uniqueid"].pipe(lookup, hungup))
    out["hold"] = seconds(held["stop"] - held["start"]).groupby(held["call"]).sum()
    return out


def _answer(ev: pd.DataFrame, origin: pd.DataFrame, index: pd.Index) -> pd.Series:
    enters = origin[is_(origin["event"], "BridgeEnter")]
    parked_or_conf = is_(enters["bridge_type"], PARKING) | is_(enters["bridge_tech"], CONFERENCE)
    bridged = enters[~parked_or_conf].groupby("call")["at"].min().reindex(index)
    up = origin[is_(origin["event"], "Newstate") & is_(origin["state"], STATE_UP)]
    up = up.groupby("call")["at"].min().reindex(index)
    went_on = pd.Series(False, index=ev.index)
    for name in NOT_APP_ONLY:  # a few names; Series.isin on Arrow strings is far slower
        went_on |= is_(ev["event"], name)
    app_only = ~went_on.groupby(ev["call"]).any().reindex(index, fill_value=False)
    return bridged.fillna(up.where(app_only))


def _finish_times(out: pd.DataFrame) -> pd.DataFrame:
    """Durations in seconds; NA for unfinished calls; talk never negative."""
    out["duration"] = seconds(out["end"] - out["start"])
    app_talk = seconds(out["end"] - out["answer"]).where(out["talk_time"].isna())
    talk = out["talk_time"].fillna(app_talk) - out["hold_time"].fillna(0.0)
    out["talk_time"] = talk.clip(lower=0.0).where(out["answer"].notna()).round(3)
    for name in ("duration", "talk_time", "hold_time", "park_time", "conf_time"):
        out[name] = out[name].where(out["complete"])
    for name in ("cause", "cause_txt"):
        out[name] = out[name].where(out["complete"])
    for name in ("hold_time", "park_time", "conf_time"):
        out[name] = out[name].fillna(0.0).where(out["complete"])
    return out


def _queue_waits(df: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    frame = df
    queue = col(frame, "Queue")
    joins = ev[is_(ev["event"], "QueueCallerJoin")].assign(queue=queue)
    leaves = ev[is_(ev["event"], "QueueCallerLeave")].assign(queue=queue)
    spans = intervals(joins, leaves, ["uniqueid", "queue"])
    complete = spans["stop"].notna().groupby(spans["call"]).all()
    wait = seconds(spans["stop"] - spans["start"]).groupby(spans["call"]).sum()
    return pd.DataFrame(
        {
            "queue": spans.groupby("call")["queue"].first(),
            "wait_time": wait.where(complete),
        }
    )


def _transfers(df: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    frame = df
    blind = is_(ev["event"], "BlindTransfer")
    attended = is_(ev["event"], "AttendedTransfer")
    to_blind = (col(frame, "Extension") + "@" + col(frame, "Context"))[blind]
    to_attended = device(col(frame, "TransferTargetChannel"))[attended]
    rows = pd.DataFrame(
        {
            "transfer": pd.concat(
                [
                    pd.Series("blind", index=to_blind.index),
                    pd.Series("attended", index=to_attended.index),
                ]
            ),
            "transfer_to": pd.concat([to_blind, to_attended]),
        }
    )
    rows["call"] = ev["call"].loc[rows.index]
    rows["seq"] = ev["seq"].loc[rows.index]
    rows = rows.sort_values("seq").astype({"transfer": STRING_DTYPE, "transfer_to": STRING_DTYPE})
    return rows.groupby("call")[["transfer", "transfer_to"]].last()
