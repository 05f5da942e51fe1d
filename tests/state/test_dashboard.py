"""StateDashboard: renders calls, queues and endpoints from a snapshot; one refresh, one message."""

from __future__ import annotations

import re
import time

import amilab
import amilab.sim
from amilab import Message
from amilab.notebook.dashboard import StateDashboard, render
from amilab.state import StateModel, track_session
from amilab.state.snapshot import take

NEWCHANNEL = (
    "Event: Newchannel\r\nChannel: PJSIP/100-{n:08x}\r\nChannelState: 6\r\n"
    "ChannelStateDesc: Up\r\nCallerIDNum: 100\r\nCallerIDName: {name}\r\n"
    "Context: amilab\r\nExten: 102\r\nPriority: 1\r\nUniqueid: dash.{n}\r\nLinkedid: dash.{n}"
)


def _model(n: int, name: str = "Alice") -> StateModel:
    model = StateModel()
    for i in range(n):
        model.apply(Message(NEWCHANNEL.format(n=i, name=name).encode()), 1000.0 + i)
    return model


def test_thousand_channels_render_the_longest_rows_and_the_total() -> None:
    """1,000 channels: the count says 1000, only `rows` rows are drawn, longest first."""
    snap = take(_model(1000), 2000.0)
    text = render(snap, "status", rows=25)
    assert "Active channels: 1000 (longest 25)" in text
    calls = text.split('class="amilab-calls"')[1].split("</table>")[0]
    assert calls.count("<tr>") == 26  # header + 25
    assert "PJSIP/100-00000000" in calls and "0:16:40" in calls  # created at 1000, now 2000


def test_untrusted_text_is_escaped_and_cut() -> None:
    """Markup in a caller name is escaped; a huge value is cut, not drawn in full."""
    snap = take(_model(1, name="<img src=x onerror=alert(1)>" + "x" * 500), 1001.0)
    text = render(snap, "<b>status</b>")
    assert "<img" not in text and "&lt;b&gt;status" in text
    assert "x" * 100 not in text


def test_dashboard_over_the_simulator_refreshes_in_one_message() -> None:
    """Against the simulator with traffic: each refresh sets the view once, with live counts."""
    with amilab.sim.start(traffic=20.0, seed=3) as sim, amilab.connect(sim) as session:
        state = track_session(session)
        try:
            time.sleep(1.0)
            dash = StateDashboard(state, rows=10)
            assert not dash.timer_running  # no running loop here
            changes: list[object] = []
            dash.view.observe(changes.append, names="value")
            time.sleep(1.1)  # durations tick: the next refresh has new text
            dash.refresh()
            assert dash.refreshes == 2 and len(changes) == 1
            count = int(re.search(r"(\d+) channels", dash.view.value)[1])
            assert count > 0
            assert "Queue members" in dash.view.value and "Endpoints" in dash.view.value
            assert "synced" in dash.view.value and "resyncs 0" in dash.view.value
            dash.close()
        finally:
            state.stop()
