"""Call-flow pictures over a capture frame: :func:`ladder` and :func:`timeline`.

Both return a :class:`matplotlib.figure.Figure` (drawn with the object API,
never ``pyplot``, so no window opens and Jupyter shows it inline as the
cell's value). What they draw comes from the same events the other helpers
read (``_events.events``/``call_ids``) and from :func:`calls`, so a picture
never disagrees with the tables.

Readability rule for long calls (:func:`ladder`): time runs downwards but is
*not to scale*: each drawn step gets one row, whatever the time between
steps, and the row is labelled with its offset from the call's first event.
A pause longer than :data:`GAP_MARK` seconds between two rows is marked with
a dotted line and its length, so a two-hour call with forty steps is forty
rows, not two hours of empty paper. At most :data:`MAX_STEPS` steps are
drawn; the figure says how many were left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from amilab.analysis._calls import calls
from amilab.analysis._events import call_ids, events, is_

try:
    from matplotlib.figure import Figure
except ImportError as exc:  # pragma: no cover - matplotlib is a declared extra
    raise ImportError("amilab.analysis.plots needs matplotlib: pip install matplotlib") from exc

#: Seconds of silence between two steps worth marking on the ladder.
GAP_MARK = 1.0
#: Most steps one ladder draws: past this a figure grows taller than a
#: notebook screen can usefully scroll (about 0.3 inch a row).
MAX_STEPS = 200
#: Most calls one timeline draws (in order of start): at 0.3 inch a bar,
#: more would make a figure taller than a notebook screen can usefully scroll.
MAX_CALLS = 100
#: Inches per ladder row and per timeline bar.
ROW_INCHES = 0.3
#: Prefix of a bridge lane's label; the lane is named after the bridge's
#: first 8 characters of ``BridgeUniqueid`` (a UUID in Asterisk 22).
BRIDGE = "bridge "
#: Phase colours of :func:`timeline`.
PHASE_COLOURS = {
    "waiting in queue": "tab:red",
    "ringing": "tab:orange",
    "talking": "tab:green",
    "parked": "tab:gray",
    "in conference": "tab:cyan",
    "on hold": "tab:purple",
}
#: Events the ladder draws. ``Hangup`` carries ``Cause``/``Cause-txt``;
#: ``DialBegin``/``DialEnd`` name the callee in ``DestChannel`` (and the
#: caller in ``Channel`` unless an Originate dialled); transfer events name
#: their channels with ``Transferer``/``OrigTransferer``/``Transferee``
#: prefixes (``day.ami``, callers 2006 and 2007).
DRAWN = (
    "DialBegin",
    "DialEnd",
    "BridgeEnter",
    "BridgeLeave",
    "BlindTransfer",
    "AttendedTransfer",
    "Hold",
    "Unhold",
    "Hangup",
)


@dataclass(frozen=True)
class Step:
    """One row of a ladder: an arrow from ``source`` to ``target`` lane
    (the same lane for a mark such as a hangup), labelled ``label``."""

    at: pd.Timestamp
    source: str
    target: str
    label: str


def _new_figure(width: float, height: float) -> Figure:
    """A bare Figure; matplotlib is optional (``amilab[notebook]``), so it is
    imported here, where its absence becomes one line saying what to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ModuleNotFoundError(
            "plots need matplotlib: pip install matplotlib (or 'amilab[notebook]')",
            name="matplotlib",
        ) from None
    return Figure(figsize=(width, height))


