"""Tab completion of %ami: action names, header names, sub-commands and profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.core.completer import provisionalcompleter

from amilab.notebook.completion import (
    ActionCatalog,
    ActionInfo,
    complete,
    parse_listcommands,
    parse_syntax,
)
from amilab.protocol import Message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "asterisk22"


def _recorded_response(name: str) -> Message:
    """The last response block of a recorded Asterisk 22 transcript."""
    text = (FIXTURES / name).read_text()
    blocks = [b for b in text.split("\n\n") if b.startswith("Response: ")]
    return Message(blocks[-1].replace("\n", "\r\n").encode())


def test_parse_listcommands_real_asterisk():
    """ListCommands headers of real Asterisk 22 split into name, synopsis and privilege."""
    rows = parse_listcommands(_recorded_response("listcommands.ami"))
    by_name = {r.name: r for r in rows}
    assert by_name["Originate"] == ActionInfo("Originate", "Originate a call.", "originate,all")
    assert by_name["BridgeList"].privilege == "<none>"
    assert "ActionID" not in by_name and "Response" not in by_name
    assert len(rows) > 100


def test_parse_syntax_real_asterisk():
    """Header names come from the [Syntax] section of Asterisk 22's manager show command."""
    output = "\n".join(
        _recorded_response("command_manager_show_command_originate.ami").getall("Output")
    )
    names = parse_syntax(output)
    assert names[:4] == ("ActionID", "Channel", "Exten", "Context")
    assert "Action" not in names and "PreDialGoSub" in names
    assert "OriginateResponse" not in names  # [See Also] is not syntax


@pytest.mark.parametrize(
    ("line", "token", "expected"),
    [
        ("%ami Or", "Or", ["Originate"]),
        ("%ami or", "or", ["Originate"]),
        ("%ami st", "st", ["state", "status"]),
        ("%ami ", "", None),
        ("%ami Originate Ch", "Ch", ["Channel=", "ChannelId="]),
        ("%ami Originate Channel=x Ch", "Ch", ["ChannelId="]),
        ("%ami Originate Variable=A=1 Va", "Va", ["Variable="]),
        ("%ami Hangup ", "", ["Channel=", "Cause=", "ActionID="]),
        ("%ami Originate Channel=Lo", "Lo", []),
        (
            "%ami help PJSIPShowEndpoint",
            "PJSIPShowEndpoint",
            ["PJSIPShowEndpoint", "PJSIPShowEndpoints"],
        ),
        ("%ami status ", "", []),
        ("%ami Ping --ti", "ti", []),
        ("%amix Or", "Or", None),
        ("x = 1", "1", None),
    ],
)
def test_complete_offline(line, token, expected):
    """Without a connection, completion uses sub-commands and the offline catalog."""
    found = complete(line, token, ActionCatalog(), None)
    if expected is None and line.startswith("%ami "):
        assert set(found) >= {"connect", "Originate", "status"}
    else:
        assert found == expected


def test_complete_profiles():
    """%ami connect @<TAB> offers the config file's sections, relative to IPython's token."""
    found = complete("%ami connect @l", "l", ActionCatalog(), None, lambda: ["lab", "live", "prod"])
    assert found == ["lab", "live"]


def test_catalog_prefers_server_knowledge():
    """Learned actions and syntax replace the static table; reset forgets them."""
    catalog = ActionCatalog()
    catalog.learn_actions([ActionInfo("MyAction", "custom", "<none>")])
    catalog.learn_syntax(
        "MyAction", "[Syntax]\nAction: MyAction\nFoo: <value>\n[Bar:] <value>\n\n[Arguments]\nBaz\n"
    )
    assert complete("%ami My", "My", catalog, None) == ["MyAction"]
    assert complete("%ami MyAction ", "", catalog, None) == ["Foo=", "Bar=", "ActionID="]
    catalog.reset()
    assert complete("%ami My", "My", catalog, None) == []


# -- through IPython's completer ----------------------------------------------------
def _completions(ip, text):
    with provisionalcompleter():
        return [c.text for c in ip.Completer.completions(text, len(text))]


def test_ipython_completes_actions_from_server(ip, magics):
    """%ami Or<TAB> in the shell offers the connected server's actions, fetched once."""
    ip.run_line_magic("ami", "sim")
    assert _completions(ip, "%ami PJSIPShowEndp") == ["PJSIPShowEndpoint", "PJSIPShowEndpoints"]
    assert "PJSIPShowContacts" in _completions(ip, "%ami PJSIPSh")
    assert magics.catalog.actions is not None and "Originate" in magics.catalog.actions
    assert "Originate" in _completions(ip, "%ami Or")


def test_ipython_completes_headers_from_server_docs(ip, magics):
    """%ami Originate Ch<TAB> offers headers parsed from the server's own syntax, cached."""
    ip.run_line_magic("ami", "sim")
    assert _completions(ip, "%ami Originate Ch") == ["Channel=", "ChannelId="]
    assert "originate" in magics.catalog.headers
    assert _completions(ip, "%ami Originate Channel=x Appl") == ["Application="]


def test_ipython_completes_subcommands_offline(ip):
    """Without a connection, sub-commands and common actions still complete."""
    assert _completions(ip, "%ami disc") == ["disconnect"]
    assert _completions(ip, "%ami Hangup Ca") == ["Cause="]


def test_reconnect_refreshes_cache(ip, magics):
    """A new connection forgets the previous server's actions."""
    ip.run_line_magic("ami", "sim")
    _completions(ip, "%ami Or")
    assert magics.catalog.actions is not None
    ip.run_line_magic("ami", "sim --asterisk 22")  # another profile: a new simulator
    assert magics.catalog.actions is None


def test_other_lines_untouched(ip):
    """Completion of ordinary Python is not hijacked by the %ami matcher."""
    ip.user_ns["amilab_value_xyz"] = 1
    assert "amilab_value_xyz" in _completions(ip, "amilab_value_x")


def test_trace_and_sim_faults_words_complete(ip):
    """%ami trace <TAB> and %ami sim faults <TAB> offer their fixed words, offline."""
    assert _completions(ip, "%ami trace o") == ["on", "off"]
    assert _completions(ip, "%ami sim f") == ["faults"]
    assert _completions(ip, "%ami sim faults ") == ["drop", "half-open", "restart", "clear"]
