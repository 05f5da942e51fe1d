"""%ami plot ladder / timeline over the last %ami monitor's recording (simulator)."""

from __future__ import annotations

import time

import matplotlib
import pytest
from IPython.core.error import UsageError
from matplotlib.figure import Figure

from amilab.analysis import calls
from amilab.notebook import commands as cmds

matplotlib.use("Agg")

#: Seconds to wait for the simulator's traffic to finish one call.
WAIT = 10.0


def test_parse_plot_forms():
    assert cmds.parse_line("plot timeline") == cmds.Plot("timeline")
    assert cmds.parse_line("plot ladder 1700.5") == cmds.Plot("ladder", "1700.5")
    for bad in ("plot", "plot ladder", "plot timeline x", "plot pie"):
        with pytest.raises(cmds.CommandError, match="usage: %ami plot ladder LINKEDID"):
            cmds.parse_line(bad)
    assert "%ami plot ladder LINKEDID" in cmds.HELP


def test_plot_without_a_recording_says_how_to_record(ip):
    ip.run_line_magic("ami", "sim")
    with pytest.raises(UsageError, match="nothing recorded yet: start %ami monitor"):
        ip.run_line_magic("ami", "plot timeline")


def test_plot_draws_the_monitors_recording(ip, magics):
    ip.run_line_magic("ami", "sim --traffic 20")
    monitor = ip.run_line_magic("ami", "monitor")
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        table = calls(monitor.df)
        if table["complete"].any():
            break
        time.sleep(0.1)
    done = table[table["complete"]]
    assert len(done) > 0, "the simulator's traffic finished no call"
    fig = ip.run_line_magic("ami", "plot timeline")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.get_yticklabels()) >= len(table)
    linkedid = done.index[0]
    ladder = ip.run_line_magic("ami", f"plot ladder {linkedid}")
    (ax,) = ladder.axes
    assert any(t.get_text().startswith("Hangup ") for t in ax.texts)
    assert ax.get_title() == f"Call {linkedid}"
    with pytest.raises(UsageError, match="no call with Linkedid 'nope'"):
        ip.run_line_magic("ami", "plot ladder nope")
    ip.run_line_magic("ami", "disconnect")
