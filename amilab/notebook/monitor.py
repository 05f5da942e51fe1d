"""EventMonitor: a live ipywidgets view of a session's events, with a recorder behind it.

Theory of operation. Two threads touch a monitor, and they share only plain
buffers:

* amilab's I/O thread calls :meth:`EventMonitor._on_event` for every matching
  event. It appends to the :class:`~amilab.recorder.EventRecorder` and to a
  :class:`_Tap` (a small ring of recent events plus per-name counters,
  changed by atomic single-writer operations) and returns. It never touches
  a widget, so a flood costs the notebook nothing but those appends.
* The kernel's thread owns the widgets. A timer on the kernel's asyncio loop
  (a ``call_later`` chain, every ``refresh`` seconds) snapshots the buffers,
  renders the last ``rows`` events and the top ``top`` event types, and
  assigns the result to ONE ``HTML`` widget inside ONE ``hold_sync()``: at
  most one comm message per refresh, whatever the event rate. Rendering
  reads a bounded ring and a dict with one entry per event *type*, so its
  cost does not grow with the rate.

Busy cells: ipykernel runs cells on its loop, so while a cell runs plain
code no refresh happens and the display freezes; recording goes on, on the
I/O thread, and the first refresh after the cell shows everything (events/s
is computed from counter deltas over real elapsed time, so it stays right
across the gap). A cell that awaits (``await asyncio.sleep(5)``) leaves the
loop free and the display live (the browser test pins this); a cell in
``time.sleep(5)`` does not.

Pause unsubscribes the monitor from the session: while paused nothing is
counted, shown or recorded (events in that time are not captured, and not
counted as dropped either). Start subscribes again. Clear empties the
table, the counters and the recorder.

Outside a kernel (scripts, tests) there is no running loop when the monitor
is built, so no timer starts: call :meth:`EventMonitor.refresh` yourself, or
:meth:`EventMonitor.start_timer` with a loop.
"""

from __future__ import annotations

import asyncio
import fnmatch
import heapq
import html
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from amilab.notebook.refresh import RefreshTimer, running_loop
from amilab.protocol.message import Message

if TYPE_CHECKING:
    import pandas as pd

    from amilab.recorder import EventRecorder

__all__ = ["EventMonitor"]

log = logging.getLogger("amilab.monitor")

#: Seconds between display refreshes: 4/s looks live and costs at most 4 comm
#: messages a second, whatever the event rate.
DEFAULT_REFRESH = 0.25
#: Rows in the recent-events table.
DEFAULT_ROWS = 50
#: Event types listed in the counters table (the rest are summed in one line).
DEFAULT_TOP = 15
#: Recent events kept for the table, newest last. A display filter looks this
#: far back for matching rows, so a rare event type still fills its table
#: unless the flood of other events has pushed it out.
RECENT_LOOKBACK = 2_000
#: Refresh ticks in the events/s window (8 ticks = 2 s at the default rate):
#: long enough to smooth bursts, short enough to follow a change of rate.
RATE_WINDOW_TICKS = 8
#: Event values longer than this are cut in the table; event data is untrusted
#: and one huge header must not make every refresh huge.
MAX_CELL_CHARS = 120
#: Header columns of the recent-events table, after time and event name.
DEFAULT_COLUMNS = ("Channel", "Uniqueid", "CallerIDNum", "Cause-txt")

_STYLE = """<style>
.amilab-view table {border-collapse: collapse; font-size: 12px; margin: 2px 12px 2px 0}
.amilab-view th, .amilab-view td {padding: 1px 6px; line-height: 1.3; text-align: left;
  white-space: nowrap}
.amilab-view th {border-bottom: 1px solid #999}
.amilab-view td.n {text-align: right; font-variant-numeric: tabular-nums}
.amilab-view .amilab-status {font-family: monospace; margin: 2px 0 6px 0}
.amilab-view .amilab-panes {display: flex; align-items: flex-start}
.amilab-view .amilab-events-box {max-height: 420px; overflow-y: auto}
</style>"""


# -- buffers shared with the I/O thread -----------------------------------------------


@dataclass(frozen=True, slots=True)
class _Snapshot:
    received: int
    counts: dict[str, int]

    @property
    def shown(self) -> int:
        """Events counted since the last Clear."""
        return sum(self.counts.values())

    recent: list[tuple[float, str, Message]]


