"""The AMI catalog in a real IPython shell: offline help, completion, validation before sending."""

from __future__ import annotations

import time

import pytest
from IPython.core.completer import provisionalcompleter

from tests.notebook.conftest import open_sockets


def _completions(ip, text):
    """What IPython's own completer offers for ``text`` with the cursor at its end."""
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text, len(text))]


# -- help ------------------------------------------------------------------------
def test_help_action_offline(ip, capsys):
    """%ami help ACTION works with no connection: syntax, required, privilege, events."""
    before = open_sockets()
    ip.run_line_magic("ami", "help Originate")
    out = capsys.readouterr().out
    assert out.startswith("Action: Originate\n")
    assert "  Channel: <value>" in out and "  [Exten:] <value>" in out
    assert "Required: Channel" in out and "Privilege: all, originate" in out
    assert "Related events: OriginateResponse" in out
    assert open_sockets() == before


def test_help_list_action_names_its_events(ip, capsys):
    """A list action's help names its item events and its complete event."""
    ip.run_line_magic("ami", "help coreshowchannels")
    out = capsys.readouterr().out
    assert "Answers with: CoreShowChannel events, then CoreShowChannelsComplete" in out


def test_help_says_where_the_docs_are_wrong(ip, capsys):
    """Setvar's Value is documented required, but Asterisk 22 was recorded accepting it missing."""
    ip.run_line_magic("ami", "help Setvar")
    out = capsys.readouterr().out
    assert "Required: Variable\n" in out
    assert "Note: Value is documented as required, but Asterisk 22 accepts" in out


def test_help_event_offline(ip, capsys):
    """%ami help event NAME: class, fields, documented values, integer fields."""
    ip.run_line_magic("ami", "help event Newchannel")
    out = capsys.readouterr().out
    assert out.startswith("Event: Newchannel\nClass: call\n")
    assert "  ChannelState  (integer)" in out
    assert "  ChannelStateDesc  one of: Busy, Dialing," in out
    assert "  Exten\n" in out


def test_help_unknown_offline_suggests_from_catalog(ip, capsys):
    """Offline, a misspelt action fails in one line with a close match from the catalog."""
    result = ip.run_cell("%ami help Originat")
    assert result.success is False
    err = capsys.readouterr().err
    assert "no documentation for Originat in the catalog (not connected)." in err
    assert "Did you mean Originate?" in err


def test_help_connected_adds_server_text(ip, capsys):
    """Connected, the catalog's facts come first, then the server's own text."""
    ip.run_line_magic("ami", "sim")
    capsys.readouterr()
    ip.run_line_magic("ami", "help Originate")
    out = capsys.readouterr().out
    facts, _, server = out.partition("--- manager show command Originate (from the server) ---")
    assert "Required: Channel" in facts
    assert "[Syntax]" in server and "Channel: <value>" in server


def test_help_event_connected_to_sim(ip, capsys):
    """The simulator has no 'manager show event': the catalog's facts are still shown."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic("ami", "help event Hangup")
    out = capsys.readouterr().out
    assert "Event: Hangup" in out and "Cause  (integer)" in out


# -- validation -----------------------------------------------------------------
def test_missing_required_header_is_not_sent(ip, magics, capsys):
    """A missing required header is a one-line error naming it; nothing reaches the server."""
    ip.run_line_magic("ami", "sim")
    result = ip.run_cell("%ami Originate Exten=100 Context=amilab")
    assert result.success is False
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "UsageError: Originate needs Channel; nothing was sent. "
        "Add Channel=..., or --force to send anyway (%ami help Originate)"
    ]
    assert magics.last is None and "_ami" not in ip.user_ns


def test_force_sends_anyway(ip, magics, capsys):
    """--force sends the incomplete action; the server's own refusal comes back."""
    ip.run_line_magic("ami", "sim")
    result = ip.run_cell("%ami Originate Exten=100 --force")
    assert result.success is False
    assert "nothing was sent" not in capsys.readouterr().err
    assert magics.last is not None and magics.last.response["Response"] == "Error"


def test_cell_is_checked_before_the_first_action(ip, magics, capsys):
    """In a %%ami cell every block is checked first: the valid first action is not sent either."""
    ip.run_line_magic("ami", "sim")
    result = ip.run_cell("%%ami\nAction: Ping\n\nAction: Redirect\nChannel: x\nexten: 100\n")
    assert result.success is False
    err = capsys.readouterr().err
    assert "action 2 (Redirect) needs Context, Priority; nothing was sent" in err
    assert magics.last is None


def test_relaxed_flag_is_sent(ip, magics):
    """Setvar without Value is sent: Asterisk 22 accepts it, so the catalog does not require it."""
    ip.run_line_magic("ami", "sim")
    ip.run_cell("%ami Setvar Variable=AMILAB_EMPTY")
    assert magics.last is not None and magics.last.action.name == "Setvar"


def test_unknown_action_is_not_validated(ip, magics):
    """Actions the catalog does not know (third-party modules) go to the server unchecked."""
    ip.run_line_magic("ami", "sim")
    ip.run_cell("%ami NoSuchThing Foo=1")
    assert magics.last is not None and magics.last.action.name == "NoSuchThing"


