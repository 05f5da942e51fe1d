"""StateDashboard: a live ipywidgets view of a tracked PBX (issue 13).

Theory of operation, as in :mod:`amilab.notebook.monitor`: the I/O thread
only updates the model (:class:`amilab.state.LiveState` applies events
there). The kernel's thread owns the widget: a timer on the kernel's loop
(a ``call_later`` chain, every ``refresh`` seconds) asks for one
:class:`~amilab.state.Snapshot` (rows copied on the I/O thread between two
events, one short hop), renders three panes (active calls with their
duration ticking, the queue board with waiting callers and member status,
endpoint reachability) and assigns the result to ONE ``HTML`` widget inside
ONE ``hold_sync()``: at most one comm message per refresh, whatever the
event rate. Rendering reads plain tuples (no pandas) and shows at most
``rows`` calls, longest first, so a refresh at 1,000 channels costs a copy
and a sort, not a table of 1,000 rows.

Outside a kernel there is no running loop when the dashboard is built: call
:meth:`StateDashboard.refresh` yourself, or :meth:`start_timer` with a loop.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import ipywidgets as widgets

from amilab.notebook.refresh import RefreshTimer, running_loop
from amilab.state.snapshot import Snapshot
from amilab.state.tables import COLUMNS

__all__ = ["StateDashboard", "render"]

log = logging.getLogger("amilab.dashboard")

#: Seconds between refreshes: durations tick once a second, 2 refreshes/s
#: keeps them smooth at two comm messages a second.
DEFAULT_REFRESH = 0.5
#: Calls listed (longest first); the count line gives the total.
DEFAULT_ROWS = 25
#: Text longer than this is cut: event data is untrusted, one huge header must
#: not make every refresh huge.
MAX_CELL_CHARS = 60
#: QueueMember ``Status`` values (include/asterisk/devicestate.h ast_device_state).
MEMBER_STATUS = {
    0: "unknown",
    1: "not in use",
    2: "in use",
    3: "busy",
    4: "invalid",
    5: "unavailable",
    6: "ringing",
    7: "ring+inuse",
    8: "on hold",
}

_STYLE = """<style>
.amilab-dash table{border-collapse:collapse;font-size:12px;margin:4px 12px 4px 0}
.amilab-dash td,.amilab-dash th{padding:1px 6px;text-align:left;border-bottom:1px solid #ddd}
.amilab-dash .amilab-panes{display:flex;flex-wrap:wrap;align-items:flex-start}
.amilab-dash .bad{color:#b00}
</style>"""

_CH = {name: i for i, name in enumerate(COLUMNS["channels"])}
_QM = {name: i for i, name in enumerate(COLUMNS["queue_members"])}
_QC = {name: i for i, name in enumerate(COLUMNS["queue_callers"])}
_EP = {name: i for i, name in enumerate(COLUMNS["endpoints"])}


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return html.escape(text)


def _hms(seconds: float) -> str:
    s = max(int(seconds), 0)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _table(title: str, head: tuple[str, ...], rows: Sequence[tuple[object, ...]], cls: str) -> str:
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<div class="{cls}"><b>{title}</b><table><tr>{header}</tr>{body}</table></div>'


def render_calls(snap: Snapshot, now: float, rows: int) -> str:
    channels = sorted(snap.rows["channels"], key=lambda r: r[_CH["created"]] or now)
    shown = [
        (
            r[_CH["channel"]],
            r[_CH["state_desc"]],
            _hms(now - (r[_CH["created"]] or now)),
            r[_CH["application"]],
            r[_CH["bridge"]] and str(r[_CH["bridge"]])[:8],
        )
        for r in channels[:rows]
    ]
    title = f"Active channels: {len(channels)}" + (
        f" (longest {rows})" if len(channels) > rows else ""
    )
    return _table(title, ("channel", "state", "duration", "app", "bridge"), shown, "amilab-calls")


def render_queues(snap: Snapshot, now: float) -> str:
    waiting: dict[str, list[float]] = {}
    for r in snap.rows["queue_callers"]:
        waiting.setdefault(r[_QC["queue"]], []).append(now - (r[_QC["joined"]] or now))
    members = [
        (
            r[_QM["queue"]],
            r[_QM["name"]] or r[_QM["interface"]],
            MEMBER_STATUS.get(r[_QM["status"]], r[_QM["status"]]),
            "paused" + (f" ({r[_QM['paused_reason']]})" if r[_QM["paused_reason"]] else "")
            if r[_QM["paused"]]
            else "",
            "in call" if r[_QM["in_call"]] else "",
            r[_QM["calls_taken"]],
        )
        for r in sorted(snap.rows["queue_members"], key=lambda r: (r[0], r[1]))
    ]
    queues = [(name, len(w), _hms(max(w)) if w else "") for name, w in sorted(waiting.items())]
    return _table(
        "Queues: waiting callers", ("queue", "waiting", "longest wait"), queues, "amilab-queues"
    ) + _table(
        "Queue members",
        ("queue", "member", "status", "paused", "call", "taken"),
        members,
        "amilab-members",
    )


def render_endpoints(snap: Snapshot) -> str:
    rows = [
        (r[_EP["endpoint"]], r[_EP["device_state"]], "yes" if r[_EP["reachable"]] else "no")
        for r in sorted(snap.rows["endpoints"])
    ]
    return _table("Endpoints", ("endpoint", "device", "reachable"), rows, "amilab-endpoints")


def render(snap: Snapshot, status: str, rows: int = DEFAULT_ROWS) -> str:
    """The dashboard's HTML for one snapshot (pure: tests call it directly)."""
    now = snap.taken_at
    return (
        f'{_STYLE}<div class="amilab-status">{html.escape(status)}</div>'
        f'<div class="amilab-panes">{render_calls(snap, now, rows)}'
        f"{render_queues(snap, now)}{render_endpoints(snap)}</div>"
    )


class StateDashboard:
    """A live dashboard of ``state`` (a :class:`amilab.state.SessionState`).

    ``loop`` runs the refresh timer (default: the running loop, i.e. the
    kernel's; none outside a kernel). Close it with :meth:`close`.
    """

    def __init__(
        self,
        state: Any,
        *,
        rows: int = DEFAULT_ROWS,
        refresh: float = DEFAULT_REFRESH,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if rows < 1:
            raise ValueError(f"rows must be at least 1, got {rows}")
        if refresh <= 0:
            raise ValueError(f"refresh must be a positive number of seconds, got {refresh!r}")
        self.state, self.rows, self.interval, self._clock = state, rows, refresh, clock
        self.view = widgets.HTML()
        self.view.add_class("amilab-view")
        self.widget = widgets.VBox([self.view])
        self.widget.add_class("amilab-dash")
        self.refreshes = 0
        self._timer = RefreshTimer(lambda: self.refresh(), refresh, "StateDashboard")
        self.refresh()
        target = loop or running_loop()
        if target is not None:
            self.start_timer(target)

    def _status(self, snap: Snapshot) -> str:
        synced = self.state.synced_at
        when = datetime.fromtimestamp(synced, UTC).strftime("%H:%M:%S") if synced else "never"
        resyncs = self.state.resyncs
        last = f", last: {resyncs[-1].reason}" if len(resyncs) > 1 else ""
        return (
            f"{len(snap.rows['channels'])} channels, {len(snap.rows['bridges'])} bridges, "
            f"{len(snap.rows['queue_callers'])} waiting; synced {when} UTC, "
            f"resyncs {len(resyncs) - 1}{last}"
        )

    def refresh(self) -> None:
        """Render one snapshot into the view: one ``hold_sync()``, at most one message."""
        snap = self.state.snapshot()
        text = render(snap, self._status(snap), self.rows)
        with self.view.hold_sync():
            self.view.value = text
        self.refreshes += 1

    # -- kernel side: the same refresh timer as the monitor's -------------------------
    def start_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        """Refresh every ``refresh`` seconds on ``loop``."""
        self._timer.interval = self.interval
        self._timer.start(loop)

    def stop_timer(self) -> None:
        self._timer.stop()

    @property
    def timer_running(self) -> bool:
        return self._timer.running

    def close(self) -> None:
        """Stop refreshing and close the widget (the tracker keeps running)."""
        self.stop_timer()
        self.widget.close()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<StateDashboard refreshes={self.refreshes} every {self.interval} s>"