class _Tap:
    """What the I/O thread appends to: total, per-name counts, a ring of recent events.

    Lock-free, single writer: only the I/O thread calls :meth:`feed`, and each
    shared structure is changed by one atomic operation (a dict item store, a
    ``deque.append``, an int rebinding; atomic under the GIL, and guarded by
    per-object locks in free-threaded builds). A lock here cost more than the
    rest of ``feed`` together. :meth:`clear` *replaces* the counts dict, so an
    event racing with Clear is counted in the discarded dict or the new one,
    never half in each. ``received`` only grows (Clear leaves it), so the
    kernel side can compute a rate from its deltas across a Clear.
    """

    def __init__(self, lookback: int) -> None:
        self.received = 0
        self.counts: dict[str, int] = {}
        self.recent: deque[tuple[float, str, Message]] = deque(maxlen=lookback)

    def feed(self, msg: Message) -> None:
        """I/O thread: count and keep one event."""
        name = msg.name or "?"
        counts = self.counts
        counts[name] = counts.get(name, 0) + 1
        self.recent.append((time.time(), name, msg))
        self.received += 1

    def snapshot(self) -> _Snapshot:
        """Kernel side: copies made by single C calls (cost bounded by ring and type count)."""
        return _Snapshot(self.received, self.counts.copy(), list(self.recent))

    def clear(self) -> None:
        self.counts = {}
        self.recent.clear()


class _RateMeter:
    """Events/s from the total counter, over a sliding window of refresh ticks."""

    def __init__(self, ticks: int = RATE_WINDOW_TICKS) -> None:
        self._samples: deque[tuple[float, int]] = deque(maxlen=ticks + 1)

    def sample(self, now: float, total: int) -> float:
        """Record ``total`` at ``now``; return the mean rate across the window."""
        self._samples.append((now, total))
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def reset(self) -> None:
        self._samples.clear()


# -- the display filter -------------------------------------------------------------------


class _NameFilter:
    """Glob patterns on event names (case-insensitive), parsed from the filter box text.

    Blank text matches everything. Results are cached per name, since a
    capture has few distinct event types.
    """

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.patterns = tuple(p.lower() for p in text.replace(",", " ").split())
        self._cache: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        hit = self._cache.get(name)
        if hit is None:
            lname = name.lower()
            hit = not self.patterns or any(fnmatch.fnmatchcase(lname, p) for p in self.patterns)
            self._cache[name] = hit
        return hit


# -- rendering (pure functions: snapshot in, escaped HTML out) ------------------------------


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return html.escape(text, quote=True)


def render_status(
    *, state: str, connected: bool | None, rate: float, received: int, stats: Mapping[str, Any]
) -> str:
    """The status line; numbers also go in ``data-`` attributes for scripts and tests.

    ``received`` counts events since the last Clear; ``recorded`` and
    ``dropped`` come from the recorder's stats.
    """
    link = {True: "● connected", False: "○ disconnected", None: "–"}[connected]
    recorded, dropped = stats.get("recorded"), stats.get("dropped")
    return (
        f'<div class="amilab-status" data-state="{state}" data-received="{received}" '
        f'data-rate="{rate:.1f}" data-recorded="{_cell(recorded)}" '
        f'data-dropped="{_cell(dropped)}">'
        f"{link} · {state} · {rate:,.1f} events/s · received {received:,} · "
        f"recorded {_fmt(recorded)} · dropped {_fmt(dropped)}</div>"
    )


def _fmt(n: object) -> str:
    return f"{n:,}" if isinstance(n, int) else _cell(n if n is not None else "–")