# -- completion: lines -------------------------------------------------------------
def test_complete_action_names_offline(ip):
    """Action names come from the catalog with no connection (not only common ones)."""
    assert _completions(ip, "%ami QueueMemberR") == ["QueueMemberRingInUse"]
    assert _completions(ip, "%ami PJSIPShowEndpoint") == ["PJSIPShowEndpoint", "PJSIPShowEndpoints"]


def test_complete_headers_offline_for_any_action(ip):
    """Every documented action's headers complete offline, used ones left out."""
    assert _completions(ip, "%ami DialplanExtensionAdd Pri") == ["Priority="]
    found = _completions(ip, "%ami Redirect Channel=x Ex")
    assert "Exten=" in found and "ExtraChannel=" in found and "Channel=" not in found


def test_complete_enumerated_values(ip):
    """Documented values complete after Header= (line) and Header: (cell)."""
    assert _completions(ip, "%ami AOCMessage MsgType=") == ["D", "E", "S"]
    assert _completions(ip, "%ami Status AllVariables=t") == ["true"]


def test_complete_help_event_names(ip):
    """%ami help <TAB> offers 'event'; after it, event names."""
    assert "event" in _completions(ip, "%ami help ev")
    assert _completions(ip, "%ami help event Newchann") == ["Newchannel"]


def test_complete_live_values_from_server(ip, magics):
    """Connected, Endpoint= and Queue= offer the server's endpoints and queues."""
    ip.run_line_magic("ami", "sim")
    endpoints = _completions(ip, "%ami PJSIPShowEndpoint Endpoint=")
    assert endpoints and all(e.isdigit() for e in endpoints)
    assert "support" in _completions(ip, "%ami QueueStatus Queue=")


def test_complete_live_channel_names(ip):
    """Channel= offers the live channels of the server."""
    ip.run_line_magic("ami", "sim")
    ip.run_line_magic(
        "ami", "Originate Channel=Local/100@amilab Application=Wait Data=5 Async=true"
    )
    deadline = time.monotonic() + 5
    found: list[str] = []
    while not found and time.monotonic() < deadline:
        found = _completions(ip, "%ami Hangup Channel=Local/1")
        time.sleep(0.2)
    # IPython's token keeps "/" (its delimiters do not include it), so whole names come back.
    assert found and all(c.startswith("Local/100@amilab-") for c in found), found


# -- completion: cell bodies -------------------------------------------------------
def test_cell_completes_headers_of_the_block_action(ip):
    """In a %%ami body, 'Action: Originate' then 'Cha<TAB>' offers its headers."""
    assert _completions(ip, "%%ami\nAction: Originate\nCha") == ["Channel: ", "ChannelId: "]
    assert _completions(ip, "%%ami\nAction: Originate\nChannel: x\nCha") == ["ChannelId: "]


def test_cell_completes_action_names_and_values(ip):
    """'Action: <TAB>' offers action names; 'Header: <TAB>' its documented values."""
    assert _completions(ip, "%%ami\nAction: Origi") == ["Originate"]
    assert _completions(ip, "%%ami\nAction: AOCMessage\nMsgType: ") == ["D", "E", "S"]


def test_cell_uses_magic_line_action_and_blocks(ip):
    """The magic line's action applies to blocks without 'Action:'; a blank line starts anew."""
    assert _completions(ip, "%%ami Hangup\nCa") == ["Cause: "]
    assert _completions(ip, "%%ami\nAction: Ping\n\nAct") == ["Action: "]
    assert not any(c.endswith(": ") for c in _completions(ip, "%%ami command\nAc"))


def test_cell_other_magics_untouched(ip):
    """A body of another cell magic gets no AMI headers."""
    ip.user_ns["amilab_value_xyz"] = 1
    assert "Channel: " not in _completions(ip, "%%time\nCha")
    assert "amilab_value_xyz" in _completions(ip, "%%time\namilab_value_x")


@pytest.mark.asterisk
def test_asterisk_help_event_adds_server_text(ip, asterisk, monkeypatch, capsys):
    """Against real Asterisk 22, help event NAME adds 'manager show event' output."""
    user, secret = asterisk.admin
    monkeypatch.setenv("AMI_SECRET", secret)
    ip.run_line_magic("ami", f"connect {asterisk.host}:{asterisk.port} --user {user}")
    capsys.readouterr()
    ip.run_line_magic("ami", "help event Newchannel")
    out = capsys.readouterr().out
    facts, _, server = out.partition("--- manager show event Newchannel (from the server) ---")
    assert "Class: call" in facts
    assert "Newchannel" in server and "ChannelStateDesc" in server


@pytest.mark.asterisk
def test_asterisk_completes_live_values(ip, asterisk, monkeypatch, capsys):
    """Against real Asterisk 22: contexts (ShowDialPlan), endpoints and queues complete."""
    user, secret = asterisk.admin
    monkeypatch.setenv("AMI_SECRET", secret)
    ip.run_line_magic("ami", f"connect {asterisk.host}:{asterisk.port} --user {user}")
    assert "amilab" in _completions(ip, "%ami Redirect Context=ami")
    assert "100" in _completions(ip, "%ami PJSIPShowEndpoint Endpoint=1")
    assert "support" in _completions(ip, "%%ami\nAction: QueueStatus\nQueue: s")
