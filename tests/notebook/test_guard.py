"""Read-only mode and --dry-run: decided locally, nothing reaches the server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from amilab.catalog import load as load_catalog
from amilab.notebook.guard import (
    READS_UNDER_WRITE_CLASS,
    WRITES_UNDER_READ_PRIVILEGE,
    dry_run_text,
    write_reason,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "asterisk22"


def _sent(magics) -> str:
    """What the notebook's session has written since its trace was enabled."""
    return "\n".join(str(e) for e in magics.session.trace.entries if e.direction == "sent")


@pytest.fixture
def traced(ip, magics):
    """%ami sim with the wire trace on, so a test can prove nothing was sent."""
    ip.run_line_magic("ami", "sim")
    magics.session.trace.enable()
    return magics


@pytest.mark.parametrize(
    "line",
    [
        "Originate Channel=PJSIP/101 Context=amilab Exten=100 Priority=1",
        "Hangup Channel=PJSIP/101-00000001",
        "BridgeDestroy BridgeUniqueid=x",
        "MadeUpAction X=1",
    ],
)
def test_read_only_trait_refuses_writes_in_one_line(ip, traced, line):
    """%config AmiMagics.read_only = True refuses a write in one line; nothing is sent."""
    ip.run_line_magic("config", "AmiMagics.read_only = True")
    with pytest.raises(UsageError) as info:
        ip.run_line_magic("ami", line)
    text = str(info.value)
    assert "\n" not in text and text.startswith("read-only: ")
    assert "nothing was sent" in text and "AmiMagics.read_only = False" in text
    assert _sent(traced) == ""


def test_read_only_allows_reads(ip, traced):
    """Reads pass in read-only mode: no privilege, reporting, and list actions under system."""
    ip.run_line_magic("config", "AmiMagics.read_only = True")
    for action in ("Ping", "CoreShowChannels", "PJSIPShowEndpoints", "Status"):
        ip.run_line_magic("ami", action)
    assert "Action: PJSIPShowEndpoints" in _sent(traced)


def test_connect_read_only_guards_that_connection_only(ip, magics, sim, monkeypatch, capsys):
    """%ami connect --read-only refuses writes (and Command); the next connection is free."""
    from tests.notebook.conftest import SECRET, USER

    monkeypatch.setenv("AMI_SECRET", SECRET)
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER} --read-only")
    assert capsys.readouterr().out.rstrip().endswith("(read-only)")
    magics.session.trace.enable()
    with pytest.raises(UsageError, match=r"read-only: Originate needs the write class originate"):
        ip.run_line_magic("ami", "Originate Channel=PJSIP/101 Exten=100 Context=amilab Priority=1")
    with pytest.raises(UsageError, match=r"read-only: Command needs the write class command"):
        ip.run_line_magic("ami", "command core show channels")
    with pytest.raises(UsageError, match="reconnect without --read-only"):
        ip.run_cell_magic("ami", "", "Action: Ping\n\nAction: Hangup\nChannel: x\n")
    assert _sent(magics) == ""
    ip.run_line_magic("ami", "status")
    assert "read-only" in capsys.readouterr().out
    ip.run_line_magic("ami", f"connect {sim.host}:{sim.port} --user {USER}")
    ip.run_line_magic("ami", "command core show uptime")
    assert "System uptime" in capsys.readouterr().out


def test_bridge_destroy_has_no_privilege_in_real_asterisk_yet_counts_as_a_write():
    """The recorded ListCommands gives BridgeDestroy no privilege; the guard still refuses it."""
    listing = (FIXTURES / "listcommands.ami").read_text()
    for name in WRITES_UNDER_READ_PRIVILEGE:
        if name.startswith("sip"):
            continue  # chan_sip: not in Asterisk 22 (test_chan_sip_lookups_... covers it)
        line = re.search(rf"(?im)^{name}: .*\(Priv: ([^)]*)\)", listing)
        assert line is not None, name
        assert line.group(1) in ("<none>", "reporting,all", "system,reporting,all"), name
        assert write_reason(name, load_catalog()) is not None
    for name in READS_UNDER_WRITE_CLASS - {"sippeerstatus"}:  # chan_sip: not in 22
        doc = load_catalog().action(name)
        assert doc is not None and doc.privilege, name
        assert write_reason(name, load_catalog()) is None


def test_dry_run_shows_the_exact_bytes_and_sends_nothing(ip, traced, capsys):
    """--dry-run prints the serialised action, secret masked, and writes nothing."""
    ip.run_line_magic(
        "ami", "Originate Channel=PJSIP/101 Exten=100 Context=amilab Priority=1 --dry-run"
    )
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        "Action: Originate\\r\\n",
        "ActionID: <assigned when sent>\\r\\n",
        "Channel: PJSIP/101\\r\\n",
    ]
    assert "\\r\\n\n\\r\\n\n(dry run: nothing was sent)" in out
    ip.run_line_magic("ami", "Login Username=bob Secret=hunter2-very-secret --dry-run")
    out = capsys.readouterr().out
    assert "Secret: ***\\r\\n" in out and "hunter2" not in out
    assert _sent(traced) == ""


def test_dry_run_without_connection_and_in_a_cell(ip, capsys):
    """--dry-run needs no connection; in a cell it shows every action and what would refuse it."""
    ip.run_line_magic("config", "AmiMagics.read_only = True")
    ip.run_cell_magic("ami", "--dry-run", "Action: Ping\n\nAction: Hangup\n")
    out = capsys.readouterr().out
    assert (
        "# action 1 of 2" in out and "Action: Ping\\r\\n" in out and "Action: Hangup\\r\\n" in out
    )
    assert "it would be refused: action 2 (Hangup) needs Channel" in out
    assert "read-only: Hangup needs the write class call or system" in out


def test_dry_run_text_is_what_the_connection_serialises():
    """dry_run_text is Action.to_bytes with the placeholder ActionID (a given one is kept)."""
    text = dry_run_text("Ping", [("ActionID", "mine")])
    assert (
        text
        == "Action: Ping\\r\\nActionID: mine\\r\\n\\r\\n".replace("\\r\\n", "\\r\\n\n").rstrip()
    )


def test_chan_sip_lookups_are_reads_and_qualify_notify_are_writes(ip, magics):
    """On the Asterisk 20 simulator, read-only mode lets SIPpeers through, not SIPnotify."""
    ip.run_line_magic("ami", "sim --read-only")
    assert len(ip.run_line_magic("ami", "SIPpeers")) > 0
    assert ip.run_line_magic("ami", "SIPshowpeer Peer=100")["ObjectName"].tolist() == ["100"]
    for line in ("SIPnotify Channel=SIP/100 Variable=Event=check-sync", "SIPqualifypeer Peer=100"):
        with pytest.raises(UsageError, match=r"^read-only: SIP"):
            ip.run_line_magic("ami", line)


def test_chan_sip_privileges_match_the_simulators():
    """The guard's chan_sip privileges are the ones the Asterisk 20 profile registers."""
    from amilab.catalog.chan_sip import CHAN_SIP_PRIVILEGES
    from amilab.sim.ami.actions import CHAN_SIP_ACTIONS

    simulated = {k.lower(): set(v.privilege) for k, v in CHAN_SIP_ACTIONS.items()}
    assert {k: set(v) for k, v in CHAN_SIP_PRIVILEGES.items()} == simulated