def _call_rows(df: pd.DataFrame, linkedid: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The call's rows of the capture and their ``events`` view, same index."""
    frame = df.reset_index(drop=True)
    ev = events(frame)
    ev = ev[ev["linkedid"].notna()].copy()
    ev["call"] = call_ids(ev)
    mine = ev[is_(ev["call"], linkedid)]
    if mine.empty:
        known = ", ".join(calls(df).index[:5].astype(str))
        raise ValueError(
            f"no call with Linkedid {linkedid!r} in this capture; "
            f"pick one from calls(df).index (e.g. {known or 'none recorded'})"
        )
    return frame.loc[mine.index], mine


def _field(row: pd.Series, name: str) -> str | None:
    value = row.get(name)
    return None if value is None or pd.isna(value) or value == "" else str(value)


def ladder_steps(df: pd.DataFrame, linkedid: str) -> tuple[list[str], list[Step]]:
    """Lanes (channels in order of appearance, then bridges) and steps of one call."""
    rows, ev = _call_rows(df, linkedid)
    channels = list(dict.fromkeys(ev["channel"].dropna()))
    steps: list[Step] = []
    bridges: list[str] = []
    for (_, row), at in zip(rows.iterrows(), ev["at"], strict=True):
        name = str(row["event"])
        if name not in DRAWN:
            continue
        chan = _field(row, "Channel")
        if name in ("BridgeEnter", "BridgeLeave"):
            bridge = BRIDGE + str(row["BridgeUniqueid"])[:8]
            bridges.append(bridge)
            pair = (chan, bridge) if name == "BridgeEnter" else (bridge, chan)
            steps.append(Step(at, str(pair[0]), str(pair[1]), name))
        elif name == "DialBegin":
            dest = str(row["DestChannel"])
            steps.append(Step(at, chan or dest, dest, "Dial"))
        elif name == "DialEnd":
            dest = str(row["DestChannel"])
            status = _field(row, "DialStatus") or "?"
            label = "Answer" if status == "ANSWER" else f"DialEnd {status}"
            steps.append(Step(at, dest, chan or dest, label))
        elif name == "BlindTransfer":
            source = _field(row, "TransfererChannel") or str(row["TransfereeChannel"])
            target = _field(row, "TransfereeChannel") or source
            to = f"{_field(row, 'Extension')}@{_field(row, 'Context')}"
            steps.append(Step(at, source, target, f"BlindTransfer to {to}"))
        elif name == "AttendedTransfer":
            party = _field(row, "TransfereeChannel")
            source = _field(row, "OrigTransfererChannel") or str(party)
            target = _field(row, "TransferTargetChannel") or party or source
            steps.append(Step(at, source, target, "AttendedTransfer"))
        elif name == "Hangup":
            cause = f"{_field(row, 'Cause') or '?'} {_field(row, 'Cause-txt') or ''}"
            steps.append(Step(at, str(chan), str(chan), f"Hangup {cause.strip()}"))
        elif chan is not None:  # Hold, Unhold
            steps.append(Step(at, chan, chan, name))
    extra = [s for step in steps for s in (step.source, step.target) if s not in channels]
    lanes = channels + [lane for lane in dict.fromkeys(extra) if lane not in channels]
    return lanes, steps


def ladder(df: pd.DataFrame, linkedid: str) -> Figure:
    """One call as a sequence diagram: a lane per channel and bridge, time downwards.

    Arrows: ``Dial`` (``DialBegin``), ``Answer`` or ``DialEnd STATUS``,
    ``BridgeEnter``/``BridgeLeave`` (channel to bridge lane and back),
    ``BlindTransfer to exten@context``/``AttendedTransfer`` (transferer to
    transferee or target); marks on a lane: ``Hold``, ``Unhold`` and
    ``Hangup CAUSE CAUSE-TXT``. Time is not to scale (module docstring).
    """
    lanes, steps = ladder_steps(df, str(linkedid))
    dropped = max(0, len(steps) - MAX_STEPS)
    steps = steps[:MAX_STEPS]
    x = {lane: i for i, lane in enumerate(lanes)}
    rows = len(steps) + 1
    fig = _new_figure(max(6.0, 2.2 * len(lanes)), max(3.0, ROW_INCHES * rows + 1.5))
    ax = fig.add_subplot()
    ax.set_xlim(-0.5, len(lanes) - 0.5)
    ax.set_ylim(rows, -0.5)
    ax.set_xticks(range(len(lanes)), [_short(lane) for lane in lanes], fontsize=7)
    ax.xaxis.tick_top()
    for i in range(len(lanes)):
        ax.axvline(i, color="0.8", linewidth=1, zorder=0)
    start = steps[0].at if steps else None
    ticks: list[str] = []
    for row, step in enumerate(steps, start=1):
        offset = (step.at - start).total_seconds() if start is not None else 0.0
        ticks.append(f"+{offset:.3f} s")
        if row > 1:
            gap = (step.at - steps[row - 2].at).total_seconds()
            if gap > GAP_MARK:
                ax.axhline(row - 0.5, color="0.6", linestyle=":", linewidth=0.8)
                ax.text(
                    len(lanes) - 0.5,
                    row - 0.5,
                    f"{gap:.1f} s ",
                    fontsize=6,
                    ha="right",
                    va="center",
                    color="0.4",
                )
        x0, x1 = x[step.source], x[step.target]
        if x0 == x1:
            ax.plot(
                [x0],
                [row],
                marker="x" if step.label.startswith("Hangup") else "o",
                color="black",
                markersize=5,
            )
            ax.annotate(
                step.label,
                (x0, row),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=7,
                va="center",
            )
        else:
            ax.annotate(
                "",
                xy=(x1, row),
                xytext=(x0, row),
                arrowprops={"arrowstyle": "->", "color": "tab:blue"},
            )
            ax.annotate(
                step.label,
                ((x0 + x1) / 2, row),
                xytext=(0, 2),
                textcoords="offset points",
                fontsize=7,
                ha="center",
                va="bottom",
            )
    ax.set_yticks(range(1, len(steps) + 1), ticks, fontsize=7)
    title = f"Call {linkedid}"
    if dropped:
        title += f" (first {MAX_STEPS} steps; {dropped} more not drawn)"
    ax.set_title(title, fontsize=9, pad=24)
    fig.tight_layout()
    return fig


def _short(lane: str) -> str:
    """A lane label that fits: ``Local/x@ctx-0000000f;1`` -> two lines."""
    return lane.replace("@", "\n@", 1) if len(lane) > 20 else lane


def timeline_phases(df: pd.DataFrame) -> pd.DataFrame:
    """The bars of :func:`timeline`: ``linkedid``, ``phase``, ``start``, ``end``.

    From :func:`calls`: ``waiting in queue`` from the call's start for its
    ``wait_time``; ``ringing`` from then to ``answer`` (or, never answered,
    to the end of a call that did not queue); ``talking`` from ``answer`` to
    ``end`` (or to the capture's last event while in progress). Drawn over
    those, from the events, as :func:`calls` counts them: ``parked``
    (``ParkedCall`` to the parkee's next parking event), ``in conference``
    (``ConfbridgeJoin`` to ``ConfbridgeLeave``) and ``on hold`` (``Hold`` to
    ``Unhold``, or to that channel's ``Hangup``).
    """
    table = calls(df)
    last = df["received_at"].max() if "received_at" in df and len(df) else pd.NaT
    bars: list[tuple[str, str, pd.Timestamp, pd.Timestamp]] = []
    for linkedid, call in table.iterrows():
        start, answer, end = call["start"], call["answer"], call["end"]
        end = last if pd.isna(end) else end
        cursor = start
        wait = call["wait_time"]
        if pd.notna(wait) and wait > 0:
            cursor = start + pd.Timedelta(seconds=float(wait))
            bars.append((str(linkedid), "waiting in queue", start, cursor))
        ring_end = answer if pd.notna(answer) else (end if pd.isna(call["queue"]) else cursor)
        if pd.notna(ring_end) and ring_end > cursor:
            bars.append((str(linkedid), "ringing", cursor, ring_end))
        if pd.notna(answer) and pd.notna(end) and end > answer:
            bars.append((str(linkedid), "talking", answer, end))
    bars.extend(_overlays(df, last))
    out = pd.DataFrame(bars, columns=["linkedid", "phase", "start", "end"])
    out = out[out["linkedid"].isin(table.index.astype(str))]
    return out.sort_values(["linkedid", "start"], kind="stable").reset_index(drop=True)


#: Overlay phases: the event that opens one, the events that close it.
#: Parking's closing events are res_parking's (``UnParkedCall`` in
#: ``day.ami``, caller 2009; the give-up/time-out ones per its AMI docs).
OVERLAYS = {
    "parked": ("ParkedCall", ("UnParkedCall", "ParkedCallGiveUp", "ParkedCallTimeOut")),
    "in conference": ("ConfbridgeJoin", ("ConfbridgeLeave", "Hangup")),
    "on hold": ("Hold", ("Unhold", "Hangup")),
}


def _overlays(
    df: pd.DataFrame, last: pd.Timestamp
) -> list[tuple[str, str, pd.Timestamp, pd.Timestamp]]:
    """Open-to-close intervals per channel (``uniqueid``) of the overlay phases."""
    ev = events(df)
    ev = ev[ev["linkedid"].notna()].copy()
    if ev.empty:
        return []
    ev["call"] = call_ids(ev)
    wanted = {name for opener, closers in OVERLAYS.values() for name in (opener, *closers)}
    out = []
    for phase, (opener, closers) in OVERLAYS.items():
        since: dict[str, tuple[str, pd.Timestamp]] = {}
        for uniqueid, name, call, at in ev.loc[
            ev["event"].isin(wanted).fillna(False).astype(bool),
            ["uniqueid", "event", "call", "at"],
        ].itertuples(index=False):
            if name == opener:
                since.setdefault(str(uniqueid), (str(call), at))
            elif name in closers and str(uniqueid) in since:
                begin_call, begin = since.pop(str(uniqueid))
                out.append((begin_call, phase, begin, at))
        out.extend((c, phase, begin, last) for c, begin in since.values())
    return out


def timeline(df: pd.DataFrame) -> Figure:
    """Many calls as horizontal bars on one time axis, one bar row per call.

    Phases (colours in :data:`PHASE_COLOURS`) are :func:`timeline_phases`;
    each row is labelled ``caller -> callee`` from :func:`calls`. At most
    :data:`MAX_CALLS` calls are drawn, the first to start; the title says
    how many more there were.
    """
    table = calls(df)
    dropped = max(0, len(table) - MAX_CALLS)
    table = table.iloc[:MAX_CALLS]
    order = list(table.index.astype(str))
    bars = timeline_phases(df)
    bars = bars[bars["linkedid"].isin(order)]
    fig = _new_figure(10.0, max(2.5, ROW_INCHES * len(order) + 1.5))
    ax = fig.add_subplot()
    for phase, colour in PHASE_COLOURS.items():
        part = bars[bars["phase"] == phase]
        for _, bar in part.iterrows():
            y = order.index(bar["linkedid"])
            height = 0.4 if phase == "on hold" else 0.7
            ax.barh(
                y,
                bar["end"] - bar["start"],
                left=bar["start"],
                height=height,
                color=colour,
                label=phase,
                gid=f"{bar['linkedid']}:{phase}",
            )
    labels = [f"{c} -> {e}" for c, e in zip(table["caller"], table["callee"], strict=True)]
    ax.set_yticks(range(len(order)), labels, fontsize=7)
    if order:
        ax.set_ylim(len(order) - 0.5, -0.5)
    else:
        ax.set_title("no calls in this capture", fontsize=9)
    if dropped:
        ax.set_title(
            f"first {MAX_CALLS} calls; {dropped} more not drawn (plot a shorter slice)",
            fontsize=9,
        )
    ax.set_xlabel("time (UTC)")
    # hours:minutes:seconds, not matplotlib's default day-and-hour ticks; the
    # module is loaded by now (_new_figure imported matplotlib.figure).
    from matplotlib.dates import DateFormatter

    # DateFormatter.__init__ has no annotations in matplotlib 3.11
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M:%S", tz="UTC"))  # type: ignore[no-untyped-call]
    handles, names = ax.get_legend_handles_labels()
    unique = dict(zip(names, handles, strict=True))
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize=7, loc="upper right")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
