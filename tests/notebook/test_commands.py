"""%ami line and %%ami cell parsing into command objects, without IPython."""

from __future__ import annotations

import subprocess
import sys

import pytest

from amilab.notebook.commands import (
    HELP,
    CommandError,
    Connect,
    Disconnect,
    Events,
    Help,
    Last,
    ListActions,
    Monitor,
    RunAction,
    RunCommand,
    Script,
    SimFaults,
    SimStart,
    Status,
    Trace,
    expand_fields,
    parse_body,
    parse_cell,
    parse_line,
)


def test_action_with_headers():
    """An action name followed by Key=Value words becomes one RunAction, in order."""
    cmd = parse_line("Originate Channel=Local/100@default Application=Wait Data=2 Async=true")
    assert cmd == RunAction(
        "Originate",
        (
            ("Channel", "Local/100@default"),
            ("Application", "Wait"),
            ("Data", "2"),
            ("Async", "true"),
        ),
    )


def test_action_without_headers():
    """A bare action name is an action with no headers."""
    assert parse_line("SIPPeers") == RunAction("SIPPeers")


def test_repeated_keys_stay_repeated():
    """Repeated keys become repeated headers, and a value may contain '='."""
    cmd = parse_line("Originate Variable=A=1 Variable=B=2")
    assert cmd.headers == (("Variable", "A=1"), ("Variable", "B=2"))


def test_quoted_values_keep_spaces():
    """Shell quoting keeps spaces in one value; backslashes stay literal (regex filters)."""
    cmd = parse_line(r"""Filter Operation=Add Filter='Event: Hangup\r' CallerID="Bob B" """)
    assert cmd.headers == (
        ("Operation", "Add"),
        ("Filter", r"Event: Hangup\r"),
        ("CallerID", "Bob B"),
    )


def test_options_anywhere_on_the_line():
    """-o/--timeout/--raw/--numeric may come before or after the headers."""
    cmd = parse_line("-o df CoreShowChannels --timeout 3 --raw --numeric")
    assert cmd == RunAction("CoreShowChannels", out="df", timeout=3.0, raw=True, numeric=True)


def test_lowercase_subcommand_vs_action():
    """Lowercase words are sub-commands; the same word capitalised is the AMI action."""
    assert parse_line("status") == Status()
    assert parse_line("Status") == RunAction("Status")
    assert parse_line("events") == Events()
    assert parse_line("Events EventMask=off") == RunAction("Events", (("EventMask", "off"),))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", Help(None)),
        ("help", Help(None)),
        ("help Originate", Help("Originate")),
        ("actions", ListActions()),
        ("actions -o acts", ListActions(out="acts")),
        ("last", Last()),
        ("disconnect", Disconnect()),
        ("sim", SimStart()),
        ("connect --sim", SimStart()),
        ("connect --sim --events off", SimStart(events="off")),
        ("sim --traffic 2.5", SimStart(traffic=2.5)),
        ("sim --asterisk 22", SimStart(asterisk="22")),
        ("connect --sim --asterisk 20", SimStart(asterisk="20")),
        ("sim --read-only", SimStart(read_only=True)),
        ("trace", Trace("show")),
        ("trace on", Trace("on")),
        ("sim faults drop", SimFaults("drop")),
        ("sim faults half-open 2.5", SimFaults("half-open", 2.5)),
        ("monitor", Monitor()),
        ("monitor Hangup New*", Monitor(("Hangup", "New*"))),
        (
            "events Hangup --for 5 --max 3 -q -o ev",
            Events(("Hangup",), seconds=5.0, limit=3, quiet=True, out="ev"),
        ),
    ],
)
def test_subcommands(line, expected):
    """Each sub-command parses into its own command object."""
    assert parse_line(line) == expected


def test_connect_forms():
    """connect takes HOST, HOST:PORT, [v6]:PORT or @profile, and its options."""
    assert parse_line("connect pbx.example.com") == Connect(host="pbx.example.com")
    assert parse_line("connect 10.0.0.1:15038 --user admin --tls --md5") == Connect(
        host="10.0.0.1", port=15038, user="admin", tls=True, auth="md5"
    )
    assert parse_line("connect [::1]:5038 --plain") == Connect(host="::1", port=5038, auth="plain")
    assert parse_line("connect h:5039 --cafile ca.pem") == Connect(
        host="h", port=5039, tls=True, cafile="ca.pem"
    )
    assert parse_line("connect @lab --events call,system --secret-env LAB") == Connect(
        profile="lab", events="call,system", secret_env="LAB"
    )
    assert parse_line("connect h --read-only") == Connect(host="h", read_only=True)