def render_counters(counts: Mapping[str, int], keep: Callable[[str], bool], top: int) -> str:
    """The ``top`` most frequent types passing the filter (ties by name), then the rest."""
    shown = {name: n for name, n in counts.items() if keep(name)}
    best = heapq.nsmallest(top, shown.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [
        f'<tr data-event="{_cell(name)}"><td>{_cell(name)}</td><td class="n">{n:,}</td></tr>'
        for name, n in best
    ]
    rest = len(shown) - len(best)
    if rest > 0:
        others = sum(shown.values()) - sum(n for _, n in best)
        rows.append(f"<tr><td><i>{rest} more types</i></td><td class='n'>{others:,}</td></tr>")
    total = sum(shown.values())
    return (
        f'<table class="amilab-counters" data-total="{total}">'
        f"<thead><tr><th>event</th><th>count</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_table(
    recent: Sequence[tuple[float, str, Message]],
    keep: Callable[[str], bool],
    rows: int,
    columns: Sequence[str],
) -> str:
    """The newest ``rows`` events that pass the filter, newest first, every value escaped."""
    picked: list[tuple[float, str, Message]] = []
    for item in reversed(recent):
        if keep(item[1]):
            picked.append(item)
            if len(picked) >= rows:
                break
    head = "".join(f"<th>{_cell(c)}</th>" for c in ("time", "event", *columns))
    body = "".join(_row(t, name, msg, columns) for t, name, msg in picked)
    return (
        f'<table class="amilab-events" data-rows="{len(picked)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _row(t: float, name: str, msg: Message, columns: Sequence[str]) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"
    cells = "".join(f"<td>{_cell(msg.get(c))}</td>" for c in columns)
    return f"<tr><td>{stamp}</td><td>{_cell(name)}</td>{cells}</tr>"


def _stats_of(recorder: Any) -> dict[str, Any]:
    """The recorder's ``stats`` as a dict, whether it is a mapping or an object."""
    stats = getattr(recorder, "stats", None)
    if stats is None:
        return {}
    if isinstance(stats, Mapping):
        return dict(stats)
    return {k: getattr(stats, k, None) for k in ("recorded", "dropped")}


# -- the widget -------------------------------------------------------------------------


class EventMonitor:
    """A live monitor of ``session``'s events: controls, status, counters and a table.

    ``patterns`` choose what is captured (the session subscription and the
    recorder, which the monitor feeds itself: a ``recorder=`` given already
    attached is detached first, so Pause pauses it too). The filter box only
    narrows what is shown (table and counters): globs on the event name,
    separated by spaces or commas, applied from the next refresh. The
    capture is ``monitor.df`` (from ``monitor.recorder``). See the module
    docstring for the threading model, Pause semantics and busy cells.

    A monitor lives until :meth:`close` (its subscription keeps it alive), so
    re-running the cell that built one leaves the old one counting: close it.

    ``session`` is anything with ``on(patterns, callback)`` returning a
    subscription with ``cancel()``: a :class:`~amilab.Session`, or a fake in
    tests. ``loop`` runs the refresh timer (default: the running loop, i.e.
    the kernel's; none outside a kernel). ``clock`` times the events/s window.
    """

    def __init__(
        self,
        session: Any,
        patterns: str | Iterable[str] = ("*",),
        *,
        rows: int = DEFAULT_ROWS,
        refresh: float = DEFAULT_REFRESH,
        recorder: EventRecorder | None = None,
        max_events: int | None = None,
        start: bool = True,
        top: int = DEFAULT_TOP,
        columns: Sequence[str] = DEFAULT_COLUMNS,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rows < 1 or top < 1:
            raise ValueError(f"rows and top must be at least 1, got rows={rows}, top={top}")
        if refresh <= 0:
            raise ValueError(f"refresh must be a positive number of seconds, got {refresh!r}")
        self.session = session
        self.patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns) or ("*",)
        self.rows, self.top, self.interval = rows, top, refresh
        self.columns = tuple(columns)
        if recorder is not None and getattr(recorder, "attached", False):
            recorder.detach()  # the monitor feeds it, so that Pause pauses it too
        self.recorder = recorder if recorder is not None else self._new_recorder(max_events)
        self._record = self.recorder.record
        self._tap = _Tap(max(RECENT_LOOKBACK, rows))
        self._rate = _RateMeter()
        self._clock = clock
        self._filter = _NameFilter()
        self._sub: Any = None
        self._paused = True
        self._closed = False
        # Looked up at each tick, so a replaced refresh (a subclass, a test) is the one called.
        self._timer = RefreshTimer(lambda: self.refresh(), refresh, "EventMonitor")
        self.refreshes = 0
        self._build_widgets()
        if start:
            self.start()
        else:
            self.refresh()
        timer_loop = loop or running_loop()
        if timer_loop is not None:
            self.start_timer(timer_loop)

    def _new_recorder(self, max_events: int | None) -> EventRecorder:
        from amilab.recorder import EventRecorder

        options: dict[str, Any] = {} if max_events is None else {"max_events": max_events}
        return EventRecorder(None, self.patterns, **options)

    def _build_widgets(self) -> None:
        self.start_button = widgets.Button(description="Start", icon="play", tooltip="resume")
        self.pause_button = widgets.Button(description="Pause", icon="pause", tooltip="pause")
        self.clear_button = widgets.Button(description="Clear", icon="trash", tooltip="clear")
        self.filter_box = widgets.Text(
            placeholder="filter: e.g. Hangup New*  (blank: all)",
            continuous_update=True,
            layout=widgets.Layout(width="320px"),
        )
        self.view = widgets.HTML()
        for w, cls in (
            (self.start_button, "amilab-start"),
            (self.pause_button, "amilab-pause"),
            (self.clear_button, "amilab-clear"),
            (self.filter_box, "amilab-filter"),
            (self.view, "amilab-view"),
        ):
            w.add_class(cls)
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.pause())
        self.clear_button.on_click(lambda _: self.clear())
        controls = widgets.HBox(
            [self.start_button, self.pause_button, self.clear_button, self.filter_box]
        )
        self.widget = widgets.VBox([controls, self.view])
        self.widget.add_class("amilab-monitor")

    # -- I/O thread ------------------------------------------------------------------
    def _on_event(self, msg: Message) -> None:
        """I/O thread: append to the buffers only; never touch a widget."""
        if self._paused:
            return
        self._tap.feed(msg)
        self._record(msg)

    # -- kernel side: controls ---------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def state(self) -> str:
        """``"running"``, ``"paused"`` or ``"closed"``."""
        return "closed" if self._closed else "paused" if self._paused else "running"

    def start(self) -> None:
        """Subscribe and resume counting, showing and recording."""
        if self._closed:
            raise RuntimeError("this EventMonitor is closed; create a new one")
        if self._sub is None:
            self._rate.reset()  # the paused time must not dilute the new rate
            self._paused = False
            self._sub = self.session.on(self.patterns, self._on_event)
        self._sync_buttons()
        self.refresh()

    def pause(self) -> None:
        """Unsubscribe: nothing is counted, shown or recorded until :meth:`start`."""
        self._paused = True
        self._unsubscribe()
        self._sync_buttons()
        self.refresh()

    def clear(self) -> None:
        """Empty the table, the counters and the recorder."""
        self._tap.clear()
        self.recorder.clear()
        self.refresh()

    def close(self) -> None:
        """Stop the timer and detach from the session; the last view stays displayed."""
        if self._closed:
            return
        self.stop_timer()
        self._paused = True
        self._unsubscribe()
        self._closed = True
        self.refresh()
        for w in (self.start_button, self.pause_button, self.clear_button, self.filter_box):
            w.disabled = True

    def _unsubscribe(self) -> None:
        sub, self._sub = self._sub, None
        if sub is None:
            return
        io = getattr(self.session, "io", None)
        if io is not None and getattr(io, "alive", False):
            io.call(sub.cancel)  # the registry belongs to the I/O thread
        else:
            sub.cancel()

    def _sync_buttons(self) -> None:
        self.start_button.disabled = not self._paused
        self.pause_button.disabled = self._paused

    # -- kernel side: refresh ----------------------------------------------------------
    def refresh(self) -> None:
        """Render the buffers into the view: one ``hold_sync()``, at most one message."""
        snap = self._tap.snapshot()
        rate = self._rate.sample(self._clock(), snap.received)
        text = self.filter_box.value
        if text != self._filter.text:
            self._filter = _NameFilter(text)
        keep = self._filter
        status = render_status(
            state=self.state,
            connected=getattr(self.session, "connected", None),
            rate=0.0 if self._paused else rate,
            received=snap.shown,
            stats=_stats_of(self.recorder),
        )
        counters = render_counters(snap.counts, keep, self.top)
        table = render_table(snap.recent, keep, self.rows, self.columns)
        html_text = (
            f'{_STYLE}{status}<div class="amilab-panes">{counters}'
            f'<div class="amilab-events-box">{table}</div></div>'
        )
        with self.view.hold_sync():
            self.view.value = html_text
        self.refreshes += 1

    # -- kernel side: timer ------------------------------------------------------------
    def start_timer(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Refresh every ``refresh`` seconds on ``loop`` (default: the running loop).

        In a kernel this is the kernel's own loop, so refreshes run on the
        kernel's thread between cells. From another thread, pass that
        thread's loop; refreshes then run there.
        """
        target = loop or running_loop()
        if target is None:
            raise RuntimeError("no running asyncio loop here: pass loop=, or call refresh()")
        self._timer.interval = self.interval
        self._timer.start(target)

    def stop_timer(self) -> None:
        """Stop refreshing (the buffers keep filling while subscribed)."""
        self._timer.stop()

    @property
    def timer_running(self) -> bool:
        return self._timer.running

    # -- data and display --------------------------------------------------------------
    @property
    def df(self) -> pd.DataFrame:
        """The capture so far, as a DataFrame (from the recorder)."""
        return self.recorder.df

    def to_frame(self) -> pd.DataFrame:
        return self.recorder.to_frame()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        patterns = " ".join(self.patterns)
        return f"<EventMonitor {self.state} [{patterns}] received={self._tap.received}>"

    def __enter__(self) -> EventMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
