"""%ami state and %ami dashboard: the live PBX model in a real IPython shell."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from IPython.core.error import UsageError

from tests.notebook.conftest import SECRET, USER


def test_state_returns_live_tables(ip, sim, monkeypatch):
    """%ami state channels is a DataFrame that follows a new call; other tables by name."""
    monkeypatch.setenv("AMI_SECRET", SECRET)
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")
    before = ip.run_line_magic("ami", "state")
    assert isinstance(before, pd.DataFrame)
    ip.run_line_magic(
        "ami", "Originate Channel=Local/100@amilab Application=Wait Data=5 Async=true"
    )
    end = time.monotonic() + 5
    while ip.run_line_magic("ami", "state channels").empty and time.monotonic() < end:
        time.sleep(0.05)
    assert not ip.run_line_magic("ami", "state channels").empty
    members = ip.run_line_magic("ami", "state queue_members")
    assert isinstance(members, pd.DataFrame) and len(members) > 0


def test_state_refuses_an_unknown_table(ip, sim, monkeypatch):
    """A table the model does not have is a one-line usage error naming the tables."""
    with pytest.raises(UsageError, match="channels"):
        ip.run_line_magic("ami", "state calls")


def test_dashboard_is_a_widget_closed_with_the_session(ip, sim, monkeypatch):
    """%ami dashboard returns the StateDashboard; disconnect closes it."""
    from amilab.notebook.dashboard import StateDashboard

    monkeypatch.setenv("AMI_SECRET", SECRET)
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")
    board = ip.run_line_magic("ami", "dashboard")
    assert isinstance(board, StateDashboard)
    ip.run_line_magic("ami", "disconnect")