def test_dry_run_on_actions_and_cells():
    """--dry-run is an option of an action line and of a %%ami cell."""
    assert parse_line("Ping --dry-run") == RunAction("Ping", dry_run=True)
    cell = parse_cell("--dry-run", "Action: Ping\n")
    assert isinstance(cell, Script) and cell.dry_run


def test_connect_secret_is_taken_and_hidden():
    """--secret is accepted on connect but never shown in the command's repr."""
    cmd = parse_line("connect host --user u --secret Sup3r-Secret")
    assert cmd.secret == "Sup3r-Secret"
    assert "Sup3r-Secret" not in repr(cmd)
    assert parse_line("connect host --secret=Other").secret == "Other"


def test_secret_never_echoed_by_errors():
    """A parse error on a line carrying --secret does not quote the secret."""
    with pytest.raises(CommandError) as info:
        parse_line("connect a b --secret Sup3r-Secret --bogus")
    assert "Sup3r-Secret" not in str(info.value)
    with pytest.raises(CommandError) as info:
        parse_line("Ping --secret Sup3r-Secret")
    assert "Sup3r-Secret" not in str(info.value)


def test_action_header_secret_masked_in_repr():
    """A Secret header typed as Key=Value is masked in the RunAction repr."""
    cmd = parse_line("Login Username=u Secret=hunter2")
    assert "hunter2" not in repr(cmd)
    assert cmd.headers[1] == ("Secret", "hunter2")


def test_command_takes_the_raw_rest():
    """%ami command passes the rest of the line through verbatim, quotes and dashes too."""
    assert parse_line("command core show channels") == RunCommand(("core show channels",))
    assert parse_line("command  database show 'a b' -x") == RunCommand(("database show 'a b' -x",))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Originate Channel", "expected Key=Value"),
        ("Originate =x", "expected Key=Value"),
        ("Ping -o 1x", "Python variable name"),
        ("Ping --for 3", "--for does not apply"),
        ("status --user x", "--user does not apply"),
        ("connect h --traffic 2", "--traffic needs --sim"),
        ("connect h --asterisk 22", "--asterisk needs --sim"),
        ("events --asterisk 22", "--asterisk does not apply"),
        ("events --dry-run", "--dry-run does not apply"),
        ("trace loud", "usage: %ami trace"),
        ("sim faults explode", "usage: %ami sim faults"),
        ("sim faults drop 3", "usage: %ami sim faults"),
        ("sim faults half-open -1", "half-open: expected a positive"),
        ("status --read-only", "--read-only does not apply"),
        ("Ping --traffic 2", "--traffic does not apply"),
        ("events --timeout 0", "positive"),
        ("events --max 0", "positive whole number"),
        ("connect a:99999", "1-65535"),
        ("connect a b", "one address"),
        ("connect --sim x", "takes no address"),
        ("connect @", "bad profile"),
        ("connect h --secret-env 'A B'", "variable name"),
        ("status now", "takes no arguments"),
        ("help A B", "one action name"),
        ("9Lives", "not an AMI action name"),
        ("Ping 'unterminated", "quotes"),
        ("command", "usage: %ami command"),
        ("--raw", "options need"),
        ("Ping --nope", "unrecognized arguments"),
    ],
)
def test_line_errors(line, message):
    """Bad lines raise CommandError with a message that says what to fix."""
    with pytest.raises(CommandError, match=message):
        parse_line(line)


def test_expansion_is_per_word():
    """{name} expands after splitting, so a value with spaces stays one header."""
    cmd = parse_line("UserEvent UserEvent=Note Body={msg}", lambda w: expand_fields(w, ns))
    assert cmd.headers == (("UserEvent", "Note"), ("Body", "hello world"))


ns = {"msg": "hello world", "chan": "PJSIP/100", "n": 7, "cfg": {"ctx": "amilab"}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Channel={chan}", "Channel=PJSIP/100"),
        ("Context={cfg[ctx]}", "Context=amilab"),
        ("Data={n:03d}", "Data=007"),
        ("Value=${CALLERID(num)}", "Value=${CALLERID(num)}"),
        ("Value=${A${B}}-{n}", "Value=${A${B}}-7"),
        ("Data={{literal}}", "Data={literal}"),
        ("Data=$n", "Data=$n"),
        ("Data={open", "Data={open"),
        ("plain", "plain"),
    ],
)
def test_expand_fields(text, expected):
    """{name} uses str.format fields; ${...}, $name, {{ }} and stray braces stay literal."""
    assert expand_fields(text, ns) == expected


