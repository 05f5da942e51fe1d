"""Issue 11 section 3: the first hour with the magics, each point in a real IPython shell."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from IPython.core.error import UsageError


def _html(ip, value) -> str:
    """What a notebook frontend gets as HTML (the terminal test shell has HTML off)."""
    formatter = ip.display_formatter.formatters["text/html"]
    enabled, formatter.enabled = formatter.enabled, True
    try:
        return formatter(value) or ""
    finally:
        formatter.enabled = enabled


# -- tables ----------------------------------------------------------------------
def test_tables_drop_constant_event_and_actionid(ip, magics):
    """List items lose their constant Event and ActionID columns; _ami keeps everything."""
    ip.run_line_magic("ami", "sim")
    frame = ip.run_line_magic("ami", "PJSIPShowEndpoints")
    assert "Event" not in frame and "ActionID" not in frame
    assert list(frame.columns[:2]) == ["ObjectType", "ObjectName"]
    full = ip.user_ns["_ami"].to_frame()
    assert {"Event", "ActionID"} <= set(full.columns)
    ping = ip.run_line_magic("ami", "Ping")
    assert "ActionID" not in ping and ping["Response"].tolist() == ["Success"]


def test_setting_keeps_the_constant_columns(ip):
    """%config AmiMagics.keep_constant_columns = True keeps Event and ActionID."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("config", "AmiMagics.keep_constant_columns = True")
    frame = ip.run_line_magic("ami", "PJSIPShowEndpoints")
    assert list(frame.columns[:2]) == ["Event", "ActionID"]


def test_cell_tables_drop_them_per_action(ip):
    """In a several-action cell each action's constant columns go before concatenation."""
    ip.run_line_magic("ami", "sim")
    frame = ip.run_cell_magic("ami", "", "Action: Ping\n\nAction: PJSIPShowEndpoints\n")
    assert "ActionID" not in frame and frame["action"].iloc[0] == "Ping"


def test_magic_tables_do_not_wrap_ids_and_other_frames_are_untouched(ip):
    """The magic's tables render with white-space: nowrap; a user's own DataFrame does not."""
    ip.run_line_magic("ami", "sim")
    frame = ip.run_line_magic("ami", "PJSIPShowEndpoints")
    html = _html(ip, frame)
    assert "white-space: nowrap" in html and "<td>100</td>" in html
    assert "nowrap" not in _html(ip, pd.DataFrame({"a": [1]}))
    ip.run_line_magic("unload_ext", "amilab")
    assert "nowrap" not in _html(ip, frame)


# -- %ami command ------------------------------------------------------------------
def test_failed_command_shows_the_servers_output(ip):
    """A CLI command Asterisk does not know fails with its own text, not 'output follows'."""
    ip.run_line_magic("ami", "sim")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "command sip show peers")
    text = str(info.value)
    assert "No such command 'sip show peers'" in text and "output follows" not in text


def test_failed_command_on_real_asterisk(ip, asterisk, monkeypatch):
    """Real Asterisk 22 puts the reason in Output; the one line shows it."""
    monkeypatch.setenv("AMI_SECRET", "amilab-admin")
    ip.run_line_magic("ami", f"connect {asterisk.host}:{asterisk.port} --user admin")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "command sip show peers")
    assert "No such command 'sip show peers'" in str(info.value)


# -- Originate timeout -------------------------------------------------------------
def test_sync_originate_waits_its_ami_timeout_plus_ours(ip):
    """Originate Timeout=3000 --timeout 0.5 waits up to 3.5 s, so a 1 s ring succeeds."""
    ip.run_line_magic("ami", "sim")
    start = time.monotonic()
    frame = ip.run_line_magic(
        "ami",
        "Originate Channel=PJSIP/101 Context=amilab Exten=100 Priority=1 Timeout=3000 "
        "--timeout 0.5",
    )
    assert frame["Response"].tolist() == ["Success"]
    assert 0.5 < time.monotonic() - start < 3.5
