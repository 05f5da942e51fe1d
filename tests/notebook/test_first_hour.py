"""Issue 11 section 3: the first hour with the magics, each point in a real IPython shell."""

from __future__ import annotations

import logging
import sys
import threading
import time

import pandas as pd
import pytest
from IPython.core.error import UsageError

from tests.notebook.conftest import SECRET, USER


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


# -- connecting ---------------------------------------------------------------------
def _refuse_prompt(monkeypatch):
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        raise AssertionError("the secret was asked before the host answered")

    monkeypatch.setattr("getpass.getpass", prompt)
    return asked


def test_failed_connect_keeps_the_working_session(ip, magics, sim, monkeypatch):
    """%ami connect to a host that does not answer fails in one line; the session stays."""
    ip.run_line_magic("ami", "sim")
    working = magics.session
    asked = _refuse_prompt(monkeypatch)
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "connect 127.0.0.1:1 --user nobody")
    assert "cannot reach 127.0.0.1:1" in str(info.value) and "\n" not in str(info.value)
    assert asked == []
    assert magics.session is working and working.connected and magics.sim is not None
    assert ip.run_line_magic("ami", "Ping")["Response"].tolist() == ["Success"]


def test_refused_login_keeps_the_working_session(ip, magics, sim, monkeypatch):
    """A host that answers but refuses the login leaves the working session in place."""
    ip.run_line_magic("ami", "sim")
    working = magics.session
    monkeypatch.setenv("AMI_SECRET", "wrong-secret")
    with pytest.raises(UsageError, match="login refused"):
        ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")
    assert magics.session is working and working.connected


def test_secret_prompt_comes_after_the_host_answers(ip, magics, sim, monkeypatch):
    """With no secret configured, the prompt comes once the host has answered."""
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return SECRET

    monkeypatch.setattr("getpass.getpass", prompt)
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")
    assert asked == [f"AMI secret for {USER}@{sim.host}: "]
    assert magics.session.connected


def test_sim_twice_reuses_or_replaces_and_says_so(ip, magics, capsys):
    """%ami sim twice reuses ours; another profile replaces it, saying so; never two."""
    ip.run_line_magic("ami", "sim")
    first = magics.sim
    capsys.readouterr()
    ip.run_line_magic("ami", "connect --sim")
    assert magics.sim is first and "reusing it" in capsys.readouterr().out
    ip.run_line_magic("ami", "sim --asterisk 22")
    out = capsys.readouterr().out
    assert f"Stopped the previous simulator at {first.host}:{first.port}" in out
    assert magics.sim is not first and magics.sim.profile.name == "22"
    assert first.server.connections == [] or not first.server.connections
    assert repr(first).split()[2] == "stopped"


# -- teaching --------------------------------------------------------------------------
def test_trace_on_show_off(ip, capsys):
    """%ami trace on / show / off: the session's wire trace, secrets masked."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "trace")
    assert "the wire trace is off" in capsys.readouterr().out
    ip.run_line_magic("ami", "trace on")
    ip.run_line_magic("ami", "Ping")
    ip.run_line_magic("ami", "UserEvent UserEvent=Demo Secret=Zq-do-not-show")
    capsys.readouterr()
    ip.run_line_magic("ami", "trace show")
    out = capsys.readouterr().out
    assert ">> Action: Ping" in out and "<< Ping: Pong" in out
    assert ">> Secret: ***" in out and "Zq-do-not-show" not in out
    ip.run_line_magic("ami", "trace off")
    ip.run_line_magic("ami", "CoreStatus")
    ip.run_line_magic("ami", "trace")
    assert "CoreStatus" not in capsys.readouterr().out


def test_amilab_connect_trace_true_from_a_cell(ip, sim, capsys):
    """amilab.connect(..., trace=True) records the wire from the start, login masked."""
    ip.user_ns["the_sim"] = sim
    result = ip.run_cell(
        "import amilab\n"
        f"s = amilab.connect(the_sim, username={USER!r}, secret={SECRET!r}, trace=True)\n"
        "s.action('Ping')\n"
        "print(s.trace)\n"
        "s.close()\n"
    )
    assert result.success
    out = capsys.readouterr().out
    assert ">> Action: Login" in out and ">> Action: Ping" in out and SECRET not in out
    ip.user_ns.pop("the_sim")
    ip.user_ns.pop("s")


def test_sim_faults_drop_reaches_the_magics_simulator(ip, magics, capsys):
    """%ami sim faults drop drops the magic's own simulator's connections; it reconnects."""
    with pytest.raises(UsageError, match="%ami sim starts one"):
        ip.run_line_magic("ami", "sim faults drop")
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "sim faults drop")
    assert "Dropped 1 connection(s)" in capsys.readouterr().out
    # An action sent before the client has noticed the drop fails with ConnectionLost
    # (by design); wait for the reconnect the drop causes, then the session works again.
    assert _wait(lambda: any("reconnected" in n for n in magics.links.news))
    frame = ip.run_line_magic("ami", "Ping --timeout 10")
    assert frame["Response"].tolist() == ["Success"]


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


def test_io_thread_messages_appear_under_the_running_cell(ip, magics, capsys):
    """A drop while a cell runs is printed when that cell ends, by the kernel thread."""
    ip.run_cell("%ami sim")
    capsys.readouterr()
    ip.user_ns["_wait"] = _wait
    ip.user_ns["_magics"] = magics
    ip.run_cell(
        "%ami sim faults drop\n_wait(lambda: any('reconnected' in n for n in _magics.links.news))\n"
    )
    err = capsys.readouterr().err
    assert "amilab: the AMI link to 127.0.0.1:" in err and "dropped" in err
    assert "amilab: reconnected to 127.0.0.1:" in err
    ip.run_cell("1 + 1")
    assert "amilab:" not in capsys.readouterr().err  # printed once, under its own cell
    for name in ("_wait", "_magics"):
        ip.user_ns.pop(name)


def test_monitor_says_disconnected_after_its_session_closes(ip, magics):
    """%ami disconnect closes the monitor after the session: its last view says so."""
    ip.run_line_magic("ami", "sim")
    monitor = ip.run_line_magic("ami", "monitor")
    assert "● connected" in monitor.view.value
    ip.run_line_magic("ami", "disconnect")
    assert "○ disconnected" in monitor.view.value and monitor.state == "closed"


def test_amilab_warnings_wait_for_the_kernel(ip, capsys):
    """A warning amilab logs on another thread is printed by the kernel, under the next cell."""
    warn = threading.Thread(
        target=logging.getLogger("amilab.client").warning, args=("reconnected to x after 1.0s",)
    )
    warn.start()
    warn.join()
    assert "reconnected to x" not in capsys.readouterr().err
    ip.run_cell("1 + 1")
    assert "amilab: reconnected to x after 1.0s" in capsys.readouterr().err
    ip.run_line_magic("unload_ext", "amilab")
    assert not logging.getLogger("amilab").handlers


def test_missing_optional_dependency_is_one_line(ip, monkeypatch):
    """%ami monitor without ipywidgets says in one line what to install."""
    ip.run_line_magic("ami", "sim")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import now fails as if absent
    monkeypatch.delitem(sys.modules, "amilab.notebook.monitor", raising=False)
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", "monitor")
    text = str(info.value)
    assert text == (
        "ipywidgets is not installed; %ami monitor needs it: "
        "pip install ipywidgets (or amilab[notebook])"
    )