def test_expand_missing_name_is_an_error():
    """An undefined name is an error naming it, not a silently unexpanded line."""
    with pytest.raises(CommandError, match="'nope' is not defined"):
        expand_fields("Data={nope}", ns)
    with pytest.raises(CommandError, match="empty"):
        expand_fields("Data={}", ns)


def test_cell_blocks_with_action_lines():
    """Blank lines separate actions; 'Action:' names each; comments are skipped."""
    body = """
    Action: Originate
    Channel: Local/100@amilab
    # a comment
    Variable: A=1
    Variable: B=2

    Action: Ping
    """
    cmd = parse_cell("-o r", body)
    assert cmd == Script(
        (
            RunAction(
                "Originate",
                (("Channel", "Local/100@amilab"), ("Variable", "A=1"), ("Variable", "B=2")),
            ),
            RunAction("Ping"),
        ),
        out="r",
    )


def test_cell_action_on_magic_line():
    """The action on the %%ami line applies to blocks without an Action: line."""
    cmd = parse_cell("Getvar --timeout 2", "Variable: A\n\nVariable: B\n")
    assert [a.name for a in cmd.actions] == ["Getvar", "Getvar"]
    assert cmd.actions[1].headers == (("Variable", "B"),)
    assert cmd.actions[0].timeout == 2.0


def test_cell_values_keep_colons_and_spaces():
    """A value keeps everything after the first ': ' (filters, times)."""
    ((_, headers),) = parse_body("Action: Filter\nFilter: Event: Hangup\nData:  two spaces")
    assert headers == (("Filter", "Event: Hangup"), ("Data", " two spaces"))


def test_cell_expansion_is_opt_in():
    """{name} in a cell body is literal unless --expand is given."""

    def expand(text):
        return expand_fields(text, ns)

    plain = parse_cell("UserEvent", "Body: {msg}", expand)
    assert plain.actions[0].headers == (("Body", "{msg}"),)
    expanded = parse_cell("UserEvent --expand", "Body: {msg}", expand)
    assert expanded.actions[0].headers == (("Body", "hello world"),)


def test_cell_commands():
    """%%ami command: one CLI command per non-blank line."""
    cmd = parse_cell("command", "core show uptime\n\n  pjsip show endpoints  \n")
    assert cmd == RunCommand(("core show uptime", "pjsip show endpoints"))


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("", "Channel: x", "no 'Action: Name'"),
        ("", "Action: Ping\nnot a header", "line 2: expected 'Key: Value'"),
        ("", "\n\n", "the cell is empty"),
        ("command", "", "the cell is empty"),
        ("Ping Pong", "", "at most one action"),
        ("status", "", "line sub-command"),
        ("--for 3", "Action: Ping", "--for does not apply"),
        ("--secret x", "Action: Ping", "--secret does not apply"),
        ("", "Action: bad name", "not an AMI action name"),
        ("", "Action: Ping\nAction: CoreSettings", "line 2: a second 'Action:'.*blank line"),
        ("", "Ping\n\nCoreSettings", "line 1: .*'Ping'.*write 'Action: Ping'"),
        ("Originate", "Channel=PJSIP/101", "line 1: .*write 'Channel: PJSIP/101'"),
        ("Getvar", "action: Ping\nVariable: A\nACTION: Ping", "line 3: a second 'Action:'"),
    ],
)
def test_cell_errors(line, body, message):
    """Bad cells raise CommandError with the offending line number where there is one."""
    with pytest.raises(CommandError, match=message):
        parse_cell(line, body)


@pytest.mark.parametrize("text", ["Secret=hunter2", "Secret hunter2", "key=hunter2"])
def test_cell_error_hides_secret_value(text):
    """A malformed secret line is named in the error without its value."""
    with pytest.raises(CommandError) as caught:
        parse_cell("", f"Action: Login\n{text}")
    assert "line 2" in str(caught.value) and "hunter2" not in str(caught.value)


def test_help_text_lists_every_form():
    """The %ami? help names every sub-command and the options from the parser."""
    for word in ("connect", "sim", "command", "help", "actions", "events", "monitor", "last"):
        assert f"%ami {word}" in HELP
    for option in ("--for", "--max", "--secret-env", "--expand", "--raw", "-o NAME"):
        assert option in HELP
    assert "%%ami command" in HELP


def test_commands_module_needs_no_ipython():
    """Parsing imports neither IPython nor pandas."""
    code = (
        "import sys, amilab.notebook.commands, amilab.notebook.config,"
        " amilab.notebook.completion; "
        "print(sorted(m for m in ('IPython', 'pandas', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
